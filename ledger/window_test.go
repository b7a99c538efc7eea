package ledger

import (
	"slices"
	"testing"
)

// retained is a ledger keeping window ns and entriesMax ids, with an issuance account and two floored banks.
func retained(t *testing.T, now, window int64, entriesMax int) (l *Ledger, iss, a, b ID) {
	t.Helper()
	l = New()
	l.SetRetention(now, window, entriesMax)
	iss, a, b = idOf('a', 0), idOf('a', 1), idOf('a', 2)
	l.CreateAccounts([]Account{
		{ID: iss, Ledger: LedgerCBI, Kind: KindIssuance, Flags: FlagNegativeAllowed},
		{ID: a, Ledger: LedgerCBI, Kind: KindSettlement},
		{ID: b, Ledger: LedgerCBI, Kind: KindSettlement},
	})
	return l, iss, a, b
}

func TestV7Helper(t *testing.T) {
	id := v7(t0+123_456_789, 42)
	got, ok := idTimeNs(id)
	if !ok || got != t0+123_000_000 {
		t.Fatalf("idTimeNs = %d, %v; want %d", got, ok, t0+123_000_000)
	}
	if s := id.String(); s[14] != '7' || !slices.Contains([]byte("89ab"), s[19]) {
		t.Fatalf("%s is not a UUIDv7", s)
	}
	if _, ok := idTimeNs(idOf('x', 1)); ok {
		t.Fatal("a test id passes for a UUIDv7")
	}
	if v7(t0, 1) == v7(t0, 2) {
		t.Fatal("v7 ids collide")
	}
}

// TestRetentionWindow: with a window of 10 s, the transfers applied and rejections remembered at t0 are held
// until a Begin at t0 + 11 s forgets them. Missing then names an old UUIDv7 and an id of another version, but
// not a fresh UUIDv7; the store's look-up (RestoreTransfer, RestoreRejected) brings them back, and repeats
// answer exists and the remembered code as before.
func TestRetentionWindow(t *testing.T) {
	const window = 10 * nsPerSecond
	l, iss, a, b := retained(t, t0, window, 0)
	if got := l.Horizon(); got != t0-window {
		t.Fatalf("horizon %d, want %d", got, t0-window)
	}
	old7, other, rej := v7(t0, 1), idOf('x', 1), v7(t0, 2)
	batch := []Transfer{
		{ID: other, DebitAccountID: iss, CreditAccountID: a, Amount: 100, Ledger: LedgerCBI},
		{ID: old7, DebitAccountID: a, CreditAccountID: b, Amount: 40, Ledger: LedgerCBI, UserData: idOf('u', 1)},
		{ID: rej, DebitAccountID: a, CreditAccountID: b, Amount: 1000, Ledger: LedgerCBI},
	}
	first := l.Decide(t0, batch)
	mustResults(t, "first", first.Results, OK, OK, ExceedsBalance)
	if s := l.Stats(); s.Transfers != 2 || s.Rejected != 1 {
		t.Fatalf("stats %+v", s)
	}
	l.Decide(t0+5*nsPerSecond, nil)
	for _, id := range []ID{old7, other, rej} {
		if !l.Holds(id) {
			t.Fatalf("%s forgotten within the window", id)
		}
	}
	fresh := v7(t0+11*nsPerSecond, 3)
	repeats := append(slices.Clone(batch), Transfer{ID: fresh, DebitAccountID: b, CreditAccountID: a, Amount: 1, Ledger: LedgerCBI})
	if got := l.Missing(repeats); len(got) != 0 {
		t.Fatalf("Missing %v while everything is held", got)
	}

	l.Begin(t0 + 11*nsPerSecond)
	if s := l.Stats(); s.Transfers != 0 || s.Rejected != 0 {
		t.Fatalf("stats after the window %+v", s)
	}
	for _, id := range []ID{old7, other, rej} {
		if l.Holds(id) {
			t.Fatalf("%s held past the window", id)
		}
	}
	if h := l.Horizon(); h < t0 || h > t0+nsPerSecond {
		t.Fatalf("horizon %d, want about t0 + 1 s", h)
	}
	if got, want := l.Missing(repeats), []ID{other, old7, rej}; !slices.Equal(got, want) {
		t.Fatalf("Missing %v, want %v", got, want)
	}
	// The store finds the rows and loads them; the repeats then answer as they did.
	for _, x := range first.Applied {
		l.RestoreTransfer(x, 0)
	}
	for _, r := range first.Rejected {
		l.RestoreRejected(r.ID, r.Result, r.At)
	}
	if got := l.Missing(repeats); len(got) != 0 {
		t.Fatalf("Missing %v after the look-up", got)
	}
	changed := batch[1]
	changed.UserData = idOf('u', 2)
	mustResults(t, "repeats", l.Submit(repeats), Exists, Exists, ExceedsBalance, OK)
	mustResults(t, "changed repeat", l.Submit([]Transfer{changed}), ExistsWithDifferentFields)
	b2 := l.End()
	if len(b2.Rejected) != 0 || len(b2.Applied) != 1 {
		t.Fatalf("batch %+v", b2)
	}
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionKeepsActivePending: an active pending transfer is never forgotten, however old; once posted,
// voided or expired it leaves a window later, with the post or void that resolved it.
func TestRetentionKeepsActivePending(t *testing.T) {
	const window = 10 * nsPerSecond
	l, iss, a, b := retained(t, t0, window, 0)
	p, q, r := idOf('p', 1), idOf('p', 2), idOf('p', 3)
	pend := func(id ID, timeout int64) Transfer {
		return Transfer{ID: id, DebitAccountID: a, CreditAccountID: b, Amount: 10, Ledger: LedgerCBI, Flags: FlagPending, Timeout: timeout}
	}
	mustResults(t, "pendings", l.Decide(t0, []Transfer{{ID: idOf('f', 1), DebitAccountID: iss, CreditAccountID: a, Amount: 100,
		Ledger: LedgerCBI}, pend(p, 0), pend(q, 30), pend(r, 0)}).
		Results, OK, OK, OK, OK)
	if next, ok := l.NextExpiry(); !ok || next != t0+2+30*nsPerSecond { // q is the third transfer applied at t0
		t.Fatalf("NextExpiry %d, %v", next, ok)
	}

	// At t0 + 100 s: the funding is gone, the three pendings stay; q expires in this Begin, and r is voided.
	l.Begin(t0 + 100*nsPerSecond)
	if l.Holds(idOf('f', 1)) || !l.Holds(p) || !l.Holds(q) || !l.Holds(r) {
		t.Fatalf("held: funding %v, p %v, q %v, r %v", l.Holds(idOf('f', 1)), l.Holds(p), l.Holds(q), l.Holds(r))
	}
	void := idOf('v', 1)
	mustResults(t, "void", l.Submit([]Transfer{{ID: void, Flags: FlagVoidPending, PendingID: r}}), OK)
	if b := l.End(); !slices.Equal(b.Expired, []ID{q}) {
		t.Fatalf("expired %v", b.Expired)
	}
	if _, ok := l.NextExpiry(); ok {
		t.Fatal("NextExpiry with no pending transfer that may expire")
	}
	// Long past the window p is still held and may still be posted.
	l.Decide(t0+105*nsPerSecond, nil)
	if !l.Holds(q) || !l.Holds(r) || !l.Holds(void) {
		t.Fatal("resolved pendings forgotten before a window passed")
	}
	l.Decide(t0+1000*nsPerSecond, nil)
	if !l.Holds(p) || l.Holds(q) || l.Holds(r) || l.Holds(void) {
		t.Fatalf("held: p %v, q %v, r %v, void %v", l.Holds(p), l.Holds(q), l.Holds(r), l.Holds(void))
	}
	if _, ok := l.Pending(q); ok {
		t.Fatal("the state of a forgotten pending transfer is held")
	}
	if s := l.Stats(); s.Transfers != 1 || s.PendingActive != 1 {
		t.Fatalf("stats %+v", s)
	}
	post := idOf('v', 2)
	mustResults(t, "post", l.Decide(t0+1000*nsPerSecond, []Transfer{{ID: post, Flags: FlagPostPending, PendingID: p}}).Results, OK)
	l.Decide(t0+1005*nsPerSecond, nil)
	if !l.Holds(p) || !l.Holds(post) {
		t.Fatal("posted pending forgotten before a window passed")
	}
	l.Decide(t0+1011*nsPerSecond, nil)
	if l.Holds(p) || l.Holds(post) || l.Stats().Transfers != 0 {
		t.Fatalf("stats %+v", l.Stats())
	}
	// A void of the forgotten, voided r: Missing names r, the store loads it, and the answer is the same as ever.
	again := []Transfer{{ID: idOf('v', 3), Flags: FlagVoidPending, PendingID: r}}
	l.Begin(t0 + 1011*nsPerSecond)
	if got := l.Missing(again); !slices.Equal(got, []ID{idOf('v', 3), r}) {
		t.Fatalf("Missing %v", got)
	}
	l.RestoreTransfer(Transfer{ID: r, DebitAccountID: a, CreditAccountID: b, Amount: 10, Ledger: LedgerCBI, Flags: FlagPending,
		Timestamp: t0 + 3}, PendingVoided)
	mustResults(t, "void again", l.Submit(again), PendingAlreadyVoided)
	l.End()
	if err := l.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionEntriesMax: entriesMax caps the ids held; the oldest go first, and the horizon follows them.
func TestRetentionEntriesMax(t *testing.T) {
	l, iss, a, _ := retained(t, t0, 0, 3)
	if l.Horizon() >= t0 {
		t.Fatalf("horizon %d with no window and nothing evicted", l.Horizon())
	}
	var batch []Transfer
	for i := range 5 {
		batch = append(batch, Transfer{ID: v7(t0+int64(i)*nsPerSecond, uint64(i)), DebitAccountID: iss, CreditAccountID: a, Amount: 1,
			Ledger: LedgerCBI})
	}
	mustResults(t, "batch", l.Decide(t0, batch).Results, OK, OK, OK, OK, OK)
	if l.Stats().Transfers != 5 {
		t.Fatalf("evicted within a batch: %+v", l.Stats())
	}
	l.Decide(t0+nsPerSecond, nil)
	if s := l.Stats(); s.Transfers != 3 {
		t.Fatalf("stats %+v", s)
	}
	for i, x := range batch {
		if l.Holds(x.ID) != (i >= 2) {
			t.Fatalf("transfer %d held %v", i, l.Holds(x.ID))
		}
	}
	// The horizon is the key of the newest id forgotten: transfer 1's id time, t0 + 1 s.
	if got := l.Horizon(); got != t0+nsPerSecond {
		t.Fatalf("horizon %d, want %d", got, t0+nsPerSecond)
	}
	later := v7(t0+nsPerSecond+1_000_000, 99)
	if got, want := l.Missing([]Transfer{batch[0], batch[1], batch[4], {ID: later}}), []ID{batch[0].ID, batch[1].ID}; !slices.Equal(got, want) {
		t.Fatalf("Missing %v, want %v", got, want)
	}
}

// TestMissing: what the writer must look up for a request, on a ledger that forgot ids before its horizon.
func TestMissing(t *testing.T) {
	l, iss, a, b := retained(t, t0, 10*nsPerSecond, 0)
	held, rejected := v7(t0, 1), v7(t0, 2)
	l.Decide(t0, []Transfer{
		{ID: held, DebitAccountID: iss, CreditAccountID: a, Amount: 5, Ledger: LedgerCBI},
		{ID: rejected, DebitAccountID: a, CreditAccountID: b, Amount: 50, Ledger: LedgerCBI},
	})

	old7, other := v7(t0-11*nsPerSecond, 3), idOf('x', 1)
	fresh := v7(t0-9*nsPerSecond, 4)
	tests := []struct {
		name string
		in   []Transfer
		want []ID
	}{
		{"held transfer", []Transfer{{ID: held}}, nil},
		{"held rejection", []Transfer{{ID: rejected}}, nil},
		{"fresh UUIDv7", []Transfer{{ID: fresh}}, nil},
		{"UUIDv7 at or before the horizon", []Transfer{{ID: old7}, {ID: v7(t0-10*nsPerSecond, 5)}}, []ID{old7, v7(t0-10*nsPerSecond, 5)}},
		{"not a UUIDv7", []Transfer{{ID: other}}, []ID{other}},
		{"zero id", []Transfer{{}}, nil},
		{"pending id not held", []Transfer{{ID: fresh, PendingID: old7}, {ID: fresh, PendingID: v7(t0, 9)}}, []ID{old7, v7(t0, 9)}},
		{"pending id held", []Transfer{{ID: fresh, PendingID: held}}, nil},
		{"pending id held as a remembered rejection", []Transfer{{ID: fresh, PendingID: rejected}}, nil},
		{"each id once", []Transfer{{ID: other}, {ID: other, PendingID: other}, {ID: old7, PendingID: other}}, []ID{other, old7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.Missing(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNoRetentionHoldsEverything: by default nothing is ever forgotten, however much time passes.
func TestNoRetentionHoldsEverything(t *testing.T) {
	f := newFixture(t)
	n := f.l.Stats().Transfers
	f.l.Decide(TimeMax, nil)
	if s := f.l.Stats(); s.Transfers != n {
		t.Fatalf("held %d, then %d", n, s.Transfers)
	}
	if !f.l.Holds(f.plain) || f.l.Horizon() != -1<<63 {
		t.Fatalf("plain held %v, horizon %d", f.l.Holds(f.plain), f.l.Horizon())
	}
}

func TestSetRetentionPanics(t *testing.T) {
	mustPanic(t, "negative window", func() { New().SetRetention(t0, -1, 0) })
	mustPanic(t, "negative count", func() { New().SetRetention(t0, 0, -1) })
}

// TestNextExpiry: the earliest deadline of a pending transfer that may still expire, skipping those resolved.
func TestNextExpiry(t *testing.T) {
	f := newFixture(t)
	timed, _ := f.l.Transfer(f.pTimed)
	if got, ok := f.l.NextExpiry(); !ok || got != timed.Timestamp+3600*nsPerSecond {
		t.Fatalf("NextExpiry %d, %v; want pTimed's %d", got, ok, timed.Timestamp+3600*nsPerSecond)
	}
	q := Transfer{ID: idOf('x', 1), DebitAccountID: f.a, CreditAccountID: f.b, Amount: 1, Ledger: LedgerCBI, Flags: FlagPending, Timeout: 10}
	b := f.l.Decide(f.now, []Transfer{q})
	if got, ok := f.l.NextExpiry(); !ok || got != b.Applied[0].Timestamp+10*nsPerSecond {
		t.Fatalf("NextExpiry %d, %v; want q's", got, ok)
	}
	mustResults(t, "void q", f.l.Decide(f.now, []Transfer{{ID: idOf('x', 2), Flags: FlagVoidPending, PendingID: q.ID}}).Results, OK)
	if got, ok := f.l.NextExpiry(); !ok || got != timed.Timestamp+3600*nsPerSecond {
		t.Fatalf("NextExpiry %d, %v after the void", got, ok)
	}
	// A proposal that posts pTimed and fails leaves it due as before.
	f.l.Begin(f.now)
	if _, ok := f.l.Propose([]Transfer{{ID: idOf('x', 3), Flags: FlagPostPending, PendingID: f.pTimed}, {ID: idOf('x', 4)}}); ok {
		t.Fatal("proposal applied")
	}
	f.l.End()
	if got, ok := f.l.NextExpiry(); !ok || got != timed.Timestamp+3600*nsPerSecond {
		t.Fatalf("NextExpiry %d, %v after a failed proposal", got, ok)
	}
	b = f.l.Decide(timed.Timestamp+3600*nsPerSecond, nil)
	if !slices.Equal(b.Expired, []ID{f.pTimed}) {
		t.Fatalf("expired %v", b.Expired)
	}
	if got, ok := f.l.NextExpiry(); ok {
		t.Fatalf("NextExpiry %d with nothing to expire", got)
	}
}

// TestIDTimeFuture: with a window, a new UUIDv7 more than the window ahead of now is refused before any other
// rule and not remembered; a repeat of an id applied or rejected before still answers as ever, even when a
// clock that stepped back makes it look that far ahead. Without a window such ids are accepted.
func TestIDTimeFuture(t *testing.T) {
	const window = 10 * nsPerSecond
	edge, beyond, far := v7(t0+window, 1), v7(t0+window+1_000_000, 2), v7(t0+50*365*24*3600*nsPerSecond, 3)
	plain := func(id ID) Transfer {
		return Transfer{ID: id, DebitAccountID: idOf('a', 0), CreditAccountID: idOf('a', 1), Amount: 1, Ledger: LedgerCBI}
	}
	with := func(tr Transfer, change func(*Transfer)) Transfer { change(&tr); return tr }
	tests := []struct {
		name       string
		window     int64
		entriesMax int
		tr         Transfer
		want       Result
	}{
		{"exactly the window ahead", window, 0, plain(edge), OK},
		{"a millisecond beyond", window, 0, plain(beyond), IDTimeFuture},
		{"fifty years ahead", window, 0, plain(far), IDTimeFuture},
		{"an hour behind", window, 0, plain(v7(t0-3600*nsPerSecond, 4)), OK},
		{"not a UUIDv7", window, 0, plain(idOf('x', 1)), OK},
		{"before timestamp_must_be_zero", window, 0, with(plain(far), func(t *Transfer) { t.Timestamp = 1 }), IDTimeFuture},
		{"before flags_invalid", window, 0, with(plain(far), func(t *Transfer) { t.Flags = 1 << 12 }), IDTimeFuture},
		{"before amount_invalid", window, 0, with(plain(far), func(t *Transfer) { t.Amount = 0 }), IDTimeFuture},
		{"before exceeds_balance", window, 0, with(plain(far), func(t *Transfer) { t.DebitAccountID = idOf('a', 2) }), IDTimeFuture},
		{"a post", window, 0, Transfer{ID: far, Flags: FlagPostPending, PendingID: idOf('p', 1)}, IDTimeFuture},
		{"after id_zero", window, 0, with(plain(far), func(t *Transfer) { t.ID = ID{} }), IDZero},
		{"only with a window: a cap alone", 0, 100, plain(far), OK},
		{"only with a window: no retention", 0, 0, plain(far), OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			if tc.window > 0 || tc.entriesMax > 0 {
				l.SetRetention(t0, tc.window, tc.entriesMax)
			}
			l.CreateAccounts([]Account{
				{ID: idOf('a', 0), Ledger: LedgerCBI, Kind: KindIssuance, Flags: FlagNegativeAllowed},
				{ID: idOf('a', 1), Ledger: LedgerCBI, Kind: KindSettlement},
				{ID: idOf('a', 2), Ledger: LedgerCBI, Kind: KindSettlement},
			})
			b := l.Decide(t0, []Transfer{tc.tr})
			mustResults(t, "result", b.Results, tc.want)
			if tc.want == IDTimeFuture && (len(b.Rejected) != 0 || l.Holds(tc.tr.ID)) {
				t.Fatalf("refused id remembered: %v, held %v", b.Rejected, l.Holds(tc.tr.ID))
			}
		})
	}

	l, iss, a, b := retained(t, t0, window, 0)
	// A far-ahead id is never fresh: Missing (after Begin, which sets now) names it, so the store is asked.
	l.Begin(t0)
	if got := l.Missing([]Transfer{plain(beyond), plain(edge)}); !slices.Equal(got, []ID{beyond}) {
		t.Fatalf("Missing %v", got)
	}
	l.End()
	applied := Transfer{ID: edge, DebitAccountID: iss, CreditAccountID: a, Amount: 5, Ledger: LedgerCBI}
	rejected := Transfer{ID: v7(t0+window, 5), DebitAccountID: a, CreditAccountID: b, Amount: 1 << 40, Ledger: LedgerCBI}
	refused := Transfer{ID: beyond, DebitAccountID: iss, CreditAccountID: a, Amount: 5, Ledger: LedgerCBI}
	mustResults(t, "at t0", l.Decide(t0, []Transfer{applied, rejected, refused}).Results, OK, ExceedsBalance, IDTimeFuture)
	// The clock steps back 5 s: the applied and the rejected ids now lie 15 s ahead, and still answer as before.
	mustResults(t, "clock back", l.Decide(t0-5*nsPerSecond, []Transfer{applied, rejected, refused}).Results, Exists, ExceedsBalance,
		IDTimeFuture)
	// Once the clock catches up, the refused id is new like any other: nothing was remembered.
	mustResults(t, "caught up", l.Decide(t0+nsPerSecond, []Transfer{refused}).Results, OK)
}

// TestPin: the ids taken in at or after the pin stay in memory whatever the window and the cap, until the pin
// moves on; the horizon stays below the pin.
func TestPin(t *testing.T) {
	l, iss, a, _ := retained(t, t0, nsPerSecond, 2)
	tr := func(n uint64, at int64) Transfer {
		return Transfer{ID: v7(at, n), DebitAccountID: iss, CreditAccountID: a, Amount: 1, Ledger: LedgerCBI}
	}
	mustResults(t, "before the pin", l.Decide(t0, []Transfer{tr(1, t0)}).Results, OK)
	l.Pin(t0 + nsPerSecond)
	mustResults(t, "pinned", l.Decide(t0+nsPerSecond, []Transfer{tr(2, t0+nsPerSecond), tr(3, t0+nsPerSecond), tr(4, t0+nsPerSecond)}).Results,
		OK, OK, OK)
	l.Decide(t0+10*nsPerSecond, nil)
	if s := l.Stats(); s.Transfers != 3 || l.Holds(tr(1, t0).ID) {
		t.Fatalf("stats %+v: the pin must keep the three ids taken at it, past the window and the cap", s)
	}
	if h := l.Horizon(); h >= t0+nsPerSecond {
		t.Fatalf("horizon %d at or past the pin", h)
	}
	if got := l.Missing([]Transfer{tr(2, t0+nsPerSecond)}); len(got) != 0 {
		t.Fatalf("Missing %v for a pinned id", got)
	}
	l.Pin(t0 + 10*nsPerSecond) // the write is durable: the pin moves on
	l.Decide(t0+11*nsPerSecond, nil)
	if s := l.Stats(); s.Transfers != 0 {
		t.Fatalf("stats %+v after the pin moved on", s)
	}
	l.Pin(0)
	mustResults(t, "after release", l.Decide(t0+12*nsPerSecond, []Transfer{tr(5, t0+12*nsPerSecond)}).Results, OK)
	l.Decide(t0+20*nsPerSecond, nil)
	if l.Stats().Transfers != 0 {
		t.Fatalf("stats %+v after the pin was released", l.Stats())
	}
}
