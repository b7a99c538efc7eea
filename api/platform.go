package api

import (
	"context"
	"net/http"
)

// Backend serves the platform's routes. Bank-scoped methods take the bank from the caller's key (or, for the
// operator, from the request); an object that is not that bank's answers not_found.
type Backend interface {
	// Health answers nil when the switch can serve: the store writes and the database answers.
	Health(ctx context.Context) error
	// Banks lists the registry as the switch sees it today; Bank answers one (not_found when unknown).
	Banks(ctx context.Context) ([]Bank, error)
	Bank(ctx context.Context, code string) (Bank, error)
	// SettlementAccount answers a bank's settlement account and a page of its transfers.
	SettlementAccount(ctx context.Context, bank, cursor string, limit int) (SettlementAccount, error)
	// Clock answers the switch's time and schedule.
	Clock(ctx context.Context) (ClockInfo, error)
	// Customers answers a page of a simulated bank's test customers; balances only when withBalances.
	Customers(ctx context.Context, bank string, withBalances bool, cursor string, limit int) (CustomerPage, error)
	// Magic lists the magic values of one simulated bank, or of all when bank is empty.
	Magic(ctx context.Context, bank string) ([]MagicValue, error)
	// Events answers a page of a bank's notifications after a cursor.
	Events(ctx context.Context, bank, after string, limit int) (EventPage, error)
	// SetWebhook registers or changes a bank's endpoint; Deliveries and RetryDelivery read and nudge its log.
	SetWebhook(ctx context.Context, bank string, req WebhookRequest) (Webhook, error)
	Deliveries(ctx context.Context, bank, cursor string, limit int) (DeliveryPage, error)
	RetryDelivery(ctx context.Context, bank, id string) (Delivery, error)
	// The operator's controls.
	AdvanceClock(ctx context.Context, req AdvanceRequest) (AdvanceResult, error)
	SetClockMode(ctx context.Context, mode string) (ClockInfo, error)
	Liquidity(ctx context.Context, req LiquidityRequest) (Liquidity, error)
	SetSuspended(ctx context.Context, code string, suspended bool) (Bank, error)
	SetSimulation(ctx context.Context, code string, sim Simulation) (Bank, error)
}

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status" enum:"ok"`
}

// PageIn is a list's paging parameters.
type PageIn struct {
	Cursor string `query:"cursor" maxLength:"128" doc:"from a previous page's next_cursor"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

// BankQuery names the bank a bank-scoped read is about.
type BankQuery struct {
	Bank string `query:"bank" pattern:"^[0-9]{3}$" doc:"the bank, for the operator; a bank key may name only itself"`
}

// CodePath is a bank code in the path.
type CodePath struct {
	Code string `path:"code" pattern:"^[0-9]{3}$" doc:"CBI code"`
}

// scope is the bank a bank-scoped read is about: the caller's own, or for the operator the one it names.
func scope(p Principal, asked string) (string, error) {
	switch {
	case p.Role == RoleBank && (asked == "" || asked == p.Bank):
		return p.Bank, nil
	case p.Role == RoleBank:
		return "", Errorf(CodeNotFound, "no such settlement account") // another bank's: reveal nothing
	case asked == "":
		return "", FieldErrorf("bank", "the operator names the bank: ?bank=CODE")
	}
	return asked, nil
}

func registerPlatform(s *Server) {
	b := s.cfg.Backend
	Register(s, route{id: "healthz", method: http.MethodGet, path: "/healthz", summary: "Is the switch up", tag: "platform",
		access: accessPublic, errors: []int{http.StatusServiceUnavailable}},
		func(ctx context.Context, _ Principal, _ *struct{}) (*Health, error) {
			if err := b.Health(ctx); err != nil {
				return nil, err
			}
			return &Health{Status: "ok"}, nil
		})
	Register(s, route{id: "me", method: http.MethodGet, path: "/v1/me", summary: "Who the key is", tag: "platform", access: accessAny},
		func(ctx context.Context, p Principal, _ *struct{}) (*Me, error) {
			m := &Me{Role: p.Role, BankCode: p.Bank}
			if p.Role == RoleBank {
				if bk, err := b.Bank(ctx, p.Bank); err == nil {
					m.BankName = bk.NameEN
				}
			}
			return m, nil
		})
	Register(s, route{id: "list-banks", method: http.MethodGet, path: "/v1/banks", summary: "The bank registry", tag: "banks", access: accessAny},
		func(ctx context.Context, _ Principal, _ *struct{}) (*struct {
			Banks []Bank `json:"banks"`
		}, error) {
			all, err := b.Banks(ctx)
			if err != nil {
				return nil, err
			}
			return &struct {
				Banks []Bank `json:"banks"`
			}{all}, nil
		})
	Register(s, route{id: "get-bank", method: http.MethodGet, path: "/v1/banks/{code}", summary: "One bank", tag: "banks",
		access: accessAny, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, _ Principal, in *CodePath) (*Bank, error) {
			bk, err := b.Bank(ctx, in.Code)
			return &bk, err
		})
	Register(s, route{id: "get-settlement-account", method: http.MethodGet, path: "/v1/settlement-account",
		summary: "The caller's settlement account at the CBI and its transfers", tag: "accounts",
		access: accessAny, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *struct {
			BankQuery
			PageIn
		}) (*SettlementAccount, error) {
			bank, err := scope(p, in.Bank)
			if err != nil {
				return nil, err
			}
			a, err := b.SettlementAccount(ctx, bank, in.Cursor, in.Limit)
			return &a, err
		})
	Register(s, route{id: "get-clock", method: http.MethodGet, path: "/v1/clock", summary: "The switch's time and next jobs", tag: "clock", access: accessAny},
		func(ctx context.Context, _ Principal, _ *struct{}) (*ClockInfo, error) {
			c, err := b.Clock(ctx)
			return &c, err
		})
	Register(s, route{id: "list-customers", method: http.MethodGet, path: "/v1/directory/customers",
		summary: "A simulated bank's test customers and cards (sandbox data; balances for the operator only)", tag: "directory",
		access: accessAny, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, p Principal, in *struct {
			Bank string `query:"bank" required:"true" pattern:"^[0-9]{3}$"`
			PageIn
		}) (*CustomerPage, error) {
			pg, err := b.Customers(ctx, in.Bank, p.Role == RoleOperator, in.Cursor, in.Limit)
			return &pg, err
		})
	Register(s, route{id: "list-magic", method: http.MethodGet, path: "/v1/directory/magic",
		summary: "Values that trigger each customer-side failure deterministically", tag: "directory",
		access: accessAny, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, _ Principal, in *struct {
			Bank string `query:"bank" pattern:"^[0-9]{3}$" doc:"one bank; all simulated banks when absent"`
		}) (*struct {
			Magic []MagicValue `json:"magic"`
		}, error) {
			m, err := b.Magic(ctx, in.Bank)
			return &struct {
				Magic []MagicValue `json:"magic"`
			}{m}, err
		})
	Register(s, route{id: "list-events", method: http.MethodGet, path: "/v1/events", summary: "The caller's events, in order", tag: "events",
		access: accessAny, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *struct {
			BankQuery
			After string `query:"after" maxLength:"128" doc:"the cursor of the last event seen; the start when absent"`
			Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*EventPage, error) {
			bank, err := scope(p, in.Bank)
			if err != nil {
				return nil, err
			}
			pg, err := b.Events(ctx, bank, in.After, in.Limit)
			return &pg, err
		})
	Register(s, route{id: "put-webhook", method: http.MethodPut, path: "/v1/webhook", summary: "Register the caller's webhook endpoint", tag: "webhooks",
		access: accessBank},
		func(ctx context.Context, p Principal, in *struct{ Body WebhookRequest }) (*Webhook, error) {
			w, err := b.SetWebhook(ctx, p.Bank, in.Body)
			return &w, err
		})
	Register(s, route{id: "list-deliveries", method: http.MethodGet, path: "/v1/webhook/deliveries", summary: "The caller's webhook delivery log", tag: "webhooks",
		access: accessBank},
		func(ctx context.Context, p Principal, in *PageIn) (*DeliveryPage, error) {
			pg, err := b.Deliveries(ctx, p.Bank, in.Cursor, in.Limit)
			return &pg, err
		})
	Register(s, route{id: "retry-delivery", method: http.MethodPost, path: "/v1/webhook/deliveries/{id}/retry", summary: "Deliver again now", tag: "webhooks",
		access: accessBank, errors: []int{http.StatusNotFound}},
		func(ctx context.Context, p Principal, in *struct {
			ID string `path:"id" maxLength:"32"`
		}) (*Delivery, error) {
			d, err := b.RetryDelivery(ctx, p.Bank, in.ID)
			return &d, err
		})
	Register(s, route{id: "advance-clock", method: http.MethodPost, path: "/v1/operator/clock/advance",
		summary: "Move the simulated clock forward, firing every due job in order", tag: "operator",
		access: accessOperator, errors: []int{http.StatusConflict}},
		func(ctx context.Context, _ Principal, in *struct{ Body AdvanceRequest }) (*AdvanceResult, error) {
			r, err := b.AdvanceClock(ctx, in.Body)
			return &r, err
		})
	Register(s, route{id: "set-clock-mode", method: http.MethodPost, path: "/v1/operator/clock/mode", summary: "Switch the clock between real and simulated", tag: "operator",
		access: accessOperator, errors: []int{http.StatusConflict}},
		func(ctx context.Context, _ Principal, in *struct{ Body ModeRequest }) (*ClockInfo, error) {
			c, err := b.SetClockMode(ctx, in.Body.Mode)
			return &c, err
		})
	Register(s, route{id: "liquidity", method: http.MethodPost, path: "/v1/operator/liquidity",
		summary: "Inject or withdraw a bank's settlement liquidity (recorded issuance)", tag: "operator",
		access: accessOperator, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, _ Principal, in *struct{ Body LiquidityRequest }) (*Liquidity, error) {
			l, err := b.Liquidity(ctx, in.Body)
			return &l, err
		})
	for _, sus := range []bool{true, false} {
		id, path, summary := "suspend-bank", "/v1/operator/banks/{code}/suspend", "Suspend a bank"
		if !sus {
			id, path, summary = "resume-bank", "/v1/operator/banks/{code}/resume", "Resume a suspended bank"
		}
		Register(s, route{id: id, method: http.MethodPost, path: path, summary: summary, tag: "operator",
			access: accessOperator, errors: []int{http.StatusNotFound, http.StatusConflict}},
			func(ctx context.Context, _ Principal, in *CodePath) (*Bank, error) {
				bk, err := b.SetSuspended(ctx, in.Code, sus)
				return &bk, err
			})
	}
	Register(s, route{id: "set-simulation", method: http.MethodPut, path: "/v1/operator/banks/{code}/simulation",
		summary: "Play a bank as simulated or external, online or not, with latency and a failure rate", tag: "operator",
		access: accessOperator, errors: []int{http.StatusNotFound, http.StatusConflict}},
		func(ctx context.Context, _ Principal, in *struct {
			CodePath
			Body Simulation
		}) (*Bank, error) {
			bk, err := b.SetSimulation(ctx, in.Code, in.Body)
			return &bk, err
		})
}
