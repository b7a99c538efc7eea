package api

import (
	"context"
	"net/http"
	"time"
)

// SATNA codes beyond the platform's.
const (
	CodeReferenceReused = "reference_reused" // the same reference with other fields
	CodeIrrevocable     = "irrevocable"      // a settled order is final: it cannot be revoked or recalled
	CodeOrderClosed     = "order_closed"     // the order is already rejected, revoked or cancelled
	CodeAnswerLate      = "answer_late"      // the receiving bank's credit or return came after its deadline
)

func init() {
	statuses[CodeReferenceReused] = http.StatusConflict
	statuses[CodeIrrevocable] = http.StatusConflict
	statuses[CodeOrderClosed] = http.StatusConflict
	statuses[CodeAnswerLate] = http.StatusConflict
}

// SATNAReturnRequest is an external receiving bank's return of a credit it cannot post.
type SATNAReturnRequest struct {
	Reason string `json:"reason" minLength:"1" maxLength:"140" doc:"why: account_not_found, account_closed, account_blocked, or the bank's own words"`
}

// SATNAOrderRequest is a new SATNA order from the calling bank. A customer order names payer and payee
// (the receiving bank is the payee SHEBA's); an interbank order names the receiving bank.
type SATNAOrderRequest struct {
	Type          string `json:"type" enum:"customer,interbank"`
	ReceiverBank  string `json:"receiver_bank,omitempty" pattern:"^[0-9]{3}$" doc:"interbank orders: the receiving bank; customer orders: optional, must match the payee's SHEBA"`
	PayerSHEBA    string `json:"payer_sheba,omitempty" maxLength:"64"`
	PayerName     string `json:"payer_name,omitempty" maxLength:"256"`
	PayeeSHEBA    string `json:"payee_sheba,omitempty" maxLength:"64"`
	PayeeName     string `json:"payee_name,omitempty" maxLength:"256"`
	AmountRial    int64  `json:"amount_rial"`
	Description   string `json:"description,omitempty" maxLength:"512"`
	Reference     string `json:"reference" minLength:"1" maxLength:"64" doc:"the sending bank's own reference: a repeat returns the original"`
	EffectiveDate string `json:"effective_date,omitempty" doc:"YYYY-MM-DD or Jalali YYYY/MM/DD; default: as soon as possible"`
	Priority      string `json:"priority,omitempty" enum:"urgent,high,normal" doc:"default normal"`
}

// SATNAOrder is an order as the switch keeps it.
type SATNAOrder struct {
	ID            string     `json:"id"`
	Type          string     `json:"type" enum:"customer,interbank"`
	Status        string     `json:"status" enum:"warehoused,queued,settled,credited,returned,rejected,revoked,cancelled_eod"`
	SenderBank    string     `json:"sender_bank"`
	ReceiverBank  string     `json:"receiver_bank"`
	PayerSHEBA    string     `json:"payer_sheba,omitempty"`
	PayerName     string     `json:"payer_name,omitempty"`
	PayeeSHEBA    string     `json:"payee_sheba,omitempty"`
	PayeeName     string     `json:"payee_name,omitempty"`
	AmountRial    int64      `json:"amount_rial"`
	FeeRial       int64      `json:"fee_rial"`
	Description   string     `json:"description,omitempty"`
	Reference     string     `json:"reference"`
	Priority      string     `json:"priority" enum:"urgent,high,normal"`
	EffectiveDate string     `json:"effective_date,omitempty" doc:"the business day it settles on or after (YYYY-MM-DD)"`
	SettleAfter   *time.Time `json:"settle_after,omitempty" doc:"for a warehoused order: when its business day opens"`
	SettledAt     *time.Time `json:"settled_at,omitempty"`
	ReturnOf      string     `json:"return_of,omitempty"`
	ReturnedBy    string     `json:"returned_by,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	Code          string     `json:"code,omitempty" doc:"why it was rejected or cancelled"`
	CreatedAt     time.Time  `json:"created_at"`
}

// SATNAOrderPage is a page of orders.
type SATNAOrderPage struct {
	Orders     []SATNAOrder `json:"orders"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// Statement is a bank's settlement account over one Tehran business day.
type Statement struct {
	BankCode       string          `json:"bank_code"`
	Date           string          `json:"date" doc:"YYYY-MM-DD (Gregorian)"`
	Jalali         string          `json:"jalali" doc:"YYYY/MM/DD"`
	OpeningRial    int64           `json:"opening_balance_rial"`
	ClosingRial    int64           `json:"closing_balance_rial"`
	Movements      []StatementLine `json:"movements"`
	MovementsTotal int             `json:"movements_total"`
}

// StatementLine is one posted movement of a statement.
// SATNAPositions is the day's positions of every member bank at the CBI.
type SATNAPositions struct {
	Date      string          `json:"date" doc:"YYYY-MM-DD (Gregorian)"`
	Jalali    string          `json:"jalali" doc:"YYYY/MM/DD"`
	Positions []SATNAPosition `json:"positions"`
}

// SATNAPosition is one bank's settlement account over the day, and what it has queued now.
type SATNAPosition struct {
	BankCode     string `json:"bank_code"`
	OpeningRial  int64  `json:"opening_balance_rial"`
	ClosingRial  int64  `json:"closing_balance_rial" doc:"at the day's end, or now for today"`
	NetRial      int64  `json:"net_rial" doc:"closing less opening: received less paid over the day"`
	Movements    int    `json:"movements"`
	QueuedOrders int    `json:"queued_orders" doc:"in the liquidity queue now"`
	QueuedRial   int64  `json:"queued_rial" doc:"their total: the liquidity the bank lacks for them"`
}

type StatementLine struct {
	At          time.Time `json:"at"`
	Jalali      string    `json:"jalali" doc:"YYYY/MM/DD HH:MM, Tehran"`
	ID          string    `json:"id"`
	Direction   string    `json:"direction" enum:"debit,credit"`
	AmountRial  int64     `json:"amount_rial"`
	Kind        string    `json:"kind"`
	Reference   string    `json:"reference,omitempty"`
	Counterpart string    `json:"counterpart,omitempty"`
	BalanceRial int64     `json:"balance_rial" doc:"after this movement"`
}

// SATNABackend serves SATNA's routes. bank is the caller's; an order that is not the caller's (as sender or
// receiver) answers not_found.
type SATNABackend interface {
	// SubmitOrder stores and (when it can) settles a new order; created is false for a repeat of its reference.
	SubmitOrder(ctx context.Context, bank string, req SATNAOrderRequest) (o SATNAOrder, created bool, err error)
	SATNAOrder(ctx context.Context, bank, id string) (SATNAOrder, error)
	SATNAOrders(ctx context.Context, bank, status, direction, cursor string, limit int) (SATNAOrderPage, error)
	RevokeOrder(ctx context.Context, bank, id string) (SATNAOrder, error)
	// SATNAQueue lists every queued and warehoused order, for the operator.
	SATNAQueue(ctx context.Context) ([]SATNAOrder, error)
	// SATNAPositions is every member's settlement position over a Tehran day, for the operator.
	SATNAPositions(ctx context.Context, date string) (SATNAPositions, error)
	// Statement is bank's settlement account over a Tehran day (date: YYYY-MM-DD or Jalali YYYY/MM/DD).
	Statement(ctx context.Context, bank, date string) (Statement, error)
	// CreditOrder and ReturnOrder are an external receiving bank's answers to an incoming order.
	CreditOrder(ctx context.Context, bank, id string) (SATNAOrder, error)
	ReturnOrder(ctx context.Context, bank, id, reason string) (SATNAOrder, error)
}

// RegisterSATNA adds SATNA's routes, served by b.
func RegisterSATNA(s *Server, b SATNABackend) {
	Register(s, route{id: "submit-satna-order", method: http.MethodPost, path: "/v1/satna/orders",
		summary: "Submit a SATNA order (201; a repeat of its reference 200 with the original)", tag: "satna",
		access: accessBank, status: http.StatusCreated, alsoOK: []int{http.StatusOK}, errors: []int{http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct{ Body SATNAOrderRequest }) (*SATNAOrder, error) {
			o, isNew, err := b.SubmitOrder(ctx, p.Bank, in.Body)
			if err != nil {
				return nil, err
			}
			if !isNew {
				SetStatus(ctx, http.StatusOK)
			}
			return &o, nil
		})
	Register(s, route{id: "get-satna-order", method: http.MethodGet, path: "/v1/satna/orders/{id}", summary: "One SATNA order",
		tag: "satna", access: accessBank, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *struct {
			ID string `path:"id" maxLength:"36"`
		}) (*SATNAOrder, error) {
			o, err := b.SATNAOrder(ctx, p.Bank, in.ID)
			return &o, err
		})
	Register(s, route{id: "list-satna-orders", method: http.MethodGet, path: "/v1/satna/orders", summary: "The caller's SATNA orders, newest first",
		tag: "satna", access: accessBank},
		func(ctx context.Context, p Principal, in *struct {
			Status    string `query:"status" enum:"warehoused,queued,settled,credited,returned,rejected,revoked,cancelled_eod"`
			Direction string `query:"direction" enum:"in,out"`
			PageIn
		}) (*SATNAOrderPage, error) {
			pg, err := b.SATNAOrders(ctx, p.Bank, in.Status, in.Direction, in.Cursor, in.Limit)
			return &pg, err
		})
	Register(s, route{id: "revoke-satna-order", method: http.MethodPost, path: "/v1/satna/orders/{id}/revoke",
		summary: "Revoke a warehoused or queued order (a settled one is final: 409 irrevocable)", tag: "satna",
		access: accessBank, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct {
			ID string `path:"id" maxLength:"36"`
		}) (*SATNAOrder, error) {
			o, err := b.RevokeOrder(ctx, p.Bank, in.ID)
			return &o, err
		})
	Register(s, route{id: "credit-satna-order", method: http.MethodPost, path: "/v1/satna/orders/{id}/credit",
		summary: "An external receiving bank credited the payee (until its return deadline)", tag: "satna",
		access: accessBank, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct {
			ID string `path:"id" maxLength:"36"`
		}) (*SATNAOrder, error) {
			o, err := b.CreditOrder(ctx, p.Bank, in.ID)
			return &o, err
		})
	Register(s, route{id: "return-satna-order", method: http.MethodPost, path: "/v1/satna/orders/{id}/return",
		summary: "An external receiving bank returns a credit it cannot post, less the return fee", tag: "satna",
		access: accessBank, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct {
			ID   string `path:"id" maxLength:"36"`
			Body SATNAReturnRequest
		}) (*SATNAOrder, error) {
			o, err := b.ReturnOrder(ctx, p.Bank, in.ID, in.Body.Reason)
			return &o, err
		})
	registerStatement(s, b)
	Register(s, route{id: "satna-positions", method: http.MethodGet, path: "/v1/operator/satna/positions",
		summary: "Every member's settlement position over a Tehran day (opening, closing, net, queued now)", tag: "operator",
		access: accessOperator, errors: []int{http.StatusUnprocessableEntity}},
		func(ctx context.Context, _ Principal, in *struct {
			Date string `query:"date" maxLength:"10" doc:"YYYY-MM-DD or Jalali YYYY/MM/DD; default today (Tehran)"`
		}) (*SATNAPositions, error) {
			ps, err := b.SATNAPositions(ctx, in.Date)
			return &ps, err
		})
	Register(s, route{id: "satna-queue", method: http.MethodGet, path: "/v1/operator/satna/queue",
		summary: "Every queued and warehoused SATNA order", tag: "operator", access: accessOperator},
		func(ctx context.Context, _ Principal, _ *struct{}) (*struct {
			Orders []SATNAOrder `json:"orders"`
		}, error) {
			os, err := b.SATNAQueue(ctx)
			return &struct {
				Orders []SATNAOrder `json:"orders"`
			}{os}, err
		})
}
