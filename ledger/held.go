package ledger

// heldTransfers are the transfers the ledger holds in memory (its retention window and every active pending
// transfer), keyed by id. They are kept without their Reference, which lives in a map of its own holding only
// the references that are not empty: the map of a million held transfers then has no pointer in it, so the
// garbage collector never scans it. Scanning it (some 150 bytes an entry) took the store's process 20–40 ms
// of a core per collection at a million held transfers, each time stalling the writer's answers by as much
// (measured with GODEBUG=gctrace=1 beside the latency bench, whose 20–30 ms spikes fell on the collections).
type heldTransfers struct {
	m    map[ID]heldTransfer
	refs map[ID]string // the Reference of each held transfer that has one
}

// heldTransfer is a Transfer without its Reference: no pointers.
type heldTransfer struct {
	id, debit, credit, userData, pendingID ID
	amount, timeout, timestamp             int64
	ledger                                 LedgerID
	code                                   uint16
	flags                                  TransferFlags
}

func newHeldTransfers() heldTransfers {
	return heldTransfers{m: make(map[ID]heldTransfer), refs: make(map[ID]string)}
}

func (h *heldTransfers) get(id ID) (Transfer, bool) {
	e, ok := h.m[id]
	if !ok {
		return Transfer{}, false
	}
	return Transfer{ID: e.id, DebitAccountID: e.debit, CreditAccountID: e.credit, Amount: e.amount, Ledger: e.ledger,
		Code: e.code, UserData: e.userData, Flags: e.flags, PendingID: e.pendingID, Timeout: e.timeout,
		Reference: h.ref(id), Timestamp: e.timestamp}, true
}

func (h *heldTransfers) ref(id ID) string {
	if len(h.refs) == 0 {
		return ""
	}
	return h.refs[id]
}

func (h *heldTransfers) has(id ID) bool {
	_, ok := h.m[id]
	return ok
}

func (h *heldTransfers) put(t *Transfer) {
	h.m[t.ID] = heldTransfer{id: t.ID, debit: t.DebitAccountID, credit: t.CreditAccountID, userData: t.UserData,
		pendingID: t.PendingID, amount: t.Amount, timeout: t.Timeout, timestamp: t.Timestamp, ledger: t.Ledger,
		code: t.Code, flags: t.Flags}
	if t.Reference != "" {
		h.refs[t.ID] = t.Reference
	} else if len(h.refs) > 0 {
		delete(h.refs, t.ID)
	}
}

func (h *heldTransfers) del(id ID) {
	delete(h.m, id)
	if len(h.refs) > 0 {
		delete(h.refs, id)
	}
}

func (h *heldTransfers) len() int { return len(h.m) }
