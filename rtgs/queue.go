package rtgs

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Limits of the liquidity queue.
const (
	// QueueOrdersMax bounds the orders the queue holds: twice the 100,000-order gridlock of the issue's
	// benchmark, room for a day's backlog of every bank short at once, and small enough that a snapshot
	// (Queue.Orders) or an offsetting pass over all of it stays in the tens of milliseconds.
	QueueOrdersMax = 200_000
	// QueuedRialMax bounds the sum of the amounts queued, 4 × 10^18 rial (about 2^61.8): a balance capped
	// at a bank's queued payments plus every queued payment it receives then stays below int64's 9.2 × 10^18,
	// so Offset's nets never overflow. No day of real payments comes near it.
	QueuedRialMax int64 = 4_000_000_000_000_000_000
)

// Errors of Queue.Add. ErrQueueFull is the order's rejection CodeQueueFull; the others are the caller's bugs.
var (
	ErrQueueFull      = errors.New("rtgs: liquidity queue full")
	ErrDuplicateOrder = errors.New("rtgs: order already queued")
	ErrInvalidOrder   = errors.New("rtgs: order cannot be queued")
)

// Queue holds the orders waiting for their senders' liquidity (DOMAIN.md §4): accepted, due, short of funds.
// Each sender has a queue of its own, in order of priority (urgent, high, normal), then first in, first out
// by ReceivedAt (ties by ID, bytewise) — an order's place depends only on the order, never on when it was
// added, so a queue rebuilt after a restart from the stored orders is the same queue. Release says which
// orders can settle now (doc.go, "The liquidity queue"); Offset resolves a gridlock; CancelAll empties it at
// the end of day.
//
// A Queue is not safe for concurrent use: the writer that owns the balances owns it (ARCHITECTURE.md, "Rails
// decide inside the writer"). It never reads balances itself: they are passed in.
type Queue struct {
	senders   map[string]*senderQueue
	where     map[OrderID]string // the sender whose queue holds the order
	n         int
	totalRial int64
	ordersMax int // QueueOrdersMax; smaller in tests
}

// senderQueue is one sender's orders: a lane per priority, each in (ReceivedAt, ID) order.
type senderQueue struct {
	lanes [priorityCount][]Order
}

// NewQueue returns an empty queue.
func NewQueue() *Queue {
	return &Queue{senders: map[string]*senderQueue{}, where: map[OrderID]string{}, ordersMax: QueueOrdersMax}
}

// Len returns the number of orders queued.
func (q *Queue) Len() int { return q.n }

// TotalRial returns the sum of the amounts queued.
func (q *Queue) TotalRial() int64 { return q.totalRial }

// fifoCompare orders two orders of one lane: first received first, ties by ID.
func fifoCompare(a, b *Order) int {
	if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// Add queues o. It fails with ErrQueueFull when the queue holds QueueOrdersMax orders or o would take it past
// QueuedRialMax (the wiring then rejects o with CodeQueueFull), with ErrDuplicateOrder when o's ID is queued,
// and with ErrInvalidOrder when o could not have passed Validate (zero ID, no sender, a bad priority, an
// amount outside 1..rulebook.AmountRialMax).
func (q *Queue) Add(o Order) error {
	switch {
	case o.ID.IsZero() || o.SenderBank == "" || o.ReceiverBank == "" || !o.Priority.Valid():
		return fmt.Errorf("%w: %s: zero id, no sender or receiver, or priority %s", ErrInvalidOrder, o.ID, o.Priority)
	case o.AmountRial <= 0 || o.AmountRial > QueuedRialMax:
		return fmt.Errorf("%w: %s: amount %d", ErrInvalidOrder, o.ID, o.AmountRial)
	}
	if _, ok := q.where[o.ID]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicateOrder, o.ID)
	}
	if q.n >= q.ordersMax || o.AmountRial > QueuedRialMax-q.totalRial {
		return fmt.Errorf("%w: %d orders, %s queued", ErrQueueFull, q.n, formatRial(q.totalRial))
	}
	s := q.senders[o.SenderBank]
	if s == nil {
		s = &senderQueue{}
		q.senders[o.SenderBank] = s
	}
	lane := &s.lanes[o.Priority-1]
	i, _ := slices.BinarySearchFunc(*lane, &o, func(e Order, t *Order) int { return fifoCompare(&e, t) })
	*lane = slices.Insert(*lane, i, o)
	q.where[o.ID] = o.SenderBank
	q.n++
	q.totalRial += o.AmountRial
	return nil
}

// Get returns the queued order id, if it is queued.
func (q *Queue) Get(id OrderID) (Order, bool) {
	sender, ok := q.where[id]
	if !ok {
		return Order{}, false
	}
	for _, lane := range q.senders[sender].lanes {
		for _, o := range lane {
			if o.ID == id {
				return o, true
			}
		}
	}
	panic("rtgs: queue index names an order no lane holds")
}

// Revoke takes the order id out of the queue, at its sender's request, and returns it; false when it is not
// queued (the wiring answers from the order's status: Revoke(status)).
func (q *Queue) Revoke(id OrderID) (Order, bool) {
	sender, ok := q.where[id]
	if !ok {
		return Order{}, false
	}
	s := q.senders[sender]
	for p := range s.lanes {
		if i := slices.IndexFunc(s.lanes[p], func(o Order) bool { return o.ID == id }); i >= 0 {
			o := s.lanes[p][i]
			s.lanes[p] = slices.Delete(s.lanes[p], i, i+1)
			q.forget(o)
			q.dropIfEmpty(sender)
			return o, true
		}
	}
	panic("rtgs: queue index names an order no lane holds")
}

// forget updates the counts and the index for an order leaving the queue.
func (q *Queue) forget(o Order) {
	delete(q.where, o.ID)
	q.n--
	q.totalRial -= o.AmountRial
}

func (q *Queue) dropIfEmpty(sender string) {
	s := q.senders[sender]
	for _, lane := range s.lanes {
		if len(lane) > 0 {
			return
		}
	}
	delete(q.senders, sender)
}

// senderCodes returns the senders with queued orders, by bank code.
func (q *Queue) senderCodes() []string { return slices.Sorted(maps.Keys(q.senders)) }

// Orders returns every queued order, by sender's bank code, then in each sender's queue order: the operator's
// view, and the input of Offset.
func (q *Queue) Orders() []Order {
	out := make([]Order, 0, q.n)
	for _, code := range q.senderCodes() {
		for _, lane := range q.senders[code].lanes {
			out = append(out, lane...)
		}
	}
	return out
}

// Release takes out of the queue, and returns, the orders that can settle now, in the order they are to
// settle: each is covered by its sender's balance after every order before it in the list, when balance
// gives each bank's settlement balance before the first. The rule (doc.go, "The liquidity queue"):
//
//   - Within a sender, urgent orders are tried first, then high, then normal. Urgent and high orders keep
//     strict FIFO: the first one its sender cannot cover stops that sender's release, and nothing behind it —
//     of its own priority or lower — overtakes it. Normal orders are tried only once no urgent or high order
//     of their sender waits, by FIFO-bypass: in FIFO order, each that the running balance covers is released
//     and each that it does not is skipped, so a smaller later order may overtake a larger earlier one.
//   - Senders are taken in order of bank code. A released order debits its sender's running balance and
//     credits its receiver's, so a payment can free the receiver's own queue: passes over the senders whose
//     balance rose repeat until one releases nothing.
//
// balance is called at most once per bank. Orders are released gross, one by one; what no sender can cover
// alone is a gridlock for Offset.
func (q *Queue) Release(balance func(bank string) int64) []Order {
	running := map[string]int64{}
	get := func(bank string) int64 {
		v, ok := running[bank]
		if !ok {
			v = balance(bank)
			running[bank] = v
		}
		return v
	}
	var out []Order
	dirty := map[string]bool{}
	for code := range q.senders {
		dirty[code] = true
	}
	for len(dirty) > 0 {
		pass := slices.Sorted(maps.Keys(dirty))
		clear(dirty)
		for _, code := range pass {
			s := q.senders[code]
			if s == nil {
				continue
			}
			var released []Order
			running[code], released = s.release(get(code), released)
			for _, o := range released {
				q.forget(o)
				if o.ReceiverBank != code {
					running[o.ReceiverBank] = get(o.ReceiverBank) + o.AmountRial
					if _, ok := q.senders[o.ReceiverBank]; ok {
						dirty[o.ReceiverBank] = true
					}
				} else {
					running[code] += o.AmountRial
				}
			}
			out = append(out, released...)
			q.dropIfEmpty(code)
		}
	}
	return out
}

// release applies the rule of Release to one sender with balance b, appending what it releases to out, and
// returns the balance left.
func (s *senderQueue) release(b int64, out []Order) (int64, []Order) {
	if b <= 0 {
		return b, out // every amount is at least 1
	}
	for p := PriorityUrgent; p < PriorityNormal; p++ {
		lane := s.lanes[p-1]
		i := 0
		for i < len(lane) && lane[i].AmountRial <= b {
			b -= lane[i].AmountRial
			out = append(out, lane[i])
			i++
		}
		s.lanes[p-1] = slices.Delete(lane, 0, i)
		if len(s.lanes[p-1]) > 0 {
			return b, out // blocked: strict FIFO, lower priorities wait
		}
	}
	lane := s.lanes[PriorityNormal-1]
	keep := lane[:0]
	for _, o := range lane {
		if o.AmountRial <= b {
			b -= o.AmountRial
			out = append(out, o)
		} else {
			keep = append(keep, o)
		}
	}
	clear(lane[len(keep):]) // drop the released orders' memory
	s.lanes[PriorityNormal-1] = keep
	return b, out
}

// Take takes the orders ids names out of the queue and returns them in queue order (as Orders lists them);
// ids not queued are ignored. The wiring uses it for an offsetting set it settles (Queue.Offset does it in
// one step).
func (q *Queue) Take(ids []OrderID) []Order {
	want := make(map[OrderID]bool, len(ids))
	senders := map[string]bool{}
	for _, id := range ids {
		if sender, ok := q.where[id]; ok {
			want[id] = true
			senders[sender] = true
		}
	}
	var out []Order
	for _, code := range slices.Sorted(maps.Keys(senders)) {
		s := q.senders[code]
		for p := range s.lanes {
			lane := s.lanes[p]
			keep := lane[:0]
			for _, o := range lane {
				if want[o.ID] {
					out = append(out, o)
					q.forget(o)
				} else {
					keep = append(keep, o)
				}
			}
			clear(lane[len(keep):])
			s.lanes[p] = keep
		}
		q.dropIfEmpty(code)
	}
	return out
}

// Offset resolves the gridlock of every queued order with Offset (balances as there), takes the set that
// settles out of the queue and returns it, in queue order. The wiring applies the set as one netted chain;
// the orders that stay keep their places.
func (q *Queue) Offset(balances map[string]int64) []Order {
	settle, _ := Offset(q.Orders(), balances)
	return q.Take(settle)
}

// RemoveBank takes out of the queue, and returns in queue order, every order sent by or to bank: when the
// operator suspends a bank, its queued orders are refused (CodeSenderBankSuspended or
// CodeReceiverBankSuspended, status rejected) rather than left waiting for a bank that cannot settle.
func (q *Queue) RemoveBank(bank string) []Order {
	var ids []OrderID
	for _, o := range q.Orders() {
		if o.SenderBank == bank || o.ReceiverBank == bank {
			ids = append(ids, o.ID)
		}
	}
	return q.Take(ids)
}

// CancelAll empties the queue at the end of day and returns every order it held, in queue order (as Orders
// lists them). Each is cancelled with CodeInsufficientLiquidityAtCutoff: the wiring moves it to
// StatusCancelledEOD and tells its sender why.
func (q *Queue) CancelAll() []Order {
	out := q.Orders()
	clear(q.senders)
	clear(q.where)
	q.n, q.totalRial = 0, 0
	return out
}
