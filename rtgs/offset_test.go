package rtgs

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
)

// epoch is the opening of a business day, 1404-01-18 06:00 in Tehran; test orders are received after it.
var epoch = time.Date(2025, time.April, 7, 6, 0, 0, 0, calendar.Tehran)

func durationOf(n byte) time.Duration { return time.Duration(n) * time.Minute }

// queued is an order for the offsetting tests: id n, received n minutes after epoch unless told otherwise.
func queued(n uint64, from, to string, amount int64, p Priority) Order {
	return Order{
		ID: id(n), Type: TypeInterbank, SenderBank: from, ReceiverBank: to, AmountRial: amount, Priority: p,
		ReceivedAt: epoch.Add(time.Duration(n) * time.Minute),
	}
}

// TestOffsetFixture is the hand-computed five-bank gridlock the issue asks for. Amounts in millions of rial;
// A = 012 Mellat, B = 015 Sepah, C = 017 Melli, D = 054 Parsian, E = 057 Pasargad, so the letters' order is
// the codes' order. Order n is received at minute n.
//
//	order  from→to  amount  priority      balances: A 100, B 0, C 50, D 0, E 20
//	  1    A→B       300    normal
//	  2    B→C       250    urgent
//	  3    C→D       200    normal
//	  4    D→A       150    high
//	  5    B→E       100    normal
//	  6    E→A        80    normal
//	  7    D→E       120    normal
//	  8    C→A        60    high
//	  9    A→D        40    normal
//	 10    B→A        30    normal
//
// Balances after the whole set (balance + in − out):
//
//	A = 100 + (150 + 80 + 60 + 30) − (300 + 40)  =  80
//	B =   0 + 300 − (250 + 100 + 30)             = −80   short 80
//	C =  50 + 250 − (200 + 60)                   =  40
//	D =   0 + (200 + 40) − (150 + 120)           = −30   short 30
//	E =  20 + (100 + 120) − 80                   = 160
//
// The rule, step by step:
//
//  1. B is short the most (80). Its payments: 2 urgent, 5 and 10 normal; the latest normal is 10 (B→A 30).
//     B = −80 + 30 = −50; A = 80 − 30 = 50.
//  2. B (50) still leads D (30). Of 2 and 5, the normal one is 5 (B→E 100). B = −50 + 100 = 50; E = 160 − 100 = 60.
//  3. D (30) alone. Its payments: 4 high, 7 normal: 7 (D→E 120). D = −30 + 120 = 90; E = 60 − 120 = −60.
//  4. E (60) alone. Its only payment: 6 (E→A 80). E = −60 + 80 = 20; A = 50 − 80 = −30.
//  5. A (30) alone. Its payments: 1 and 9, both normal; the latest is 9 (A→D 40). A = −30 + 40 = 10; D = 90 − 40 = 50.
//
// No bank is short: A 10, B 50, C 40, D 50, E 20. Orders 10, 5, 7, 6, 9 stay queued, in that order; 1, 2, 3,
// 4, 8 settle. Check on the settling set alone: A = 100 + 150 + 60 − 300 = 10; B = 0 + 300 − 250 = 50;
// C = 50 + 250 − 200 − 60 = 40; D = 0 + 200 − 150 = 50; E = 20.
func TestOffsetFixture(t *testing.T) {
	const A, B, C, D, E = "012", "015", "017", "054", "057"
	const M = 1_000_000
	orders := []Order{
		queued(1, A, B, 300*M, PriorityNormal),
		queued(2, B, C, 250*M, PriorityUrgent),
		queued(3, C, D, 200*M, PriorityNormal),
		queued(4, D, A, 150*M, PriorityHigh),
		queued(5, B, E, 100*M, PriorityNormal),
		queued(6, E, A, 80*M, PriorityNormal),
		queued(7, D, E, 120*M, PriorityNormal),
		queued(8, C, A, 60*M, PriorityHigh),
		queued(9, A, D, 40*M, PriorityNormal),
		queued(10, B, A, 30*M, PriorityNormal),
	}
	balances := map[string]int64{A: 100 * M, B: 0, C: 50 * M, D: 0, E: 20 * M}
	settle, stay := Offset(orders, balances)
	if want := ids(1, 2, 3, 4, 8); !slices.Equal(settle, want) {
		t.Errorf("settle = %v, want %v", short(settle), short(want))
	}
	if want := ids(10, 5, 7, 6, 9); !slices.Equal(stay, want) {
		t.Errorf("stay = %v, want %v", short(stay), short(want))
	}
	after := map[string]int64{A: 10 * M, B: 50 * M, C: 40 * M, D: 50 * M, E: 20 * M}
	if got := balancesAfter(orders, settle, balances); !maps2Equal(got, after) {
		t.Errorf("balances after = %v, want %v", got, after)
	}
	checkOffset(t, orders, balances)
}

func TestOffset(t *testing.T) {
	tests := []struct {
		name      string
		orders    []Order
		balances  map[string]int64
		wantStay  []OrderID
		wantTotal int // orders in settle
	}{
		{"three banks in gridlock with nothing on account all settle", []Order{
			queued(1, "012", "015", 100, PriorityNormal),
			queued(2, "015", "017", 100, PriorityNormal),
			queued(3, "017", "012", 100, PriorityNormal),
		}, nil, nil, 3},
		{"a circle short by one rial: the largest shortfall's latest goes", []Order{
			queued(1, "012", "015", 100, PriorityNormal),
			queued(2, "015", "017", 101, PriorityNormal),
			queued(3, "017", "012", 100, PriorityNormal),
		}, nil, ids(2, 3, 1), 0},
		{"ties between banks go to the lower code", []Order{
			queued(1, "015", "017", 10, PriorityNormal),
			queued(2, "012", "017", 10, PriorityNormal),
		}, nil, ids(2, 1), 0},
		{"within a bank: normal before high before urgent, whatever their times", []Order{
			queued(1, "012", "015", 10, PriorityNormal),
			queued(2, "012", "015", 10, PriorityHigh),
			queued(3, "012", "015", 10, PriorityUrgent),
			queued(4, "012", "015", 10, PriorityHigh),
		}, map[string]int64{"012": 15}, ids(1, 4, 2), 1},
		{"same priority and time: the greater id goes first", []Order{
			{ID: id(5), SenderBank: "012", ReceiverBank: "015", AmountRial: 10, Priority: PriorityNormal, ReceivedAt: epoch},
			{ID: id(9), SenderBank: "012", ReceiverBank: "015", AmountRial: 10, Priority: PriorityNormal, ReceivedAt: epoch},
		}, map[string]int64{"012": 10}, ids(9), 1},
		{"a bank with its balance alone below zero is passed over once it has nothing left", []Order{
			queued(1, "010", "012", 50, PriorityNormal),
			queued(2, "012", "010", 20, PriorityNormal),
		}, map[string]int64{"010": -100, "012": 50}, ids(1), 1},
		{"balances far above the payments change nothing", []Order{
			queued(1, "012", "015", 100, PriorityNormal),
			queued(2, "015", "012", 300, PriorityNormal),
		}, map[string]int64{"012": 1 << 62, "015": 199}, ids(2), 1},
		{"empty", nil, nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settle, stay := Offset(tt.orders, tt.balances)
			if !slices.Equal(stay, tt.wantStay) || len(settle) != tt.wantTotal {
				t.Errorf("Offset: settle %v, stay %v; want %d settling, stay %v", short(settle), short(stay), tt.wantTotal, short(tt.wantStay))
			}
			checkOffset(t, tt.orders, tt.balances)
		})
	}
}

// TestOffsetProperty checks Offset against the reference on random small gridlocks.
func TestOffsetProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 2025))
	codes := []string{"011", "012", "015", "017", "054", "057"}
	for range 3000 {
		nb := 2 + rng.IntN(len(codes)-1)
		balances := map[string]int64{}
		for _, c := range codes[:nb] {
			if rng.IntN(4) > 0 {
				balances[c] = rng.Int64N(60)
			}
		}
		var orders []Order
		for i := range 1 + rng.IntN(14) {
			from := rng.IntN(nb)
			to := (from + 1 + rng.IntN(nb-1)) % nb
			o := queued(uint64(rng.IntN(1000)+1)<<8|uint64(i), codes[from], codes[to], 1+rng.Int64N(50), Priority(1+rng.IntN(3)))
			o.ReceivedAt = epoch.Add(time.Duration(rng.IntN(4)) * time.Minute) // ties on time are common
			orders = append(orders, o)
		}
		checkOffset(t, orders, balances)
		if t.Failed() {
			t.Fatalf("orders %+v balances %v", orders, balances)
		}
	}
}

// offsetReference applies the rule as doc.go words it, recomputing every net from scratch at each step.
func offsetReference(orders []Order, balances map[string]int64) (settle, stay []OrderID) {
	removed := make([]bool, len(orders))
	for {
		net := map[string]int64{}
		for _, o := range orders {
			net[o.SenderBank] += 0
			net[o.ReceiverBank] += 0
		}
		for b := range net {
			net[b] = balances[b]
		}
		for i, o := range orders {
			if !removed[i] {
				net[o.SenderBank] -= o.AmountRial
				net[o.ReceiverBank] += o.AmountRial
			}
		}
		pick := -1
		worst := ""
		for b, v := range net {
			if v >= 0 {
				continue
			}
			has := false
			for i, o := range orders {
				if !removed[i] && o.SenderBank == b {
					has = true
				}
			}
			if !has {
				continue
			}
			if worst == "" || v < net[worst] || v == net[worst] && b < worst {
				worst = b
			}
		}
		if worst == "" {
			break
		}
		for i, o := range orders {
			if removed[i] || o.SenderBank != worst {
				continue
			}
			if pick < 0 || removeBefore(o, orders[pick]) {
				pick = i
			}
		}
		removed[pick] = true
		stay = append(stay, orders[pick].ID)
	}
	for i, o := range orders {
		if !removed[i] {
			settle = append(settle, o.ID)
		}
	}
	return settle, stay
}

// removeBefore reports whether the rule takes a out before b: lower priority, then later, then greater id.
func removeBefore(a, b Order) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if !a.ReceivedAt.Equal(b.ReceivedAt) {
		return a.ReceivedAt.After(b.ReceivedAt)
	}
	return bytes.Compare(a.ID[:], b.ID[:]) > 0
}

// checkOffset runs Offset and checks it against the reference: the same sets, every order in exactly one,
// and every bank with a balance of zero or more covered after the set.
func checkOffset(t *testing.T, orders []Order, balances map[string]int64) {
	t.Helper()
	settle, stay := Offset(orders, balances)
	wantSettle, wantStay := offsetReference(orders, balances)
	if !slices.Equal(settle, wantSettle) || !slices.Equal(stay, wantStay) {
		t.Errorf("Offset = settle %v, stay %v; reference settle %v, stay %v", short(settle), short(stay), short(wantSettle), short(wantStay))
	}
	if len(settle)+len(stay) != len(orders) {
		t.Errorf("%d + %d ids for %d orders", len(settle), len(stay), len(orders))
	}
	for b, v := range balancesAfter(orders, settle, balances) {
		if v < 0 && balances[b] >= 0 {
			t.Errorf("bank %s at %d after the set", b, v)
		}
	}
}

// balancesAfter applies the orders named in settle to balances.
func balancesAfter(orders []Order, settle []OrderID, balances map[string]int64) map[string]int64 {
	in := map[OrderID]bool{}
	for _, x := range settle {
		in[x] = true
	}
	out := map[string]int64{}
	for _, o := range orders {
		out[o.SenderBank] = balances[o.SenderBank]
		out[o.ReceiverBank] = balances[o.ReceiverBank]
	}
	for _, o := range orders {
		if in[o.ID] {
			out[o.SenderBank] -= o.AmountRial
			out[o.ReceiverBank] += o.AmountRial
		}
	}
	return out
}

func maps2Equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func ids(ns ...uint64) []OrderID {
	out := make([]OrderID, len(ns))
	for i, n := range ns {
		out[i] = id(n)
	}
	return out
}

// short renders ids made by id(n) as their numbers.
func short(xs []OrderID) string {
	s := "["
	for i, x := range xs {
		if i > 0 {
			s += " "
		}
		var n uint64
		for _, b := range x[8:] {
			n = n<<8 | uint64(b)
		}
		s += fmt.Sprint(n)
	}
	return s + "]"
}

// gridlock makes n orders among banks banks, each bank's balance a fraction of what it pays, so that the
// set as a whole is short and the rule must take out a good share of it.
func gridlock(n, banks int, seed uint64) ([]Order, map[string]int64) {
	rng := rand.New(rand.NewPCG(seed, 1404))
	codes := make([]string, banks)
	for i := range codes {
		codes[i] = fmt.Sprintf("%03d", 11+i)
	}
	orders := make([]Order, n)
	pays := map[string]int64{}
	for i := range orders {
		from := rng.IntN(banks)
		to := (from + 1 + rng.IntN(banks-1)) % banks
		// Amounts from 1,000,000 to about 10^11 rial, log-uniform-ish: many small, a few very large.
		amount := int64(1_000_000) << rng.IntN(17)
		amount += rng.Int64N(amount)
		orders[i] = Order{
			ID: id(uint64(i + 1)), Type: TypeInterbank, SenderBank: codes[from], ReceiverBank: codes[to],
			AmountRial: amount, Priority: Priority(1 + rng.IntN(3)), ReceivedAt: epoch.Add(time.Duration(rng.IntN(32_400)) * time.Second),
		}
		pays[codes[from]] += amount
	}
	balances := map[string]int64{}
	for i, c := range codes {
		balances[c] = pays[c] * int64(i%5) / 100 // 0 to 4 % of what it pays
	}
	return orders, balances
}

func TestOffsetGridlock100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 orders")
	}
	orders, balances := gridlock(100_000, 30, 1)
	settle, stay := Offset(orders, balances)
	if len(settle) == 0 || len(stay) == 0 {
		t.Fatalf("settle %d, stay %d: want a gridlock the rule must cut", len(settle), len(stay))
	}
	for b, v := range balancesAfter(orders, settle, balances) {
		if v < 0 {
			t.Errorf("bank %s at %d after the set", b, v)
		}
	}
	t.Logf("%d orders: %d settle, %d stay", len(orders), len(settle), len(stay))
}

// BenchmarkOffset100k decides a 100,000-order gridlock among 30 banks (issue 8: in well under a second).
func BenchmarkOffset100k(b *testing.B) {
	orders, balances := gridlock(100_000, 30, 1)
	b.ReportAllocs()
	for b.Loop() {
		Offset(orders, balances)
	}
	b.ReportMetric(float64(len(orders)), "orders/op")
}
