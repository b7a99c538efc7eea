package ledger

import (
	"math"
	"math/rand/v2"
	"strings"
)

// source is where a generator's choices come from: a seeded PRNG in property tests, the fuzzer's bytes in the
// fuzz test.
type source interface {
	IntN(n int) int
}

// byteSource reads choices from bytes and answers 0 once they run out.
type byteSource struct {
	b []byte
}

func (s *byteSource) IntN(n int) int {
	if len(s.b) == 0 || n <= 1 {
		return 0
	}
	var v int
	if n <= 256 {
		v = int(s.b[0])
		s.b = s.b[1:]
	} else {
		v = int(s.b[0])
		if len(s.b) > 1 {
			v = v<<8 | int(s.b[1])
			s.b = s.b[2:]
		} else {
			s.b = s.b[1:]
		}
	}
	return v % n
}

func (s *byteSource) exhausted() bool { return len(s.b) == 0 }

var _ source = (*rand.Rand)(nil)

// world is the generator's view of a run: the accounts it made and every transfer it has submitted.
type world struct {
	src      source
	accounts []Account
	pendings []ID       // ids of applied pending transfers (see observe)
	sent     []Transfer // every transfer submitted
	batches  [][]Transfer
	next     uint64
	now      int64
}

// newWorld makes two ledgers: LedgerCBI with an issuance account, four floored settlement accounts and a
// suspense account without a floor; 1017 with an issuance-like bank account and two customers.
func newWorld(src source) *world {
	w := &world{src: src, now: t0}
	add := func(l LedgerID, k AccountKind, f AccountFlags) {
		w.accounts = append(w.accounts, Account{ID: idOf('A', uint64(len(w.accounts))), Ledger: l, Kind: k, Flags: f,
			Name: k.String()})
	}
	add(LedgerCBI, KindIssuance, 0)
	for range 4 {
		add(LedgerCBI, KindSettlement, FlagNoNegative)
	}
	add(LedgerCBI, KindSuspense, 0)
	add(1017, KindIssuance, 0)
	add(1017, KindCustomer, FlagNoNegative)
	add(1017, KindCustomer, FlagNoNegative)
	return w
}

func (w *world) freshID() ID {
	w.next++
	return idOf('T', w.next)
}

func (w *world) pick(n int) int { return w.src.IntN(n) }

func (w *world) account() Account { return w.accounts[w.pick(len(w.accounts))] }

// pair picks two accounts, of the same ledger nearly always.
func (w *world) pair() (Account, Account) {
	d := w.account()
	for range 8 {
		c := w.account()
		if c.ID != d.ID && (c.Ledger == d.Ledger || w.pick(20) == 0) {
			return d, c
		}
	}
	return d, w.account()
}

func (w *world) amount() int64 {
	switch w.pick(20) {
	case 0:
		return 0
	case 1:
		return -int64(w.pick(5) + 1)
	case 2:
		return math.MaxInt64 - int64(w.pick(3))
	case 3:
		return math.MaxInt64/2 + int64(w.pick(3))
	case 4, 5, 6:
		return int64(w.pick(5000) + 1) // large against the balances below
	}
	return int64(w.pick(300) + 1)
}

// transfer makes one transfer, valid most of the time.
func (w *world) transfer() Transfer {
	var t Transfer
	switch k := w.pick(100); {
	case k < 12 && len(w.sent) > 0: // an exact repeat
		t = w.sent[w.pick(len(w.sent))]
		t.Flags &^= FlagLinked
		return t
	case k < 16 && len(w.sent) > 0: // a repeat with one field changed
		t = w.sent[w.pick(len(w.sent))]
		t.Flags &^= FlagLinked
		switch w.pick(4) {
		case 0:
			t.Amount++
		case 1:
			t.Reference += "x"
		case 2:
			t.Code++
		default:
			t.DebitAccountID = ID{}
		}
		return t
	case k < 28: // funding from an issuance account
		d := w.accounts[0]
		if w.pick(3) == 0 {
			d = w.accounts[6]
		}
		var to []Account
		for _, a := range w.accounts {
			if a.Ledger == d.Ledger && a.ID != d.ID {
				to = append(to, a)
			}
		}
		c := to[w.pick(len(to))]
		t = Transfer{ID: w.freshID(), DebitAccountID: d.ID, CreditAccountID: c.ID, Amount: int64(w.pick(2000) + 1),
			Ledger: d.Ledger, Code: 1}
		if w.pick(30) == 0 {
			t.Amount = math.MaxInt64/3 + int64(w.pick(3))
		}
	case k < 55: // plain
		d, c := w.pair()
		t = Transfer{ID: w.freshID(), DebitAccountID: d.ID, CreditAccountID: c.ID, Amount: w.amount(), Ledger: d.Ledger,
			Code: uint16(w.pick(4))}
	case k < 70: // pending
		d, c := w.pair()
		t = Transfer{ID: w.freshID(), DebitAccountID: d.ID, CreditAccountID: c.ID, Amount: w.amount(), Ledger: d.Ledger,
			Code: 5, Flags: FlagPending}
		switch w.pick(6) {
		case 0, 1:
			t.Timeout = int64(w.pick(3) + 1)
		case 2:
			t.Timeout = []int64{-1, TimeoutMax, TimeoutMax + 1}[w.pick(3)]
		}
	case k < 90: // post or void
		t = Transfer{ID: w.freshID(), Flags: FlagPostPending}
		if w.pick(2) == 0 {
			t.Flags = FlagVoidPending
		}
		switch {
		case len(w.pendings) > 0 && w.pick(8) != 0:
			t.PendingID = w.pendings[len(w.pendings)-1-w.pick(min(len(w.pendings), 6))]
		case len(w.sent) > 0 && w.pick(2) == 0:
			t.PendingID = w.sent[w.pick(len(w.sent))].ID
		default:
			t.PendingID = w.freshID()
		}
		var p *Transfer
		for i := len(w.sent) - 1; i >= 0; i-- {
			if w.sent[i].ID == t.PendingID {
				p = &w.sent[i]
				break
			}
		}
		if p != nil {
			switch w.pick(8) {
			case 0:
				t.DebitAccountID, t.CreditAccountID, t.Ledger = p.DebitAccountID, p.CreditAccountID, p.Ledger
			case 1:
				t.DebitAccountID = p.CreditAccountID
			case 2:
				t.Ledger = p.Ledger + 1
			case 3:
				t.Amount = p.Amount
			case 4:
				t.Amount = p.Amount/2 + 1
			case 5:
				t.Amount = p.Amount + 1
			}
		} else if w.pick(4) == 0 {
			t.Amount = w.amount()
		}
		if w.pick(5) == 0 {
			t.Code = 9
		}
	default: // broken on purpose
		d, c := w.pair()
		t = Transfer{ID: w.freshID(), DebitAccountID: d.ID, CreditAccountID: c.ID, Amount: w.amount(), Ledger: d.Ledger, Code: 2}
		switch w.pick(13) {
		case 0:
			t.ID = ID{}
		case 1:
			t.Timestamp = 1
		case 2:
			t.Flags = FlagPending | FlagVoidPending
		case 3:
			t.Flags = 1 << 9
		case 4:
			t.Reference = strings.Repeat("r", ReferenceLenMax+w.pick(2))
		case 5:
			t.PendingID = w.freshID()
		case 6:
			t.Timeout = 5
		case 7:
			t.CreditAccountID = t.DebitAccountID
		case 8:
			t.DebitAccountID = w.freshID()
		case 9:
			t.CreditAccountID = ID{}
		case 10:
			t.Ledger = 0
		case 11:
			t.Flags, t.DebitAccountID, t.CreditAccountID = FlagVoidPending, ID{}, ID{}
		default:
			t.Flags, t.PendingID = FlagPostPending, w.freshID()
			t.Timeout = 1
		}
	}
	return t
}

// batch makes one batch, with linked chains, and records it as sent.
func (w *world) batch() []Transfer {
	if len(w.batches) > 0 && w.pick(15) == 0 { // resubmit a whole earlier batch: chains retried
		b := append([]Transfer(nil), w.batches[w.pick(len(w.batches))]...)
		w.batches = append(w.batches, b)
		return b
	}
	n := w.pick(14)
	b := make([]Transfer, n)
	for i := range b {
		b[i] = w.transfer()
		if w.pick(5) == 0 {
			b[i].Flags |= FlagLinked
		}
	}
	if n > 0 && w.pick(6) != 0 {
		b[n-1].Flags &^= FlagLinked // most batches close their last chain
	}
	w.sent = append(w.sent, b...)
	w.batches = append(w.batches, b)
	return b
}

// observe learns which pending transfers were applied, so posts and voids mostly name real ones.
func (w *world) observe(batch []Transfer, results []Result) {
	for i, t := range batch {
		if results[i] == OK && t.Flags&FlagPending != 0 {
			w.pendings = append(w.pendings, t.ID)
		}
	}
}

// tick moves the clock: mostly forward, past pending timeouts now and then, sometimes not at all or back.
func (w *world) tick() int64 {
	switch w.pick(8) {
	case 0:
	case 1:
		w.now -= nsPerSecond
	case 2, 3:
		w.now += int64(w.pick(1000))
	case 4, 5:
		w.now += nsPerSecond / 2
	default:
		w.now += int64(w.pick(4)) * nsPerSecond
	}
	return w.now
}

// flags sometimes blocks, closes or reopens an account; it returns the account to change, or false.
func (w *world) flags() (ID, AccountFlags, bool) {
	if w.pick(8) != 0 {
		return ID{}, 0, false
	}
	a := w.account()
	f := a.Flags & FlagNoNegative
	switch w.pick(6) {
	case 0:
		f |= FlagBlocked
	case 1:
		f |= FlagClosed
	}
	return a.ID, f, true
}
