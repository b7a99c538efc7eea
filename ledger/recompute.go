package ledger

import (
	"errors"
	"fmt"
)

// ErrAudit is wrapped by Recompute when the transfers cannot have come from a ledger.
var ErrAudit = errors.New("ledger: audit")

// Recompute rebuilds every account's balances from the transfers alone, for an audit of stored data: posted
// balances are the sums of plain transfers and posts (whose amount is what was posted), pending balances the
// sums of pending transfers whose state in pending is still PendingActive; voids and expiries move nothing. The
// balances given with accounts are ignored (zero is fine), and transfers may come in any order. Compare the
// result with the stored balances.
//
// It also checks that the transfers hang together, and returns an error wrapping ErrAudit naming the first
// transfer that does not: an unknown account, a ledger other than its accounts', an amount out of range, a
// pending transfer without a state, a post or void whose pending transfer is missing, in another state,
// resolved twice, or differs in accounts or amount, or a sum that passes int64.
func Recompute(accounts []Account, transfers []Transfer, pending map[ID]PendingState) (map[ID]Account, error) {
	out := make(map[ID]Account, len(accounts))
	for _, a := range accounts {
		if _, ok := out[a.ID]; ok {
			return nil, fmt.Errorf("%w: account %s listed twice", ErrAudit, a.ID)
		}
		a.DebitsPending, a.DebitsPosted, a.CreditsPending, a.CreditsPosted = 0, 0, 0, 0
		out[a.ID] = a
	}
	pendings := make(map[ID]*Transfer)
	for i := range transfers {
		if t := &transfers[i]; t.Flags&FlagPending != 0 {
			if _, ok := pendings[t.ID]; ok {
				return nil, fmt.Errorf("%w: transfer %s listed twice", ErrAudit, t.ID)
			}
			pendings[t.ID] = t
		}
	}
	for id := range pending {
		if _, ok := pendings[id]; !ok {
			return nil, fmt.Errorf("%w: pending state for %s, which is not a pending transfer", ErrAudit, id)
		}
	}
	resolved := make(map[ID]ID) // pending id → the post or void that resolved it

	add := func(t *Transfer, field func(*Account) *int64, id ID, amount int64) error {
		a := out[id]
		f := field(&a)
		if addOverflows(*f, amount) {
			return fmt.Errorf("%w: transfer %s: balance of account %s passes int64", ErrAudit, t.ID, id)
		}
		*f += amount
		out[id] = a
		return nil
	}
	debitsPosted := func(a *Account) *int64 { return &a.DebitsPosted }
	creditsPosted := func(a *Account) *int64 { return &a.CreditsPosted }
	debitsPending := func(a *Account) *int64 { return &a.DebitsPending }
	creditsPending := func(a *Account) *int64 { return &a.CreditsPending }

	for i := range transfers {
		t := &transfers[i]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: transfer %s: %s", ErrAudit, t.ID, fmt.Sprintf(format, args...))
		}
		dr, ok1 := out[t.DebitAccountID]
		cr, ok2 := out[t.CreditAccountID]
		switch {
		case !ok1:
			return nil, bad("debit account %s not found", t.DebitAccountID)
		case !ok2:
			return nil, bad("credit account %s not found", t.CreditAccountID)
		case t.DebitAccountID == t.CreditAccountID:
			return nil, bad("debits and credits the same account")
		case dr.Ledger != t.Ledger || cr.Ledger != t.Ledger:
			return nil, bad("ledger %d, accounts in %d and %d", t.Ledger, dr.Ledger, cr.Ledger)
		case t.Amount <= 0:
			return nil, bad("amount %d", t.Amount)
		}
		var err error
		switch t.Flags & (FlagPending | flagsResolve) {
		case 0:
			if err = add(t, debitsPosted, t.DebitAccountID, t.Amount); err == nil {
				err = add(t, creditsPosted, t.CreditAccountID, t.Amount)
			}
		case FlagPending:
			st, ok := pending[t.ID]
			if !ok {
				return nil, bad("pending transfer without a state")
			}
			if st < PendingActive || st > PendingExpired {
				return nil, bad("pending state %d", st)
			}
			if st == PendingActive {
				if err = add(t, debitsPending, t.DebitAccountID, t.Amount); err == nil {
					err = add(t, creditsPending, t.CreditAccountID, t.Amount)
				}
			}
		case FlagPostPending, FlagVoidPending:
			post := t.Flags&FlagPostPending != 0
			p, ok := pendings[t.PendingID]
			switch {
			case !ok:
				return nil, bad("pending transfer %s not found", t.PendingID)
			case p.DebitAccountID != t.DebitAccountID || p.CreditAccountID != t.CreditAccountID:
				return nil, bad("accounts differ from pending transfer %s", t.PendingID)
			case post && t.Amount > p.Amount:
				return nil, bad("posts %d of pending transfer %s, which reserved %d", t.Amount, t.PendingID, p.Amount)
			case !post && t.Amount != p.Amount:
				return nil, bad("voids %d of pending transfer %s, which reserved %d", t.Amount, t.PendingID, p.Amount)
			case post && pending[t.PendingID] != PendingPosted:
				return nil, bad("posts pending transfer %s, whose state is %s", t.PendingID, pending[t.PendingID])
			case !post && pending[t.PendingID] != PendingVoided:
				return nil, bad("voids pending transfer %s, whose state is %s", t.PendingID, pending[t.PendingID])
			}
			if other, ok := resolved[t.PendingID]; ok {
				return nil, bad("resolves pending transfer %s, which %s resolved already", t.PendingID, other)
			}
			resolved[t.PendingID] = t.ID
			if post {
				if err = add(t, debitsPosted, t.DebitAccountID, t.Amount); err == nil {
					err = add(t, creditsPosted, t.CreditAccountID, t.Amount)
				}
			}
		default:
			return nil, bad("flags %#x", uint16(t.Flags))
		}
		if err != nil {
			return nil, err
		}
	}
	for id, st := range pending {
		if _, ok := resolved[id]; !ok && (st == PendingPosted || st == PendingVoided) {
			return nil, fmt.Errorf("%w: pending transfer %s is %s, but no transfer resolves it", ErrAudit, id, st)
		}
	}
	for _, a := range out {
		if addOverflows(a.DebitsPosted, a.DebitsPending) || addOverflows(a.CreditsPosted, a.CreditsPending) {
			return nil, fmt.Errorf("%w: account %s: posted + pending passes int64", ErrAudit, a.ID)
		}
	}
	return out, nil
}
