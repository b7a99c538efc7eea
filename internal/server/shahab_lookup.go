package server

import (
	"context"

	"github.com/tasvieh/tasvieh/postgres"
)

// The repeat look-up of SHAHAB's submissions, batched. Every submission first asks whether its transfer
// (its id derived from the bank and its reference) is stored already; one query per submission was most of
// the database's time under load (`tasvieh bench shahab`, pg_stat_statements: some 9 ms a call at 4,000
// callers), so the ids waiting at the moment are looked up together, in one query of up to
// shahabLookupBatchMax ids, with at most shahabLookupsInFlight queries at once.
const (
	// shahabLookupBatchMax bounds one look-up query's ids: a batch of the switch's decisions.
	shahabLookupBatchMax = shahabBatchMax
	// shahabLookupsInFlight bounds the look-up queries running at once: one gathering while one runs keeps
	// the database busy without taking the writer's connections from it.
	shahabLookupsInFlight = 2
)

type lookupReq struct {
	id   string
	done chan lookupRes
}

type lookupRes struct {
	row postgres.ShahabRow
	ok  bool
	err error
}

// lookup is r.get through the batched look-up.
func (r *shahabRail) lookup(ctx context.Context, id string) (postgres.ShahabRow, bool, error) {
	q := &lookupReq{id: id, done: make(chan lookupRes, 1)}
	select {
	case r.lookups <- q:
	case <-ctx.Done():
		return postgres.ShahabRow{}, false, ctx.Err()
	case <-r.ctx.Done():
		return r.get(ctx, id) // the switch is stopping: ask alone
	}
	select {
	case res := <-q.done:
		return res.row, res.ok, res.err
	case <-ctx.Done():
		return postgres.ShahabRow{}, false, ctx.Err()
	}
}

// lookupLoop answers the look-ups, as many at once as are waiting, until ctx ends.
func (r *shahabRail) lookupLoop(ctx context.Context) {
	sem := make(chan struct{}, shahabLookupsInFlight)
	for {
		var first *lookupReq
		select {
		case first = <-r.lookups:
		case <-ctx.Done():
			return
		}
		batch := gather(first, r.lookups, shahabLookupBatchMax)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for _, q := range batch {
				q.done <- lookupRes{err: ctx.Err()}
			}
			return
		}
		go func() {
			defer func() { <-sem }()
			ids := make([]string, len(batch))
			for i, q := range batch {
				ids[i] = q.id
			}
			rows, err := postgres.ShahabByIDs(ctx, r.s.pool, ids)
			found := make(map[string]postgres.ShahabRow, len(rows))
			for _, row := range rows {
				found[row.ID] = row
			}
			for _, q := range batch {
				row, ok := found[q.id]
				q.done <- lookupRes{row: row, ok: ok, err: err}
			}
		}()
	}
}
