package server

import (
	"context"
	"io"

	"github.com/tasvieh/tasvieh/ach"
	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/postgres"
)

// delivery writes what a cycle handed bank (its entries as receiving bank: posted, returned, or awaiting its
// answer) as CSV (ach.WriteDeliveryCSV, streamed a page at a time) or NACHA (ach.WriteDeliveryNACHA: the CBI's
// files to the bank; more than ach.NACHAFileEntriesDefault entries make several files, one after the other, each
// whole, so a bank reads them in turn).
func (p *paya) delivery(ctx context.Context, bank, id, format string, w io.Writer) error {
	cut, err := parseCycleID(id)
	if err != nil {
		return err
	}
	rec, found, err := p.cycleRow(ctx, id)
	if err != nil {
		return err
	}
	if !found || (rec.Status != payaStageDone && rec.Status != payaStageDelivering) {
		return api.Errorf(api.CodeDeliveryMissing, "cycle %s has not delivered yet", id)
	}
	statuses := []string{"delivered", "posted", "returned"}
	after, buf, done := "", []ach.Delivered(nil), false
	next := func() (ach.Delivered, bool, error) {
		for len(buf) == 0 && !done {
			rows, err := postgres.PAYAEntries(ctx, p.s.pool, id, bank, statuses, after, postgres.RailObjectsMax)
			if err != nil {
				return ach.Delivered{}, false, err
			}
			done = len(rows) < postgres.RailObjectsMax
			for _, row := range rows {
				after = row.ID
				r, err := payaFromRow(row)
				if err != nil {
					return ach.Delivered{}, false, err
				}
				buf = append(buf, deliveredOf(r))
			}
		}
		if len(buf) == 0 {
			return ach.Delivered{}, false, nil
		}
		d := buf[0]
		buf = buf[1:]
		return d, true, nil
	}
	switch format {
	case "", "csv":
		_, err := ach.WriteDeliveryCSV(w, id, rec.Jalali, next)
		return err
	case "nacha":
		// A file at a time: moov-io/ach's writer holds a whole file, so memory is that of
		// ach.NACHAFileEntriesDefault entries, whatever the delivery's size.
		all := make([]ach.Delivered, 0, ach.NACHAFileEntriesDefault)
		files := 0
		for {
			d, ok, err := next()
			if err != nil {
				return err
			}
			if ok {
				all = append(all, d)
			}
			if len(all) == ach.NACHAFileEntriesDefault || (!ok && len(all) > 0) {
				if _, err := ach.WriteDeliveryNACHA(func(int) (io.Writer, error) { return w, nil }, cut, bank, all); err != nil {
					return err
				}
				files++
				all = all[:0]
			}
			if !ok {
				break
			}
		}
		if files == 0 {
			return api.Errorf(api.CodeDeliveryMissing, "cycle %s delivered nothing to %s", id, bank)
		}
		return nil
	}
	return api.FieldErrorf("format", "format %q: want csv or nacha", format)
}

// deliveredOf is an entry as a delivery file carries it.
func deliveredOf(r payaRecord) ach.Delivered {
	core, _ := ach.ParseCore(r.Core)
	d := ach.Delivered{ID: r.ID, Core: core, OriginatingBank: r.OriginatingBank, ReceivingBank: r.ReceivingBank,
		PayerSHEBA: r.PayerSHEBA, PayerName: r.PayerName, PayeeSHEBA: r.PayeeSHEBA, PayeeName: r.PayeeName,
		AmountRial: r.AmountRial, Description: r.Description, Reference: r.Reference, MandateID: r.MandateID}
	if r.ReturnOf != "" {
		d.ReturnOf = r.ReturnOf
		d.ReturnCode, _ = ach.ParseReturnCode(r.ReturnCode)
	}
	return d
}
