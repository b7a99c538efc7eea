package rtgs

import (
	"errors"
	"fmt"
	"time"

	"github.com/tasvieh/tasvieh/calendar"
	"github.com/tasvieh/tasvieh/rulebook"
)

// ErrNotReturnable is returned by NewReturn for an order that cannot be returned: an interbank order (it
// credits no customer), a return itself, or one whose return fee takes its whole amount.
var ErrNotReturnable = errors.New("rtgs: order cannot be returned")

// Cutoff returns the cut-off of an order of type t in profile p: an order received at or after it settles on
// the next business day.
func Cutoff(t Type, p rulebook.Profile) rulebook.ClockTime {
	if t == TypeInterbank {
		return p.SATNAInterbankCutoff
	}
	return p.SATNACustomerCutoff
}

// Schedule says when an accepted order may settle, seen at now (the order's ReceivedAt when it arrives).
// Its settlement day is the first business day on or after
//
//   - its effective date, when that is after now's day (a future-dated order);
//   - else now's day, when that is a business day and now is before the order's cut-off (SATNACustomerCutoff,
//     14:30, or SATNAInterbankCutoff, 15:00);
//   - else the day after now's day (at or after the cut-off, or on a Friday or holiday).
//
// If that day is now's and now is at or after SATNAOpen (06:00), the order is due at once: settleAfter is
// now and warehoused false. Otherwise it is warehoused until that day opens: settleAfter is SATNAOpen on
// that day, in Tehran, and warehoused true. Days are Tehran days (calendar.DateOf). A search that reaches a
// Jalali year with no holiday table is an error wrapping calendar.ErrNoTable, never "no holiday".
func Schedule(o Order, now time.Time, p rulebook.Profile, cal *calendar.Calendar) (settleAfter time.Time, warehoused bool, err error) {
	if cal == nil {
		return time.Time{}, false, fmt.Errorf("%w: Schedule needs a calendar", ErrEnv)
	}
	today := calendar.DateOf(now)
	from := today
	if o.EffectiveDate.After(today) {
		from = o.EffectiveDate
	} else {
		open, _, err := cal.IsBusinessDay(today)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("rtgs: schedule order %s: %w", o.ID, err)
		}
		if open && !now.Before(Cutoff(o.Type, p).On(today)) {
			from = today.AddDays(1)
		}
	}
	day, err := cal.NextBusinessDay(from)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("rtgs: schedule order %s: %w", o.ID, err)
	}
	opens := p.SATNAOpen.On(day)
	if day == today && !now.Before(opens) {
		return now, false, nil
	}
	return opens, true, nil
}

// ReturnDeadline is the last instant at which the receiving bank may return an order settled at settledAt:
// SATNAEndOfDay (16:00) on the SATNAReturnDeadlineBusinessDays-th business day after the day of settledAt
// (calendar.AddBusinessDays: with the seed's 1, "by the end of the next business day"; with 0, the end of the
// business day of settlement). Until then a silent external bank's order stays settled; at it the order is
// final at the receiving bank. Errors wrap calendar.ErrNoTable when the count runs into a year with no table.
func ReturnDeadline(settledAt time.Time, p rulebook.Profile, cal *calendar.Calendar) (time.Time, error) {
	if cal == nil {
		return time.Time{}, fmt.Errorf("%w: ReturnDeadline needs a calendar", ErrEnv)
	}
	day, err := cal.AddBusinessDays(calendar.DateOf(settledAt), p.SATNAReturnDeadlineBusinessDays)
	if err != nil {
		return time.Time{}, fmt.Errorf("rtgs: return deadline: %w", err)
	}
	return p.SATNAEndOfDay.On(day), nil
}

// EndOfDay returns the instant SATNA's business day d ends in profile p: SATNAEndOfDay (16:00) on d, in
// Tehran. At it the wiring cancels what the queue still holds (Queue.CancelAll).
func EndOfDay(d calendar.Date, p rulebook.Profile) time.Time { return p.SATNAEndOfDay.On(d) }

// ReturnAmount splits amount, the amount of an order being returned, into what goes back to the sender and
// the return fee (rulebook.Profile.SATNAReturnFee, a flat 50,000 rial in the shipped profiles) the returning
// bank keeps. The fee is cut to the amount, so neither part is ever negative: when the fee would exceed the
// amount the whole amount is the fee and nothing goes back (NewReturn then refuses to make a return order).
// With the shipped profiles that never happens to a customer order, whose minimum is thousands of times the
// fee. amount must not be negative.
func ReturnAmount(amount int64, p rulebook.Profile) (returnRial, feeRial int64) {
	fee := min(p.SATNAReturnFee.For(amount), amount)
	return amount - fee, fee
}

// NewReturn makes the return of orig, a settled customer order its receiving bank cannot credit: an order
// the other way, from orig's receiver to its sender, payee to payer, of ReturnAmount(orig.AmountRial), with
// ReturnOf naming orig, the returning bank's reference, reason as its description, received at, and priority
// high, so that it goes ahead of the returning bank's normal orders and its deadline is not missed for want
// of liquidity (the returned funds are in that bank's suspense, not on the payee's account). It pays no SATNA
// fee and the minimum does not apply (Validate). The caller checks the deadline (ReturnDeadline) and
// validates the result like any order. An interbank order (no customer to credit), a return, or an order
// whose fee takes the whole amount is refused with ErrNotReturnable.
func NewReturn(orig Order, id OrderID, reference, reason string, at time.Time, p rulebook.Profile) (Order, error) {
	switch {
	case orig.Type != TypeCustomer:
		return Order{}, fmt.Errorf("%w: %s is a %s order, which credits no customer", ErrNotReturnable, orig.ID, orig.Type)
	case orig.IsReturn():
		return Order{}, fmt.Errorf("%w: %s is itself the return of %s", ErrNotReturnable, orig.ID, orig.ReturnOf)
	case orig.AmountRial <= 0:
		return Order{}, fmt.Errorf("%w: %s has amount %d", ErrNotReturnable, orig.ID, orig.AmountRial)
	}
	amount, fee := ReturnAmount(orig.AmountRial, p)
	if amount == 0 {
		return Order{}, fmt.Errorf("%w: the return fee %s takes the whole amount of %s", ErrNotReturnable, formatRial(fee), orig.ID)
	}
	return Order{
		ID:           id,
		Type:         TypeCustomer,
		SenderBank:   orig.ReceiverBank,
		ReceiverBank: orig.SenderBank,
		PayerSHEBA:   orig.PayeeSHEBA,
		PayerName:    orig.PayeeName,
		PayeeSHEBA:   orig.PayerSHEBA,
		PayeeName:    orig.PayerName,
		AmountRial:   amount,
		Description:  reason,
		Reference:    reference,
		Priority:     PriorityHigh,
		ReceivedAt:   at,
		ReturnOf:     orig.ID,
	}, nil
}
