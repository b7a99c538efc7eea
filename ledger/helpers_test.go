package ledger

import (
	"encoding/binary"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"
)

// idOf returns a distinct non-zero id for every n >= 0 (tag keeps families apart).
func idOf(tag byte, n uint64) ID {
	var id ID
	id[0] = tag
	binary.BigEndian.PutUint64(id[8:], n+1)
	return id
}

// t0 is the simulated clock's start, 2023-11-14 22:13:20 UTC.
const t0 = int64(1_700_000_000) * nsPerSecond

// snapshot is the whole observable state of a Ledger, for comparing two states exactly. It leaves out the
// scratch of the last change, the retention queue and the expiry heap's stale entries (lazy deletion),
// keeping its live ones.
type snapshot struct {
	Accounts  []Account
	Index     map[ID]int32
	Keys      map[externalKey]int32
	Transfers map[ID]Transfer
	Pending   map[ID]PendingState
	Rejected  map[ID]Result
	Totals    map[LedgerID]ledgerTotals
	Expiry    []expiryEntry
	Active    int
	Last      int64
}

func takeSnapshot(l *Ledger) snapshot {
	s := snapshot{
		Accounts:  slices.Clone(l.accounts),
		Index:     maps.Clone(l.index),
		Keys:      maps.Clone(l.keys),
		Transfers: heldMap(l),
		Pending:   maps.Clone(l.pending),
		Rejected:  maps.Clone(l.rejected),
		Totals:    make(map[LedgerID]ledgerTotals, len(l.totals)),
		Active:    l.activePending,
		Last:      l.last,
	}
	for k, v := range l.totals {
		c := *v
		c.gen, c.dDebitsPending, c.dDebitsPosted, c.dCreditsPending, c.dCreditsPosted = 0, 0, 0, 0, 0
		s.Totals[k] = c
	}
	for _, e := range l.expiry {
		t, ok := l.transfers.get(e.id)
		if ok && l.pending[e.id] == PendingActive && t.Timestamp == e.ts && deadline(&t) == e.deadline {
			s.Expiry = append(s.Expiry, e)
		}
	}
	slices.SortFunc(s.Expiry, func(a, b expiryEntry) int {
		if a.less(&b) {
			return -1
		}
		if b.less(&a) {
			return 1
		}
		return 0
	})
	s.Expiry = slices.Compact(s.Expiry)
	return s
}

func assertSameState(t testing.TB, what string, got, want snapshot) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: state differs:\n got %+v\nwant %+v", what, got, want)
	}
}

// fixture is a small world for table tests: ledger 1 with an issuance account, two funded settlement
// accounts (floored, as every account is without FlagNegativeAllowed), a blocked, a closed, a nearly full and an
// unfloored account; ledger 1017 with two customers, one floored; and pending transfers in every state.
type fixture struct {
	l                                  *Ledger
	iss, a, b, blk, cls, full, src     ID
	c1, c2                             ID
	pActive, pPosted, pVoided, pExpire ID
	pTimed, plain, pBlk, post, void    ID
	now                                int64
}

const fundA = 1000

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{l: New(), now: t0}
	f.iss, f.a, f.b, f.blk, f.cls, f.full = idOf('a', 0), idOf('a', 1), idOf('a', 2), idOf('a', 3), idOf('a', 4), idOf('a', 5)
	f.c1, f.c2, f.src = idOf('a', 6), idOf('a', 7), idOf('a', 8)
	accts := []Account{
		{ID: f.iss, Ledger: LedgerCBI, Kind: KindIssuance, Flags: FlagNegativeAllowed, Name: "CBI issuance"},
		{ID: f.a, Ledger: LedgerCBI, Kind: KindSettlement, Name: "bank A", ExternalKey: "bank:A"},
		{ID: f.b, Ledger: LedgerCBI, Kind: KindSettlement, Name: "bank B", ExternalKey: "bank:B"},
		{ID: f.blk, Ledger: LedgerCBI, Kind: KindSettlement, Name: "blocked"},
		{ID: f.cls, Ledger: LedgerCBI, Kind: KindSettlement, Name: "closed"},
		{ID: f.full, Ledger: LedgerCBI, Kind: KindSuspense, Flags: FlagNegativeAllowed, Name: "nearly full"},
		{ID: f.src, Ledger: LedgerCBI, Kind: KindClearing, Flags: FlagNegativeAllowed, Name: "no floor"},
		{ID: f.c1, Ledger: 1017, Kind: KindCustomer, Name: "customer 1", ExternalKey: "IR062960000000100324200001"},
		{ID: f.c2, Ledger: 1017, Kind: KindCustomer, Flags: FlagNegativeAllowed, Name: "customer 2"},
	}
	for i, r := range f.l.CreateAccounts(accts) {
		if r != AccountOK {
			tb.Fatalf("fixture account %d: %s", i, r)
		}
	}
	n := uint64(0)
	next := func() ID { n++; return idOf('f', n) }
	fund := func(to ID, amount int64) Transfer {
		return Transfer{ID: next(), DebitAccountID: f.iss, CreditAccountID: to, Amount: amount, Ledger: LedgerCBI, Code: 1}
	}
	f.pActive, f.pPosted, f.pVoided, f.pExpire, f.pTimed, f.plain = idOf('p', 1), idOf('p', 2), idOf('p', 3), idOf('p', 4), idOf('p', 5), idOf('p', 6)
	pend := func(id ID, amount, timeout int64) Transfer {
		return Transfer{ID: id, DebitAccountID: f.a, CreditAccountID: f.b, Amount: amount, Ledger: LedgerCBI, Code: 7,
			Flags: FlagPending, Timeout: timeout}
	}
	f.pBlk, f.post, f.void = idOf('p', 7), idOf('p', 8), idOf('p', 9)
	setup := [][]Transfer{
		{fund(f.a, fundA), fund(f.b, fundA), fund(f.blk, fundA), fund(f.cls, fundA),
			{ID: f.pBlk, DebitAccountID: f.blk, CreditAccountID: f.b, Amount: 5, Ledger: LedgerCBI, Code: 7, Flags: FlagPending},
			{ID: next(), DebitAccountID: f.c2, CreditAccountID: f.c1, Amount: fundA, Ledger: 1017, Code: 1},
			pend(f.pActive, 100, 0), pend(f.pPosted, 50, 0), pend(f.pVoided, 40, 0), pend(f.pExpire, 30, 1),
			{ID: f.plain, DebitAccountID: f.a, CreditAccountID: f.b, Amount: 10, Ledger: LedgerCBI, Code: 1, Reference: "r"}},
		{{ID: f.post, Flags: FlagPostPending, PendingID: f.pPosted},
			{ID: f.void, Flags: FlagVoidPending, PendingID: f.pVoided}},
		{pend(f.pTimed, 20, 3600)},
	}
	nows := []int64{t0, t0 + 1, t0 + 2*nsPerSecond}
	for i, batch := range setup {
		b := f.l.Decide(nows[i], batch)
		for j, r := range b.Results {
			if r != OK {
				tb.Fatalf("fixture batch %d transfer %d: %s", i, j, r)
			}
		}
	}
	if s, _ := f.l.Pending(f.pExpire); s != PendingExpired {
		tb.Fatalf("fixture: pExpire is %s", s)
	}
	// Bring the issuance account's debits to MaxInt64 - 100 and full's credits to MaxInt64 - 4100.
	b := f.l.Decide(nows[2], []Transfer{fund(f.full, math.MaxInt64-4*fundA-100)})
	if b.Results[0] != OK {
		tb.Fatalf("fixture funding full: %s", b.Results[0])
	}
	if err := f.l.SetAccountFlags(f.blk, FlagBlocked); err != nil {
		tb.Fatal(err)
	}
	if err := f.l.SetAccountFlags(f.cls, FlagClosed); err != nil {
		tb.Fatal(err)
	}
	if err := f.l.CheckInvariants(); err != nil {
		tb.Fatal(err)
	}
	f.now = nows[2] + nsPerSecond
	return f
}

// v7 returns a UUIDv7 whose time is at (unix ns, truncated to the millisecond) and whose random bits hold n:
// the 48-bit big-endian millisecond count, version 7 in the high nibble of byte 6, variant 10 in the top two
// bits of byte 8 (RFC 9562 §5.7).
func v7(at int64, n uint64) ID {
	var id ID
	ms := uint64(at / 1_000_000)
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	binary.BigEndian.PutUint64(id[8:], n)
	id[6] = 0x70 | byte(n>>60)&0x0f
	id[8] = 0x80 | id[8]&0x3f
	return id
}

// mustResults fails unless got equals want.
func mustResults(tb testing.TB, what string, got []Result, want ...Result) {
	tb.Helper()
	if !equalResults(got, want) {
		tb.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// heldMap is every transfer the ledger holds, with its reference, as a plain map.
func heldMap(l *Ledger) map[ID]Transfer {
	m := make(map[ID]Transfer, l.transfers.len())
	for id := range l.transfers.m {
		m[id], _ = l.transfers.get(id)
	}
	return m
}
