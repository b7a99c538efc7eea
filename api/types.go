package api

import "time"

// Role is who a key speaks for.
type Role string

// Roles.
const (
	RoleBank     Role = "bank"
	RoleOperator Role = "operator"
)

// Principal is the caller a key names.
type Principal struct {
	Role Role
	Bank string // the bank's CBI code for RoleBank; empty for the operator
}

// Me is who the key is.
type Me struct {
	Role     Role   `json:"role" enum:"bank,operator"`
	BankCode string `json:"bank_code,omitempty" doc:"the caller's CBI code, for a bank key"`
	BankName string `json:"bank_name,omitempty"`
}

// Bank is one member of the registry as the switch sees it today.
type Bank struct {
	Code       string      `json:"code" example:"017"`
	NameEN     string      `json:"name_en"`
	NameFA     string      `json:"name_fa"`
	BINs       []string    `json:"bins"`
	BIC        string      `json:"bic,omitempty"`
	Status     string      `json:"status" enum:"active,merged,dissolved,suspended,central"`
	Successor  string      `json:"successor,omitempty" doc:"the bank a merged or dissolved bank's accounts and cards route to"`
	Since      string      `json:"since,omitempty"`
	Simulation *Simulation `json:"simulation,omitempty" doc:"how tasvieh plays the bank; absent for banks that are not active members"`
}

// Simulation is how tasvieh plays a bank: simulated (a book of customers here) or external (under test).
type Simulation struct {
	Mode        string  `json:"mode" enum:"simulated,external"`
	Online      bool    `json:"online"`
	LatencyMS   int     `json:"latency_ms" minimum:"0" maximum:"60000"`
	FailureRate float64 `json:"failure_rate" minimum:"0" maximum:"1"`
}

// SettlementAccount is a bank's account at the CBI and a page of its transfers.
type SettlementAccount struct {
	BankCode           string     `json:"bank_code"`
	AccountID          string     `json:"account_id"`
	BalanceRial        int64      `json:"balance_rial" doc:"posted credits less posted debits"`
	AvailableRial      int64      `json:"available_rial" doc:"balance less debits pending"`
	DebitsPendingRial  int64      `json:"debits_pending_rial"`
	CreditsPendingRial int64      `json:"credits_pending_rial"`
	Transfers          []Movement `json:"transfers"`
	NextCursor         string     `json:"next_cursor,omitempty" doc:"pass as cursor for the next page; absent at the end"`
}

// Movement is one transfer on an account, from the account's side.
type Movement struct {
	ID          string    `json:"id"`
	At          time.Time `json:"at"`
	Direction   string    `json:"direction" enum:"debit,credit"`
	AmountRial  int64     `json:"amount_rial"`
	Kind        string    `json:"kind" doc:"what moved the money: issuance, withdrawal, satna, paya, card, ..."`
	Pending     string    `json:"pending,omitempty" enum:"pending,post,void" doc:"for two-phase transfers"`
	Reference   string    `json:"reference,omitempty"`
	Counterpart string    `json:"counterpart,omitempty" doc:"the other account's name"`
}

// ClockInfo is the switch's time.
type ClockInfo struct {
	Now         time.Time `json:"now" doc:"RFC 3339 in Tehran time (+03:30)"`
	Jalali      string    `json:"jalali" example:"1404/01/05 06:00"`
	Mode        string    `json:"mode" enum:"real,simulated"`
	BusinessDay bool      `json:"business_day"`
	DayReason   string    `json:"day_reason,omitempty" doc:"why today is not a business day"`
	Rules       string    `json:"rules" doc:"the rulebook profile in force"`
	NextJobs    []JobTime `json:"next_jobs"`
	RecentRuns  []JobRun  `json:"recent_runs"`
}

// JobTime is a scheduled job's next occurrence.
type JobTime struct {
	Job string    `json:"job"`
	At  time.Time `json:"at"`
}

// JobRun is one recorded run of a scheduled job.
type JobRun struct {
	Job       string    `json:"job"`
	Scheduled time.Time `json:"scheduled"`
	Jalali    string    `json:"jalali"`
	Outcome   string    `json:"outcome" enum:"ok,failed,skipped"`
	Error     string    `json:"error,omitempty"`
	CatchUp   bool      `json:"catch_up,omitempty" doc:"run at start-up for occurrences missed while the server was down"`
}

// Customer is a simulated bank's test customer, as a sandbox shows its test data.
type Customer struct {
	Name        string         `json:"name"`
	SHEBA       string         `json:"sheba"`
	Status      string         `json:"status" enum:"active,blocked,closed"`
	BalanceRial *int64         `json:"balance_rial,omitempty" doc:"operator only"`
	Magic       string         `json:"magic,omitempty" doc:"the magic behaviour this customer triggers, if any"`
	Cards       []CustomerCard `json:"cards"`
}

// CustomerCard is a test card with its test secrets.
type CustomerCard struct {
	PAN    string `json:"pan"`
	Expiry string `json:"expiry" doc:"Jalali YYMM"`
	CVV2   string `json:"cvv2"`
	PIN2   string `json:"pin2"`
	Status string `json:"status" enum:"active,blocked,expired,lost"`
	Magic  string `json:"magic,omitempty"`
}

// CustomerPage is a page of the directory.
type CustomerPage struct {
	BankCode   string     `json:"bank_code"`
	Customers  []Customer `json:"customers"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// MagicValue is a value that triggers a customer-side failure deterministically.
type MagicValue struct {
	BankCode string `json:"bank_code"`
	Name     string `json:"name"`
	Kind     string `json:"kind" enum:"sheba,pan"`
	Value    string `json:"value"`
	Effect   string `json:"effect"`
}

// Event is one notification for a bank.
type Event struct {
	Cursor    string    `json:"cursor" doc:"pass as after to continue from this event"`
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data" doc:"the event's body, by type"`
}

// EventPage is a page of the feed.
type EventPage struct {
	Events     []Event `json:"events"`
	NextCursor string  `json:"next_cursor" doc:"the cursor after the last event (the same as the request's when none)"`
}

// WebhookRequest registers or changes the caller's endpoint.
type WebhookRequest struct {
	URL          string `json:"url" maxLength:"2048" doc:"http or https"`
	RotateSecret bool   `json:"rotate_secret,omitempty" doc:"issue a new signing secret"`
}

// Webhook is the caller's endpoint. Secret is present only in the answer that created it.
type Webhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty" doc:"the signing secret, shown once"`
}

// Delivery is one webhook delivery and its attempts.
type Delivery struct {
	ID          string     `json:"id"`
	EventID     string     `json:"event_id"`
	EventType   string     `json:"event_type"`
	Status      string     `json:"status" enum:"pending,delivered,failed"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status,omitempty" doc:"HTTP status of the last attempt"`
	LastError   string     `json:"last_error,omitempty"`
	NextAt      *time.Time `json:"next_attempt_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// DeliveryPage is a page of the delivery log.
type DeliveryPage struct {
	Deliveries []Delivery `json:"deliveries"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// AdvanceRequest moves the simulated clock: by a duration, or to a time.
type AdvanceRequest struct {
	By string `json:"by,omitempty" example:"2h30m" doc:"a Go duration; positive"`
	To string `json:"to,omitempty" doc:"RFC 3339, or Jalali YYYY/MM/DD HH:MM in Tehran time"`
}

// AdvanceResult is the clock after a move and the jobs it fired, in order.
type AdvanceResult struct {
	Clock ClockInfo `json:"clock"`
	Fired []JobRun  `json:"fired"`
}

// ModeRequest switches the clock.
type ModeRequest struct {
	Mode string `json:"mode" enum:"real,simulated"`
}

// LiquidityRequest injects (positive) or withdraws (negative) settlement liquidity by recorded issuance.
type LiquidityRequest struct {
	BankCode   string `json:"bank_code" pattern:"^[0-9]{3}$"`
	AmountRial int64  `json:"amount_rial" doc:"positive injects, negative withdraws to the CBI"`
	Reference  string `json:"reference" minLength:"1" maxLength:"64" doc:"the operator's reference: a repeat returns the original"`
}

// Liquidity is the outcome of a liquidity request.
type Liquidity struct {
	ID          string `json:"id"`
	BankCode    string `json:"bank_code"`
	AmountRial  int64  `json:"amount_rial"`
	Reference   string `json:"reference"`
	Status      string `json:"status" enum:"applied,rejected"`
	Code        string `json:"code,omitempty" doc:"why it was rejected"`
	BalanceRial int64  `json:"balance_rial" doc:"the settlement balance after it"`
}
