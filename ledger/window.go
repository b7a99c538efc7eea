package ledger

import "math"

// retention bounds what the ledger holds in memory for idempotency: the transfers applied and the rejections
// remembered within a window of time, up to a count. Whatever it evicts stays in storage; the writer looks an
// id up there before deciding it when Missing says the ledger cannot answer for it alone.
//
// The rule that makes a new id cost no storage read: every evicted id had a key (the later of when it was
// applied or rejected and, for a UUIDv7, the time in the id) at most horizon. So an id that is a UUIDv7 with a
// time after horizon and is not held was never applied nor rejected: it is new. Any other id that is not
// held (an older UUIDv7, an id of another version) must be looked up.
type retention struct {
	window     int64 // ns; 0 keeps everything for ever (with entriesMax 0)
	entriesMax int   // 0: no cap beyond the window
	horizon    int64 // every evicted id's key is <= horizon
	pin        int64 // ids with a key at or after pin stay whatever the window and the cap (0: none)
	queue      []heldID
	head       int
}

// heldID is an id in memory and its key, in the order it was taken in. Keys are mostly increasing (ids are
// minted from the same clock as the ledger's); one that is not only delays the eviction of those behind it.
type heldID struct {
	id  ID
	key int64
}

// SetRetention sets how long (window, in ns) and how many (entriesMax, 0 for no cap) transfer ids and
// remembered rejections stay in memory. With both 0 (the default) the ledger keeps every id it ever held, as a
// pure ledger without storage must. An active pending transfer always stays. Call it before restoring: the
// horizon starts at now - window, which is what the store restored.
func (l *Ledger) SetRetention(now, window int64, entriesMax int) {
	if window < 0 || entriesMax < 0 {
		panic("ledger: SetRetention: negative window or count")
	}
	l.window.window, l.window.entriesMax = window, entriesMax
	if window > 0 {
		l.window.horizon = max(l.window.horizon, now-window)
	}
}

// Horizon is the time (unix ns) at or before which the ledger may have forgotten ids: a UUIDv7 id later than it
// that the ledger does not hold is new.
func (l *Ledger) Horizon() int64 { return l.window.horizon }

// idTimeNs is the time in a UUIDv7 id, in unix ns; false when id is not a version 7, variant 10 UUID.
func idTimeNs(id ID) (int64, bool) {
	if id[6]>>4 != 7 || id[8]>>6 != 2 {
		return 0, false
	}
	ms := int64(id[0])<<40 | int64(id[1])<<32 | int64(id[2])<<24 | int64(id[3])<<16 | int64(id[4])<<8 | int64(id[5])
	if ms > math.MaxInt64/1_000_000 {
		return math.MaxInt64, true
	}
	return ms * 1_000_000, true
}

// Pin keeps every id taken in at or after ts (unix ns) in memory whatever the window and the cap, until
// Pin moves on; 0 releases. The writer pins the time of its oldest batch not yet durable: an id of a write
// still on its way is in no table a look-up could read, so it must not leave memory.
func (l *Ledger) Pin(ts int64) { l.window.pin = ts }

// fresh reports whether id, when not held, is known never to have been applied or rejected: a UUIDv7 later
// than the horizon and not more than the window ahead of now (a farther one is looked up, and refused when
// new: see IDTimeFuture).
func (l *Ledger) fresh(id ID) bool {
	t, ok := idTimeNs(id)
	return ok && t > l.window.horizon && !l.tooFarAhead(t)
}

// tooFarAhead reports whether an id's time lies more than the window ahead of the batch's now. Such an id
// would hold its place in memory (and stall eviction) until its time came; a ledger without retention
// accepts it.
func (l *Ledger) tooFarAhead(t int64) bool {
	w := l.window.window
	return w > 0 && t > l.now && t-l.now > w
}

func (l *Ledger) retains() bool { return l.window.window > 0 || l.window.entriesMax > 0 }

// hold queues id for eviction, keyed by the later of at and the time in the id.
func (l *Ledger) hold(id ID, at int64) {
	if !l.retains() {
		return
	}
	key := at
	if t, ok := idTimeNs(id); ok && t > key {
		key = t
	}
	l.window.queue = append(l.window.queue, heldID{id: id, key: key})
}

// evict forgets the ids whose key is before now - window, and the oldest ones beyond entriesMax, except active
// pending transfers (they are queued again when resolved).
func (l *Ledger) evict(now int64) {
	w := &l.window
	if !l.retains() {
		return
	}
	cutoff := int64(math.MinInt64)
	if w.window > 0 {
		cutoff = now - w.window
	}
	if w.pin > 0 {
		cutoff = min(cutoff, w.pin-1)
	}
	for w.head < len(w.queue) {
		h := w.queue[w.head]
		over := w.entriesMax > 0 && l.transfers.len()+len(l.rejected) > w.entriesMax
		if h.key >= cutoff && !over || w.pin > 0 && h.key >= w.pin {
			break
		}
		w.head++
		if l.pending[h.id] == PendingActive {
			continue
		}
		if l.transfers.has(h.id) {
			l.transfers.del(h.id)
			delete(l.pending, h.id)
		} else if _, ok := l.rejected[h.id]; ok {
			delete(l.rejected, h.id)
		} else {
			continue // held twice, or undone within its batch
		}
		w.horizon = max(w.horizon, h.key)
	}
	if w.window > 0 && cutoff > math.MinInt64 {
		w.horizon = max(w.horizon, cutoff)
	}
	if w.head > 1024 && w.head*2 > len(w.queue) { // compact: the queue is a FIFO over a slice
		n := copy(w.queue, w.queue[w.head:])
		w.queue = w.queue[:n]
		w.head = 0
	}
}

// Missing lists the ids that transfers name and that the ledger cannot answer for alone: transfer ids neither
// held nor fresh (see Horizon), and pending ids not held. The writer looks them up in storage and loads what it
// finds (RestoreTransfer, RestoreRejected) before deciding; what it does not find is new, or not found.
func (l *Ledger) Missing(transfers []Transfer) []ID {
	var out []ID
	var seen map[ID]struct{} // made only when something is missing: most batches need no look-up
	add := func(id ID) {
		if seen == nil {
			seen = make(map[ID]struct{})
		}
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	for i := range transfers {
		t := &transfers[i]
		if !t.ID.IsZero() && !l.holds(t.ID) && !l.fresh(t.ID) {
			add(t.ID)
		}
		if !t.PendingID.IsZero() && !l.holds(t.PendingID) { // a remembered rejection was never applied: not found
			add(t.PendingID)
		}
	}
	return out
}

// holds is Holds.
func (l *Ledger) holds(id ID) bool {
	if l.transfers.has(id) {
		return true
	}
	_, ok := l.rejected[id]
	return ok
}

// Holds reports whether the ledger holds id in memory, as an applied transfer or a remembered rejection.
func (l *Ledger) Holds(id ID) bool { return l.holds(id) }
