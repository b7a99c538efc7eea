package shahab

// Source is what the issuer's book says of a source card and its account, for Check.
type Source struct {
	Found  bool   // the card is in a book of its issuer
	Status string // active, blocked, expired, lost (sim.CardStatus)
	Expiry string // YYMM, Jalali, as stored
	// CVV2OK and PIN2OK say whether what the cardholder typed matches the card's keyed hashes (or, for a
	// dynamic second PIN, the one-time code issued for the card, unused and unexpired).
	CVV2OK, PIN2OK bool
	// WrongPIN2 is how many wrong second PINs in a row came before this request.
	WrongPIN2     int
	AccountUsable bool  // the linked account is neither blocked nor closed
	AvailableRial int64 // what the linked account can pay now: posted balance less what its pending debits hold
}

// Limits are the rulebook's figures and the card's day so far, for Check.
type Limits struct {
	DailyRial     int64 // the card's limit per Tehran day, every channel together
	UsedTodayRial int64 // what its succeeded and pending transfers of today hold
	PIN2TriesMax  int   // wrong second PINs in a row that block the card
	// Today is the Tehran date in Jalali as YYMM, for the card's expiry: a card is valid through the last
	// day of its expiry month.
	Today string
}

// Outcome is Check's answer: Code is CodeApproved when the issuer may debit; Block is set when this
// request's wrong second PIN was the last allowed, so the issuer blocks the card (code
// CodePIN2TriesExceeded); WrongPIN2 is the count of wrong second PINs in a row after this request (zero
// after a right one).
type Outcome struct {
	Code      string
	Block     bool
	WrongPIN2 int
}

// Check decides whether the source card's issuer may debit amount plus fee, checking in this order — the
// order the README documents, and the first failure is the answer:
//
//  1. the card is in the issuer's book (card_not_found);
//  2. its status: blocked, expired or lost (card_blocked, card_expired, card_lost);
//  3. its expiry month has not passed (card_expired);
//  4. the expiry typed is the card's (expiry_mismatch);
//  5. the CVV2 (cvv2_wrong);
//  6. the second PIN (pin2_wrong; the PIN2TriesMax-th wrong one in a row is pin2_tries_exceeded and
//     blocks the card);
//  7. the daily limit: the card's transfers today, with this one, at most DailyRial (daily_limit_exceeded);
//  8. the linked account is usable (account_blocked);
//  9. the balance covers amount and fee (insufficient_funds).
//
// Validate has already checked the numbers' shape and routed them; the caller has already refused a
// transfer to the same card (same_card) and one whose issuer cannot answer (issuer_unavailable).
func Check(src Source, typedExpiry string, amount, fee int64, lim Limits) Outcome {
	no := func(code string) Outcome { return Outcome{Code: code, WrongPIN2: src.WrongPIN2} }
	switch {
	case !src.Found:
		return no(CodeCardNotFound)
	case src.Status == "expired":
		return no(CodeCardExpired)
	case src.Status == "lost":
		return no(CodeCardLost)
	case src.Status != "active": // blocked, or a status this rule does not know: never debit it
		return no(CodeCardBlocked)
	case src.Expiry < lim.Today:
		return no(CodeCardExpired)
	case typedExpiry != src.Expiry:
		return no(CodeExpiryMismatch)
	case !src.CVV2OK:
		return no(CodeCVV2Wrong)
	case !src.PIN2OK:
		n := src.WrongPIN2 + 1
		if n >= lim.PIN2TriesMax {
			return Outcome{Code: CodePIN2TriesExceeded, Block: true, WrongPIN2: n}
		}
		return Outcome{Code: CodePIN2Wrong, WrongPIN2: n}
	case amount > lim.DailyRial-lim.UsedTodayRial:
		return Outcome{Code: CodeDailyLimitExceeded}
	case !src.AccountUsable:
		return Outcome{Code: CodeAccountBlocked}
	case src.AvailableRial < amount+fee:
		return Outcome{Code: CodeInsufficientFunds}
	}
	return Outcome{Code: CodeApproved}
}
