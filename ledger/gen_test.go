package ledger

import (
	"math"
	"math/rand/v2"
	"slices"
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

// Positions in world.accounts.
const (
	worldIssuanceCBI   = 0
	worldSettlement    = 1 // the first of settlementCount floored settlement accounts in LedgerCBI
	settlementCount    = 4
	worldIssuance1017  = 6
	worldAccountsCount = 11
)

// newWorld makes two ledgers: LedgerCBI with an issuance account, four settlement accounts (floored by default),
// a suspense account without a floor and a floored mirror; 1017 with an issuance-like bank account, two
// customers and a clearing account without a floor.
func newWorld(src source) *world {
	w := &world{src: src, now: t0}
	add := func(l LedgerID, k AccountKind, f AccountFlags) {
		w.accounts = append(w.accounts, Account{ID: idOf('A', uint64(len(w.accounts))), Ledger: l, Kind: k, Flags: f,
			Name: k.String()})
	}
	add(LedgerCBI, KindIssuance, FlagNegativeAllowed)
	for range settlementCount {
		add(LedgerCBI, KindSettlement, 0)
	}
	add(LedgerCBI, KindSuspense, FlagNegativeAllowed)
	add(1017, KindIssuance, FlagNegativeAllowed)
	add(1017, KindCustomer, 0)
	add(1017, KindCustomer, 0)
	add(1017, KindClearing, FlagNegativeAllowed)
	add(LedgerCBI, KindMirror, 0)
	if len(w.accounts) != worldAccountsCount {
		panic("world accounts")
	}
	return w
}

// freshID mints a new id: mostly a UUIDv7 from a client clock up to 2 s behind or 1 s ahead of the world's, as
// callers do; now and then an id of another version, which a retaining ledger must always look up, or a
// UUIDv7 from a clock far ahead, which a ledger with a window refuses.
func (w *world) freshID() ID {
	w.next++
	switch k := w.pick(40); {
	case k < 10:
		return idOf('T', w.next)
	case k == 10:
		return v7(w.now+[]int64{5 * nsPerSecond, 3600 * nsPerSecond, 50 * 365 * 24 * 3600 * nsPerSecond}[w.pick(3)], w.next)
	}
	return v7(w.now+int64(w.pick(3000)-2000)*1_000_000, w.next)
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
		switch w.pick(6) {
		case 0:
			t.Amount++
		case 1:
			t.Reference += "x"
		case 2:
			t.Code++
		case 3:
			t.UserData[15]++
		case 4:
			t.Flags ^= FlagNet
		default:
			t.DebitAccountID = ID{}
		}
		return t
	case k < 28: // funding from an issuance account
		d := w.accounts[worldIssuanceCBI]
		if w.pick(3) == 0 {
			d = w.accounts[worldIssuance1017]
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
	case k < 58: // plain
		d, c := w.pair()
		t = Transfer{ID: w.freshID(), DebitAccountID: d.ID, CreditAccountID: c.ID, Amount: w.amount(), Ledger: d.Ledger,
			Code: uint16(w.pick(4))}
	case k < 72: // pending
		d, c := w.pair()
		t = Transfer{ID: w.freshID(), DebitAccountID: d.ID, CreditAccountID: c.ID, Amount: w.amount(), Ledger: d.Ledger,
			Code: 5, Flags: FlagPending}
		switch w.pick(6) {
		case 0, 1:
			t.Timeout = int64(w.pick(3) + 1)
		case 2:
			t.Timeout = []int64{-1, TimeoutMax, TimeoutMax + 1}[w.pick(3)]
		}
	case k < 91: // post or void
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
		if w.pick(6) == 0 {
			t.UserData = idOf('U', uint64(w.pick(3)))
		}
	default: // broken on purpose
		d, c := w.pair()
		t = Transfer{ID: w.freshID(), DebitAccountID: d.ID, CreditAccountID: c.ID, Amount: w.amount(), Ledger: d.Ledger, Code: 2}
		switch w.pick(17) {
		case 13:
			t.Reference = []string{"\x00", "ref\x00", "\xff", "ر"[:1]}[w.pick(4)]
		case 14:
			t.Reference = strings.Repeat("\x00", ReferenceLenMax+w.pick(2))
		case 15:
			t.Flags = FlagNet | []TransferFlags{FlagPending, FlagPostPending, FlagVoidPending}[w.pick(3)]
		case 16:
			t.Flags = FlagNet | 1<<(5+w.pick(11))
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
	if t.UserData.IsZero() && w.pick(5) == 0 {
		t.UserData = idOf('U', uint64(w.pick(3)))
	}
	return t
}

// netChain makes a FlagNet chain among the floored settlement accounts: mostly a cycle whose legs move the
// same amount (it settles on nothing), sometimes with one leg larger or random legs (it fails unless the
// accounts hold enough), now and then with a member that does not carry FlagNet or carries a pending flag.
func (w *world) netChain() []Transfer {
	n := 2 + w.pick(3)
	start := w.pick(settlementCount)
	amount := int64(w.pick(500) + 1)
	chain := make([]Transfer, n)
	for i := range chain {
		d := w.accounts[worldSettlement+(start+i)%settlementCount]
		c := w.accounts[worldSettlement+(start+i+1)%settlementCount]
		if i == n-1 && n < settlementCount && w.pick(2) == 0 {
			c = w.accounts[worldSettlement+start] // close the cycle early
		}
		chain[i] = Transfer{ID: w.freshID(), DebitAccountID: d.ID, CreditAccountID: c.ID, Amount: amount, Ledger: LedgerCBI,
			Code: 11, Flags: FlagNet | FlagLinked}
	}
	chain[n-1].Flags &^= FlagLinked
	switch w.pick(8) {
	case 0, 1:
		chain[w.pick(n)].Amount += int64(w.pick(300) + 1)
	case 2:
		for i := range chain {
			chain[i].Amount = w.amount()
		}
	case 3:
		chain[w.pick(n)].Flags &^= FlagNet
	case 4:
		chain[w.pick(n)].Flags |= FlagPending
	}
	return chain
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
		if i > 0 && w.pick(12) == 0 {
			b[i] = b[w.pick(i)] // the same id twice in one batch
		}
		if w.pick(5) == 0 {
			b[i].Flags |= FlagLinked
		}
	}
	if n > 0 && w.pick(6) != 0 {
		b[n-1].Flags &^= FlagLinked // most batches close their last chain
	}
	if w.pick(4) == 0 {
		at := w.pick(len(b) + 1)
		if at > 0 {
			b[at-1].Flags &^= FlagLinked // a chain of its own
		}
		b = slices.Insert(b, at, w.netChain()...)
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
	f := a.Flags & FlagNegativeAllowed
	switch w.pick(6) {
	case 0:
		f |= FlagBlocked
	case 1:
		f |= FlagClosed
	}
	return a.ID, f, true
}

// calls cuts a batch into the calls one Begin … End makes: mostly one Submit; sometimes several, cut anywhere
// (a chain cut in two is left open in the first call); sometimes with proposals among them.
func (w *world) calls(batch []Transfer) (calls [][]Transfer, propose []bool) {
	mode := w.pick(4)
	if mode < 2 || len(batch) < 2 {
		return [][]Transfer{batch}, []bool{false}
	}
	start := 0
	for i := 1; i <= len(batch); i++ {
		if i == len(batch) || w.pick(4) == 0 {
			calls = append(calls, batch[start:i])
			propose = append(propose, mode == 3 && w.pick(2) == 0)
			start = i
		}
	}
	return calls, propose
}
