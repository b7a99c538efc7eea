package api

import (
	"context"
	"net/http"

	"github.com/tasvieh/tasvieh/calendar"
)

// shahabID is the path parameter of one transfer: the switch's ids are UUIDs, 36 characters.
type shahabID struct {
	ID string `path:"id" maxLength:"36"`
}

// RegisterShahab adds SHAHAB's routes, served by b: name inquiry, one-time second PINs, transfers and an
// external destination's answers for member banks; the reconciliation report and the settlement windows for
// the operator.
func RegisterShahab(s *Server, b ShahabBackend) {
	registerShahabTransfers(s, b)
	registerShahabOperator(s, b)
}

func registerShahabTransfers(s *Server, b ShahabBackend) {
	Register(s, route{id: "shahab-inquiry", method: http.MethodPost, path: "/v1/shahab/inquiries",
		summary: "The destination cardholder's name and bank, as the switch shows it before a transfer (404 card_not_found, 409 card_refused, 503 bank_unavailable)",
		tag:     "shahab", access: accessBank, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct{ Body ShahabInquiryRequest }) (*ShahabInquiry, error) {
			q, err := b.Inquire(ctx, p.Bank, in.Body)
			return &q, err
		})
	Register(s, route{id: "shahab-otp", method: http.MethodPost, path: "/v1/shahab/otp",
		summary: "Issue the source card's one-time second PIN (201; 409 otp_off when the rulebook in force uses the static one)",
		tag:     "shahab", access: accessBank, status: http.StatusCreated, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct{ Body ShahabOTPRequest }) (*ShahabOTP, error) {
			o, err := b.IssueOTP(ctx, p.Bank, in.Body)
			return &o, err
		})
	Register(s, route{id: "submit-shahab-transfer", method: http.MethodPost, path: "/v1/shahab/transfers",
		summary: "Submit a card-to-card transfer, decided in the same request: 201 with its status (succeeded, refunded or rejected) and code; a repeat of its reference 200 with the original",
		tag:     "shahab", access: accessBank, status: http.StatusCreated, alsoOK: []int{http.StatusOK}, errors: []int{http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct{ Body ShahabTransferRequest }) (*ShahabTransfer, error) {
			// The reference is the idempotency key: a control character or an invalid byte's U+FFFD would make
			// two different keys look alike (api.Text).
			if err := Text("reference", in.Body.Reference, 64); err != nil {
				return nil, err
			}
			t, created, err := b.SubmitTransfer(ctx, p.Bank, in.Body)
			if err != nil {
				return nil, err
			}
			if !created {
				SetStatus(ctx, http.StatusOK)
			}
			return &t, nil
		})
	Register(s, route{id: "get-shahab-transfer", method: http.MethodGet, path: "/v1/shahab/transfers/{id}",
		summary: "One transfer (as its submitting, source or destination bank)", tag: "shahab", access: accessBank,
		errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *shahabID) (*ShahabTransfer, error) {
			t, err := b.ShahabTransfer(ctx, p.Bank, in.ID)
			return &t, err
		})
	Register(s, route{id: "list-shahab-transfers", method: http.MethodGet, path: "/v1/shahab/transfers",
		summary: "The caller's transfers, newest first", tag: "shahab", access: accessBank},
		func(ctx context.Context, p Principal, in *struct {
			Status    string `query:"status" enum:"pending,succeeded,refunded,rejected"`
			Direction string `query:"direction" enum:"submitted,outgoing,incoming,all" default:"all" doc:"submitted: through the caller's channels; outgoing: its cards are the source; incoming: the destination; all: any of these"`
			PageIn
		}) (*ShahabTransferPage, error) {
			pg, err := b.ShahabTransfers(ctx, p.Bank, in.Status, in.Direction, in.Cursor, in.Limit)
			return &pg, err
		})
	Register(s, route{id: "answer-shahab-transfer", method: http.MethodPost, path: "/v1/shahab/transfers/{id}/answer",
		summary: "An external destination bank's answer to a credit request: credited or refused (after the deadline: recorded as late, and a credit reversed)",
		tag:     "shahab", access: accessBank, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct {
			ID   string `path:"id" maxLength:"36"`
			Body ShahabAnswerRequest
		}) (*ShahabTransfer, error) {
			if err := Text("code", in.Body.Code, 64); err != nil {
				return nil, err
			}
			t, err := b.AnswerTransfer(ctx, p.Bank, in.ID, in.Body)
			return &t, err
		})
}

func registerShahabOperator(s *Server, b ShahabBackend) {
	Register(s, route{id: "shahab-reconciliation", method: http.MethodGet, path: "/v1/operator/shahab/reconciliation",
		summary: "Transfers whose destination answered after the switch had refunded them, and what the switch did",
		tag:     "operator", access: accessOperator, errors: []int{http.StatusUnprocessableEntity}},
		func(ctx context.Context, _ Principal, in *struct {
			Date string `query:"date" maxLength:"10" doc:"a Tehran day, YYYY-MM-DD or Jalali YYYY/MM/DD; absent: every day"`
		}) (*ShahabReconciliation, error) {
			date := ""
			if in.Date != "" {
				// Checked here, so the backend gets one form: a Gregorian YYYY-MM-DD.
				d, err := calendar.ParseDate(in.Date)
				if err != nil {
					return nil, FieldErrorf("date", "%v", err)
				}
				date = d.String()
			}
			r, err := b.ShahabReconciliation(ctx, date)
			return &r, err
		})
	Register(s, route{id: "list-shahab-windows", method: http.MethodGet, path: "/v1/operator/shahab/windows",
		summary: "The card switch's settlement windows, newest first", tag: "operator", access: accessOperator},
		func(ctx context.Context, _ Principal, in *struct{ PageIn }) (*ShahabWindowPage, error) {
			pg, err := b.ShahabWindows(ctx, in.Cursor, in.Limit)
			return &pg, err
		})
	Register(s, route{id: "get-shahab-window", method: http.MethodGet, path: "/v1/operator/shahab/windows/{id}",
		summary: "One settlement window: its obligations per pair of banks, each bank's net, and the net settlement",
		tag:     "operator", access: accessOperator, errors: []int{http.StatusNotFound}},
		// A window's id is a Tehran date and cut-off, YYYY-MM-DDTHH:MM: 16 characters, as a PAYA cycle's.
		func(ctx context.Context, _ Principal, in *struct {
			ID string `path:"id" maxLength:"24" doc:"the window's Tehran date and cut-off, YYYY-MM-DDTHH:MM"`
		}) (*ShahabWindow, error) {
			w, err := b.ShahabWindow(ctx, in.ID)
			return &w, err
		})
	Register(s, route{id: "settle-shahab-window", method: http.MethodPost, path: "/v1/operator/shahab/windows/settle",
		summary: "Close the open settlement window now and settle its nets; answers the window as it closed",
		tag:     "operator", access: accessOperator, errors: []int{http.StatusConflict}},
		func(ctx context.Context, _ Principal, _ *struct{}) (*ShahabWindow, error) {
			w, err := b.SettleShahabWindow(ctx)
			return &w, err
		})
}
