package rtgs

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// Offset resolves a gridlock: it decides which of the queued orders settle together, as one set, so that
// every bank's balance after the set — its balance in balances, plus what it receives in the set, minus what
// it pays — is at least zero, and which stay queued. When the whole of queued can settle, all of it does;
// when not, one fixed rule (TARGET2's) takes orders out until the rest is covered:
//
//  1. the bank with the largest shortfall (the most negative balance after the set) is chosen; of two with
//     the same shortfall, the one with the lower bank code;
//  2. of that bank's own payments still in the set, the one of lowest priority (normal, then high, then
//     urgent) is taken out; of those, the most recently received (latest ReceivedAt); of those, the greatest
//     ID (bytewise);
//  3. the balances after the set are recomputed — the chosen bank pays less, its payee receives less and may
//     become short in turn — and the rule repeats until no bank is short.
//
// Taking out only ever a short bank's own payment means a bank with a balance of zero or more can always be
// covered, so the rule ends with every such bank at zero or above. A bank whose balance is below zero (an
// account allowed to go negative) and that has no payment left in the set is passed over: nothing of its own
// is left to take out, and its incoming payments only help it.
//
// settle and stay name every order of queued, each once: settle in the order of queued, stay in the order
// the rule took them out (so the operator can follow it, and a test can name it). A bank missing from
// balances has a balance of zero. It runs in O(n + r log n) for n orders of which r are taken out (O(n log n)
// at worst): the nets are updated, never recomputed; each bank's payments sit in a heap in the order the rule
// takes them out; the short banks sit in a heap by shortfall.
//
// The caller guarantees what Queue.Add does: ids unique, every amount at least 1, and the amounts summing to
// at most QueuedRialMax (so no net overflows); anything else is a bug and panics. Balances above a bank's
// payments in the set are cut to them and those below −QueuedRialMax raised to it, which changes no decision
// of the rule among banks that have a balance of −QueuedRialMax or more.
func Offset(queued []Order, balances map[string]int64) (settle, stay []OrderID) {
	n := len(queued)
	if n == 0 {
		return nil, nil
	}
	if n > 1<<31-1 {
		panic(fmt.Sprintf("rtgs: Offset over %d orders", n))
	}
	// Banks are indexed in order of bank code, so the lower index wins a tie.
	index := make(map[string]int32, 64)
	for i := range queued {
		index[queued[i].SenderBank] = 0
		index[queued[i].ReceiverBank] = 0
	}
	codes := slices.Sorted(maps.Keys(index))
	for i, c := range codes {
		index[c] = int32(i)
	}
	m := len(codes)

	from := make([]int32, n)
	to := make([]int32, n)
	outgoing := make([]int64, m)
	net := make([]int64, m)
	var total int64
	for i := range queued {
		o := &queued[i]
		if o.AmountRial <= 0 || o.AmountRial > QueuedRialMax-total {
			panic(fmt.Sprintf("rtgs: Offset: order %s of %d rial: amounts must be positive and sum to at most %d", o.ID, o.AmountRial, QueuedRialMax))
		}
		total += o.AmountRial
		f, t := index[o.SenderBank], index[o.ReceiverBank]
		from[i], to[i] = f, t
		outgoing[f] += o.AmountRial
		net[t] += o.AmountRial
	}
	for b := range m {
		bal := min(balances[codes[b]], outgoing[b])
		bal = max(bal, -QueuedRialMax)
		net[b] += bal - outgoing[b]
	}

	// Each bank's payments, grouped by payer (stack[start[b]:end[b]]), each group a heap whose top is the
	// payment the rule takes out next. A heap rather than a sorted stack: the rule usually takes out a few
	// payments of a few banks, so building each group is O(k) and only what is taken out costs O(log k).
	keys := make([]removalKey, n)
	start := make([]int32, m+1)
	for i := range n {
		o := &queued[i]
		keys[i] = removalKey{priority: o.Priority, sec: o.ReceivedAt.Unix(), nsec: int32(o.ReceivedAt.Nanosecond()), id: o.ID}
		start[from[i]+1]++
	}
	for b := range m {
		start[b+1] += start[b]
	}
	stack := make([]int32, n)
	end := slices.Clone(start[:m])
	for i := range n {
		stack[end[from[i]]] = int32(i)
		end[from[i]]++
	}
	for b := range m {
		g := group{keys: keys, items: stack[start[b]:end[b]]}
		g.init()
	}
	h := shortHeap{net: net, pos: make([]int32, m)}
	for b := range m {
		h.pos[b] = -1
		if net[b] < 0 {
			h.push(int32(b))
		}
	}
	removed := make([]bool, n)
	for len(h.banks) > 0 {
		b := h.banks[0]
		if end[b] == start[b] {
			h.remove(b) // short by its balance alone: nothing of its own is left to take out
			continue
		}
		g := group{keys: keys, items: stack[start[b]:end[b]]}
		i := g.pop()
		end[b]--
		removed[i] = true
		stay = append(stay, queued[i].ID)
		amount, r := queued[i].AmountRial, to[i]
		net[b] += amount
		net[r] -= amount
		h.update(b)
		if r != b {
			h.update(r)
		}
	}

	settle = make([]OrderID, 0, n-len(stay))
	for i := range queued {
		if !removed[i] {
			settle = append(settle, queued[i].ID)
		}
	}
	return settle, stay
}

// removalKey is what the rule needs of an order to choose among one bank's payments, kept apart from the
// orders so that the heaps touch 40 bytes per order, not a whole Order.
type removalKey struct {
	priority Priority
	nsec     int32
	sec      int64
	id       OrderID
}

// takenBefore reports whether the rule takes a out before b: lower priority (a greater number), then
// received later, then the greater id.
func (a *removalKey) takenBefore(b *removalKey) bool {
	switch {
	case a.priority != b.priority:
		return a.priority > b.priority
	case a.sec != b.sec:
		return a.sec > b.sec
	case a.nsec != b.nsec:
		return a.nsec > b.nsec
	}
	return bytes.Compare(a.id[:], b.id[:]) > 0
}

// group is one bank's payments still in the set, as a heap of indices into keys: items[0] is taken out next.
type group struct {
	keys  []removalKey
	items []int32
}

func (g group) before(i, j int) bool { return g.keys[g.items[i]].takenBefore(&g.keys[g.items[j]]) }

func (g group) init() {
	for i := len(g.items)/2 - 1; i >= 0; i-- {
		g.down(i, len(g.items))
	}
}

func (g group) down(i, n int) {
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && g.before(r, l) {
			c = r
		}
		if !g.before(c, i) {
			return
		}
		g.items[i], g.items[c] = g.items[c], g.items[i]
		i = c
	}
}

// pop returns the top item and moves the last into its place; the caller shortens the group by one.
func (g group) pop() int32 {
	last := len(g.items) - 1
	top := g.items[0]
	g.items[0] = g.items[last]
	g.down(0, last)
	return top
}

// shortHeap holds the banks whose net is below zero, the most negative on top; of equal nets, the lower
// index (bank code).
type shortHeap struct {
	net   []int64
	banks []int32
	pos   []int32 // position of each bank in banks, -1 when absent
}

func (h *shortHeap) less(i, j int) bool {
	a, b := h.banks[i], h.banks[j]
	return h.net[a] < h.net[b] || h.net[a] == h.net[b] && a < b
}

func (h *shortHeap) swap(i, j int) {
	h.banks[i], h.banks[j] = h.banks[j], h.banks[i]
	h.pos[h.banks[i]] = int32(i)
	h.pos[h.banks[j]] = int32(j)
}

func (h *shortHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *shortHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h.banks) {
			return
		}
		c := l
		if r := l + 1; r < len(h.banks) && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h.swap(i, c)
		i = c
	}
}

func (h *shortHeap) push(b int32) {
	h.pos[b] = int32(len(h.banks))
	h.banks = append(h.banks, b)
	h.up(len(h.banks) - 1)
}

func (h *shortHeap) remove(b int32) {
	i := int(h.pos[b])
	last := len(h.banks) - 1
	if i != last {
		h.swap(i, last)
	}
	h.banks = h.banks[:last]
	h.pos[b] = -1
	if i < last {
		h.down(i)
		h.up(i)
	}
}

// update puts b where its net now says: in the heap when short, out of it when not.
func (h *shortHeap) update(b int32) {
	switch {
	case h.net[b] >= 0 && h.pos[b] >= 0:
		h.remove(b)
	case h.net[b] < 0 && h.pos[b] < 0:
		h.push(b)
	case h.net[b] < 0:
		h.down(int(h.pos[b]))
		h.up(int(h.pos[b]))
	}
}
