package api

import (
	"context"
	"net/http"
	"time"
)

// SHAHAB's codes beyond the platform's, as errors of its routes. A transfer that is decided — succeeded,
// refunded or rejected — is not an error: it answers 201 with its status and its own code (ShahabTransfer).
const (
	CodeCardNotFound    = "card_not_found"   // an inquiry's card is in no book: no such cardholder
	CodeCardRefused     = "card_refused"     // an inquiry's card cannot receive: blocked, expired or lost (the reason says which)
	CodeBankUnavailable = "bank_unavailable" // the card's bank does not answer (offline, suspended, or timed out)
	CodeOTPOff          = "otp_off"          // the rulebook in force uses the static second PIN: no one-time code is issued
	CodeAnswerClosed    = "answer_closed"    // the transfer is not waiting for the caller's answer, and was never sent to it
)

func init() {
	statuses[CodeCardNotFound] = http.StatusNotFound
	statuses[CodeCardRefused] = http.StatusConflict
	statuses[CodeBankUnavailable] = http.StatusServiceUnavailable
	statuses[CodeOTPOff] = http.StatusConflict
	statuses[CodeAnswerClosed] = http.StatusConflict
}

// ShahabInquiryRequest asks the switch for a destination card's holder before a transfer.
type ShahabInquiryRequest struct {
	DestinationPAN string `json:"destination_pan" maxLength:"64" doc:"16 digits; spaces, dashes and Persian digits allowed"`
}

// ShahabInquiry is the destination cardholder as the switch shows it.
type ShahabInquiry struct {
	DestinationPAN string `json:"destination_pan" doc:"masked: first six and last four digits"`
	Name           string `json:"name"`
	Bank           string `json:"bank" doc:"the issuing bank's CBI code, after merged banks' BINs are routed to their successor"`
	BankName       string `json:"bank_name"`
}

// ShahabOTPRequest asks the source card's issuer for a dynamic second PIN.
type ShahabOTPRequest struct {
	SourcePAN string `json:"source_pan" maxLength:"64"`
}

// ShahabOTP is a one-time second PIN. A real issuer sends it by SMS; the simulator answers it, as a sandbox
// shows its test values. It is valid once, for ValidSeconds on the switch's clock.
type ShahabOTP struct {
	SourcePAN    string    `json:"source_pan" doc:"masked"`
	OTP          string    `json:"otp"`
	ExpiresAt    time.Time `json:"expires_at"`
	ValidSeconds int       `json:"valid_seconds"`
}

// ShahabTransferRequest is a card-to-card transfer submitted by a bank's channel (its app, its ATM, its
// internet bank): the source card may be any bank's.
type ShahabTransferRequest struct {
	SourcePAN      string `json:"source_pan" maxLength:"64"`
	DestinationPAN string `json:"destination_pan" maxLength:"64"`
	AmountRial     int64  `json:"amount_rial" minimum:"1" doc:"rial; at least 1: a transfer of nothing is malformed (422), not a decision"`
	Expiry         string `json:"expiry" maxLength:"4" doc:"the source card's expiry as printed, Jalali YYMM"`
	CVV2           string `json:"cvv2" maxLength:"4"`
	PIN2           string `json:"pin2" maxLength:"12" doc:"the second PIN: the card's static one, or the one-time code when the rulebook requires it"`
	Reference      string `json:"reference" minLength:"1" maxLength:"64" doc:"the submitting bank's own reference: a repeat returns the original"`
}

// ShahabLate is what became of a destination's answer that came after the switch had refunded the transfer.
type ShahabLate struct {
	Result     string    `json:"result" enum:"credited,refused"`
	ReceivedAt time.Time `json:"received_at"`
	Action     string    `json:"action" enum:"reversed,none" doc:"reversed: the destination's credit was taken back (one net effect: the refund); none: a late refusal changes nothing"`
}

// ShahabTransfer is a card-to-card transfer as the switch keeps it. Status: pending (debited at the issuer,
// waiting for the destination's answer), succeeded (credited, fee charged), refunded (the destination could not
// credit: the whole amount back on the source card, no fee), rejected (refused before any money moved).
type ShahabTransfer struct {
	ID              string      `json:"id"`
	Status          string      `json:"status" enum:"pending,succeeded,refunded,rejected"`
	Code            string      `json:"code" doc:"approved when succeeded; otherwise why (README: SHAHAB's codes)"`
	AmountRial      int64       `json:"amount_rial"`
	FeeRial         int64       `json:"fee_rial" doc:"charged only when succeeded"`
	SourceBank      string      `json:"source_bank"`
	DestinationBank string      `json:"destination_bank"`
	SubmittingBank  string      `json:"submitting_bank"`
	Route           string      `json:"route" enum:"on_us,interbank"`
	SourcePAN       string      `json:"source_pan" doc:"masked"`
	DestinationPAN  string      `json:"destination_pan" doc:"masked"`
	DestinationName string      `json:"destination_name,omitempty"`
	Reference       string      `json:"reference"`
	RRN             string      `json:"rrn" doc:"the switch's retrieval reference number, 12 digits"`
	Window          string      `json:"window,omitempty" doc:"succeeded interbank transfers: the settlement window whose nets carry it"`
	CreatedAt       time.Time   `json:"created_at"`
	AnsweredAt      *time.Time  `json:"answered_at,omitempty"`
	Deadline        *time.Time  `json:"deadline,omitempty" doc:"interbank: until when the destination may answer"`
	Late            *ShahabLate `json:"late,omitempty"`
}

// ShahabTransferPage is a page of transfers, newest first.
type ShahabTransferPage struct {
	Transfers  []ShahabTransfer `json:"transfers"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// ShahabAnswerRequest is an external destination bank's answer to a credit request.
type ShahabAnswerRequest struct {
	Result string `json:"result" enum:"credited,refused"`
	Code   string `json:"code,omitempty" maxLength:"64" doc:"refused: why (card_blocked, card_expired, card_lost, card_not_found, account_blocked, or the bank's own word)"`
}

// ShahabReconciliation lists the transfers whose destination answered after the switch had refunded them,
// and what the switch did, for the operator.
type ShahabReconciliation struct {
	Cases []ShahabTransfer `json:"cases"`
}

// ShahabObligation is what one bank owes another over a window: the sum of its cards' succeeded transfers.
type ShahabObligation struct {
	From       string `json:"from"`
	To         string `json:"to"`
	AmountRial int64  `json:"amount_rial"`
	Transfers  int64  `json:"transfers"`
}

// ShahabWindow is one settlement window of the card switch: its obligations, each bank's net, and the net
// settlement that settled them. Status: open (taking transfers), closing (closed, its set not yet settled),
// settled, or empty (closed with nothing owed).
type ShahabWindow struct {
	ID          string             `json:"id" doc:"Tehran date and cut-off: 1404-02-01T14:00"`
	Status      string             `json:"status" enum:"open,closing,settled,empty"`
	CutOff      time.Time          `json:"cut_off"`
	ClosedAt    *time.Time         `json:"closed_at,omitempty"`
	Obligations []ShahabObligation `json:"obligations"`
	Nets        []NetPosition      `json:"nets" doc:"each bank's net over the window's obligations: positive it pays"`
	Excluded    []string           `json:"excluded" doc:"banks whose obligations could not settle: carried to the next window"`
	NetSet      string             `json:"net_set,omitempty" doc:"the net settlement's id (GET /v1/operator/rtgs/netsets/{id})"`
	Transfers   int64              `json:"transfers"`
}

// ShahabWindowPage is a page of windows, newest first.
type ShahabWindowPage struct {
	Windows    []ShahabWindow `json:"windows"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// ShahabBackend serves SHAHAB's routes. bank is the caller's.
type ShahabBackend interface {
	// Inquire is the destination cardholder's name and bank.
	Inquire(ctx context.Context, bank string, req ShahabInquiryRequest) (ShahabInquiry, error)
	// IssueOTP issues the source card's one-time second PIN, when the rulebook in force requires one.
	IssueOTP(ctx context.Context, bank string, req ShahabOTPRequest) (ShahabOTP, error)
	// SubmitTransfer decides a transfer and answers it in the same call; created is false for a repeat of
	// its reference (the original, as it stands). A malformed request is a 422 naming the field.
	SubmitTransfer(ctx context.Context, bank string, req ShahabTransferRequest) (t ShahabTransfer, created bool, err error)
	// ShahabTransfer is one transfer the caller submitted, or whose source or destination bank it is.
	ShahabTransfer(ctx context.Context, bank, id string) (ShahabTransfer, error)
	// ShahabTransfers lists the caller's transfers, newest first; status empty for any; direction:
	// submitted, outgoing (its cards are the source), incoming (the destination), or all (the route's
	// default, never empty); limit 1..PageMax.
	ShahabTransfers(ctx context.Context, bank, status, direction, cursor string, limit int) (ShahabTransferPage, error)
	// AnswerTransfer is an external destination bank's answer to the credit request of transfer id.
	AnswerTransfer(ctx context.Context, bank, id string, req ShahabAnswerRequest) (ShahabTransfer, error)
	// ShahabReconciliation is the operator's list of late answers (date: a Tehran day as Gregorian YYYY-MM-DD,
	// the route has parsed and normalised it; empty for all).
	ShahabReconciliation(ctx context.Context, date string) (ShahabReconciliation, error)
	// ShahabWindows lists the settlement windows, newest first; ShahabWindow is one.
	ShahabWindows(ctx context.Context, cursor string, limit int) (ShahabWindowPage, error)
	ShahabWindow(ctx context.Context, id string) (ShahabWindow, error)
	// SettleShahabWindow closes the open window now and settles its nets (the operator's; the scheduler does
	// it at each cut-off).
	SettleShahabWindow(ctx context.Context) (ShahabWindow, error)
}
