package server

import (
	"context"
	"strconv"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/postgres"
	"github.com/tasvieh/tasvieh/scheduler"
	"github.com/tasvieh/tasvieh/webhook"
)

// The adapters meet by method shape: postgres implements the storage the scheduler and the deliverer define.
var (
	_ scheduler.Runs = (*postgres.JobRuns)(nil)
	_ webhook.Store  = (*postgres.Webhooks)(nil)
)

func delivery(d postgres.WebhookDelivery) api.Delivery {
	out := api.Delivery{ID: strconv.FormatInt(d.ID, 10), EventID: d.EventID, EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError}
	if !d.NextAt.IsZero() && d.Status == "pending" {
		t := d.NextAt.In(calendar.Tehran)
		out.NextAt = &t
	}
	if !d.DeliveredAt.IsZero() {
		t := d.DeliveredAt.In(calendar.Tehran)
		out.DeliveredAt = &t
	}
	return out
}

// oneDelivery finds a bank's delivery by id in its log (the log pages by id, so the page after id-1 starts
// with it when it is the bank's).
func (s *Server) oneDelivery(ctx context.Context, bank string, id int64) (postgres.WebhookDelivery, bool, error) {
	ds, err := s.hooks.Deliveries(ctx, bank, id-1, 1)
	if err != nil || len(ds) == 0 || ds[0].ID != id {
		return postgres.WebhookDelivery{}, false, err
	}
	return ds[0], true, nil
}
