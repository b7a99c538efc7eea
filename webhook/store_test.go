package webhook

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// memStore is an in-memory Store with postgres.Webhooks' semantics, for the deliverer's tests: endpoints,
// notifications in seq order, a cursor per bank, deliveries unique by (bank, event) and an attempt log. It
// reports every Record on recorded and every Due on rounds.
type memStore struct {
	mu         sync.Mutex
	endpoints  map[string][2]string // bank → url, secret
	events     []memEvent
	cursor     map[string]int64
	deliveries []Delivery // by id: deliveries[i].ID == i+1
	attempts   map[int64][]Attempt
	failRecord int // Record calls still to fail, as if the process stopped before recording

	recorded chan Attempt // every attempt Record accepted
	failed   chan int64   // every Record it failed on purpose
	rounds   chan struct{}
}

type memEvent struct {
	seq                 int64
	id, bank, typ, data string
	at                  time.Time
}

func newMemStore() *memStore {
	return &memStore{endpoints: map[string][2]string{}, cursor: map[string]int64{}, attempts: map[int64][]Attempt{},
		recorded: make(chan Attempt, 1000), failed: make(chan int64, 1000), rounds: make(chan struct{}, 1000)}
}

var _ Store = (*memStore)(nil)

func (s *memStore) setEndpoint(bank, url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.endpoints[bank]; !ok {
		s.cursor[bank] = int64(len(s.events)) // from the registration on
	}
	s.endpoints[bank] = [2]string{url, secret}
}

// notify adds a notification for bank and returns its event id.
func (s *memStore) notify(bank, typ, data string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := int64(len(s.events) + 1)
	id := fmt.Sprintf("0190f3c2-0000-7000-8000-%012x", seq)
	s.events = append(s.events, memEvent{seq: seq, id: id, bank: bank, typ: typ, data: data, at: at})
	return id
}

func (s *memStore) Enqueue(_ context.Context, now time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if n == limit {
			break
		}
		if _, ok := s.endpoints[e.bank]; !ok || e.seq <= s.cursor[e.bank] {
			continue
		}
		s.cursor[e.bank] = e.seq
		s.deliveries = append(s.deliveries, Delivery{ID: int64(len(s.deliveries) + 1), Bank: e.bank, EventID: e.id, EventSeq: e.seq,
			Status: StatusPending, NextAt: now, CreatedAt: now})
		n++
	}
	return n, nil
}

func (s *memStore) Due(_ context.Context, now time.Time, limit int) ([]Delivery, error) {
	defer func() { s.rounds <- struct{}{} }()
	s.mu.Lock()
	defer s.mu.Unlock()
	type ranked struct {
		d    Delivery
		rank int
	}
	var due []ranked
	perBank := map[string]int{}
	for _, d := range s.deliveries {
		if d.Status != StatusPending || d.NextAt.After(now) {
			continue
		}
		e := s.events[d.EventSeq-1]
		d.EventType, d.EventCreatedAt, d.Payload = e.typ, e.at, []byte(e.data)
		d.URL, d.Secret = s.endpoints[d.Bank][0], s.endpoints[d.Bank][1]
		perBank[d.Bank]++
		due = append(due, ranked{d, perBank[d.Bank]})
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].rank < due[j].rank })
	var out []Delivery
	for _, r := range due {
		if len(out) == limit {
			break
		}
		out = append(out, r.d)
	}
	return out, nil
}

func (s *memStore) Record(_ context.Context, id int64, a Attempt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failRecord > 0 {
		s.failRecord--
		s.failed <- id
		return errors.New("memstore: record refused")
	}
	if id < 1 || id > int64(len(s.deliveries)) {
		return fmt.Errorf("memstore: unknown delivery %d", id)
	}
	d := &s.deliveries[id-1]
	d.Attempts++
	a.N = d.Attempts
	if d.Status != StatusDelivered {
		switch a.Outcome {
		case OutcomeRetry:
			d.Status, d.NextAt = StatusPending, a.NextAt
		case StatusDelivered:
			d.Status, d.DeliveredAt = StatusDelivered, a.At
		case StatusFailed:
			d.Status = StatusFailed
		default:
			return fmt.Errorf("memstore: outcome %q", a.Outcome)
		}
	}
	d.LastStatus, d.LastError = a.StatusCode, a.Error
	s.attempts[id] = append(s.attempts[id], a)
	s.recorded <- a
	return nil
}

func (s *memStore) delivery(id int64) (Delivery, []Attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries[id-1], append([]Attempt(nil), s.attempts[id]...)
}
