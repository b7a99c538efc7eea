package rtgs

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// newQueue queues orders, failing the test on an error.
func newQueue(t testing.TB, orders ...Order) *Queue {
	t.Helper()
	q := NewQueue()
	for _, o := range orders {
		if err := q.Add(o); err != nil {
			t.Fatalf("Add(%s): %v", o.ID, err)
		}
	}
	return q
}

func orderIDs(orders []Order) []OrderID {
	out := make([]OrderID, len(orders))
	for i, o := range orders {
		out[i] = o.ID
	}
	return out
}

func TestQueueOrder(t *testing.T) {
	// Added out of order; Orders lists them by sender code, then priority, then ReceivedAt, then id.
	o := func(n uint64, from string, p Priority, minute int) Order {
		x := queued(n, from, "017", 10, p)
		x.ReceivedAt = epoch.Add(time.Duration(minute) * time.Minute)
		return x
	}
	q := newQueue(t,
		o(1, "054", PriorityNormal, 1),
		o(2, "012", PriorityNormal, 5),
		o(3, "054", PriorityUrgent, 9),
		o(4, "012", PriorityHigh, 7),
		o(5, "012", PriorityNormal, 2),
		o(6, "054", PriorityNormal, 1), // same time as 1: after it, by id
		o(7, "012", PriorityUrgent, 8),
		o(8, "054", PriorityHigh, 0),
	)
	if got, want := orderIDs(q.Orders()), ids(7, 4, 5, 2, 3, 8, 1, 6); !slices.Equal(got, want) {
		t.Errorf("Orders = %v, want %v", short(got), short(want))
	}
	if q.Len() != 8 || q.TotalRial() != 80 {
		t.Errorf("Len %d, TotalRial %d", q.Len(), q.TotalRial())
	}
	if got, ok := q.Get(id(6)); !ok || got.ID != id(6) {
		t.Errorf("Get(6) = %v, %v", got.ID, ok)
	}
	if _, ok := q.Get(id(60)); ok {
		t.Errorf("Get(60) found")
	}
}

func TestQueueRelease(t *testing.T) {
	tests := []struct {
		name     string
		orders   []Order
		balances map[string]int64
		want     []OrderID // released, in order
		wantLeft []OrderID
	}{
		{"urgent keeps FIFO: a large head blocks all its sender's orders", []Order{
			queued(1, "054", "017", 150, PriorityUrgent),
			queued(2, "054", "017", 50, PriorityUrgent),
			queued(3, "054", "017", 10, PriorityNormal),
		}, map[string]int64{"054": 100}, nil, ids(1, 2, 3)},
		{"high keeps FIFO too; normal waits for it", []Order{
			queued(1, "054", "017", 30, PriorityUrgent),
			queued(2, "054", "017", 100, PriorityHigh),
			queued(3, "054", "017", 5, PriorityHigh),
			queued(4, "054", "017", 5, PriorityNormal),
		}, map[string]int64{"054": 100}, ids(1), ids(2, 3, 4)},
		{"normal by FIFO-bypass: a smaller later order overtakes", []Order{
			queued(1, "054", "017", 150, PriorityNormal),
			queued(2, "054", "017", 50, PriorityNormal),
			queued(3, "054", "017", 60, PriorityNormal),
			queued(4, "054", "017", 20, PriorityNormal),
		}, map[string]int64{"054": 120}, ids(2, 3), ids(1, 4)},
		{"urgent, high, then normal once they are all out", []Order{
			queued(1, "054", "017", 10, PriorityNormal),
			queued(2, "054", "017", 10, PriorityHigh),
			queued(3, "054", "017", 10, PriorityUrgent),
		}, map[string]int64{"054": 30}, ids(3, 2, 1), nil},
		{"a payment frees its receiver's queue, in a later pass", []Order{
			queued(1, "054", "012", 100, PriorityNormal), // 054 is taken after 012: 012 waits for the next pass
			queued(2, "012", "017", 80, PriorityUrgent),
		}, map[string]int64{"054": 100}, ids(1, 2), nil},
		{"a chain in code order, in one pass", []Order{
			queued(1, "012", "015", 100, PriorityNormal),
			queued(2, "015", "017", 100, PriorityNormal),
			queued(3, "017", "054", 100, PriorityNormal),
		}, map[string]int64{"012": 100}, ids(1, 2, 3), nil},
		{"a gridlock no sender can break alone stays", []Order{
			queued(1, "012", "015", 100, PriorityNormal),
			queued(2, "015", "012", 100, PriorityNormal),
		}, nil, nil, ids(1, 2)},
		{"exactly the balance", []Order{queued(1, "012", "015", 100, PriorityUrgent)}, map[string]int64{"012": 100}, ids(1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(t, tt.orders...)
			calls := map[string]int{}
			got := q.Release(func(bank string) int64 { calls[bank]++; return tt.balances[bank] })
			if !slices.Equal(orderIDs(got), tt.want) {
				t.Errorf("Release = %v, want %v", short(orderIDs(got)), short(tt.want))
			}
			if left := orderIDs(q.Orders()); !slices.Equal(left, tt.wantLeft) {
				t.Errorf("left = %v, want %v", short(left), short(tt.wantLeft))
			}
			for b, n := range calls {
				if n > 1 {
					t.Errorf("balance(%s) called %d times", b, n)
				}
			}
		})
	}
}

// TestQueueReleaseProperty: on random queues, what Release returns replays gross without a negative balance,
// and what it leaves is what the rule cannot release.
func TestQueueReleaseProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1404))
	codes := []string{"012", "015", "017", "054"}
	for range 2000 {
		q := NewQueue()
		balances := map[string]int64{}
		for _, c := range codes {
			balances[c] = rng.Int64N(100)
		}
		for i := range rng.IntN(20) {
			from := rng.IntN(len(codes))
			to := (from + 1 + rng.IntN(len(codes)-1)) % len(codes)
			o := queued(uint64(i+1), codes[from], codes[to], 1+rng.Int64N(60), Priority(1+rng.IntN(3)))
			o.ReceivedAt = epoch.Add(time.Duration(rng.IntN(5)) * time.Minute)
			if err := q.Add(o); err != nil {
				t.Fatal(err)
			}
		}
		before := q.Len()
		released := q.Release(func(b string) int64 { return balances[b] })
		run := maps2Clone(balances)
		for _, o := range released {
			run[o.SenderBank] -= o.AmountRial
			if run[o.SenderBank] < 0 {
				t.Fatalf("%s released with %s at %d", o.ID, o.SenderBank, run[o.SenderBank])
			}
			run[o.ReceiverBank] += o.AmountRial
		}
		if len(released)+q.Len() != before {
			t.Fatalf("%d released + %d left != %d", len(released), q.Len(), before)
		}
		// A fixed point: nothing left can be released on the balances after.
		if again := q.Release(func(b string) int64 { return run[b] }); len(again) > 0 {
			t.Fatalf("a second Release freed %v", short(orderIDs(again)))
		}
	}
}

func maps2Clone(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestQueueAdd(t *testing.T) {
	q := newQueue(t, queued(1, "012", "015", 10, PriorityNormal))
	if err := q.Add(queued(1, "012", "015", 10, PriorityNormal)); !errors.Is(err, ErrDuplicateOrder) {
		t.Errorf("repeat: %v", err)
	}
	for _, o := range []Order{
		queued(0, "012", "015", 10, PriorityNormal),
		queued(2, "", "015", 10, PriorityNormal),
		queued(3, "012", "015", 0, PriorityNormal),
		queued(4, "012", "015", 10, 0),
	} {
		if err := q.Add(o); !errors.Is(err, ErrInvalidOrder) {
			t.Errorf("Add(%+v) = %v, want ErrInvalidOrder", o, err)
		}
	}
	q.ordersMax = 2
	if err := q.Add(queued(5, "012", "015", 10, PriorityNormal)); err != nil {
		t.Fatal(err)
	}
	if err := q.Add(queued(6, "012", "015", 10, PriorityNormal)); !errors.Is(err, ErrQueueFull) {
		t.Errorf("third order in a queue of 2: %v", err)
	}
	q.ordersMax = QueueOrdersMax
	if err := q.Add(queued(7, "012", "015", QueuedRialMax-19, PriorityNormal)); !errors.Is(err, ErrQueueFull) {
		t.Errorf("past QueuedRialMax: %v", err)
	}
	if err := q.Add(queued(8, "012", "015", QueuedRialMax-20, PriorityNormal)); err != nil {
		t.Errorf("up to QueuedRialMax: %v", err)
	}
	if q.TotalRial() != QueuedRialMax {
		t.Errorf("TotalRial = %d", q.TotalRial())
	}
}

func TestQueueRemovals(t *testing.T) {
	orders := []Order{
		queued(1, "012", "015", 10, PriorityNormal),
		queued(2, "015", "017", 20, PriorityHigh),
		queued(3, "017", "054", 30, PriorityUrgent),
		queued(4, "054", "012", 40, PriorityNormal),
	}
	q := newQueue(t, orders...)
	if o, ok := q.Revoke(id(2)); !ok || o.ID != id(2) {
		t.Errorf("Revoke(2) = %v, %v", o.ID, ok)
	}
	if _, ok := q.Revoke(id(2)); ok {
		t.Errorf("Revoke(2) twice")
	}
	if got := orderIDs(q.RemoveBank("054")); !slices.Equal(got, ids(3, 4)) {
		t.Errorf("RemoveBank(054) = %v", short(got))
	}
	if got := orderIDs(q.Take(ids(9, 1))); !slices.Equal(got, ids(1)) {
		t.Errorf("Take = %v", short(got))
	}
	if q.Len() != 0 || q.TotalRial() != 0 || len(q.senders) != 0 {
		t.Errorf("after all: Len %d, TotalRial %d, senders %d", q.Len(), q.TotalRial(), len(q.senders))
	}

	q = newQueue(t, orders...)
	if got := orderIDs(q.CancelAll()); !slices.Equal(got, ids(1, 2, 3, 4)) {
		t.Errorf("CancelAll = %v", short(got))
	}
	if q.Len() != 0 || q.TotalRial() != 0 || len(q.Orders()) != 0 {
		t.Errorf("after CancelAll: %d orders", q.Len())
	}
	if err := q.Add(orders[0]); err != nil {
		t.Errorf("Add after CancelAll: %v", err)
	}
}

// TestQueueOffset: a three-bank gridlock with nothing on account leaves the queue as one set; a fourth order
// that would leave its bank short stays.
func TestQueueOffset(t *testing.T) {
	q := newQueue(t,
		queued(1, "012", "015", 100, PriorityNormal),
		queued(2, "015", "017", 100, PriorityNormal),
		queued(3, "017", "012", 100, PriorityNormal),
		queued(4, "017", "054", 5, PriorityNormal),
	)
	if got := q.Release(func(string) int64 { return 0 }); len(got) != 0 {
		t.Fatalf("Release freed %v from a gridlock", short(orderIDs(got)))
	}
	if got := orderIDs(q.Offset(nil)); !slices.Equal(got, ids(1, 2, 3)) {
		t.Errorf("Offset settles %v, want [1 2 3]", short(got))
	}
	if got := orderIDs(q.Orders()); !slices.Equal(got, ids(4)) {
		t.Errorf("left %v, want [4]", short(got))
	}
}

func BenchmarkQueueRelease(b *testing.B) {
	orders, balances := gridlock(10_000, 30, 2)
	for b.Loop() {
		b.StopTimer()
		q := newQueue(b, orders...)
		b.StartTimer()
		q.Release(func(bank string) int64 { return balances[bank] * 20 })
	}
}
