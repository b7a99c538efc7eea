package api

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/tasvieh/tasvieh/ach"
)

// PAYA's codes beyond the platform's and SATNA's.
const (
	CodeFileRefused     = "file_refused"      // the file cannot be read as a whole (its header, its encoding, its size)
	CodeDuplicateFile   = "duplicate_file"    // the bank already sent a file with this reference: its id is in the error
	CodeReturnClosed    = "return_closed"     // the entry cannot be returned: not delivered to the caller, or already answered
	CodeReturnLate      = "return_late"       // the return deadline has passed: the entry is posted
	CodeMandateState    = "mandate_state"     // the mandate is not in a state that allows this change
	CodeEntryRejected   = "entry_rejected"    // a single entry failed validation: the error names the field and the position
	CodeCycleNotDue     = "cycle_not_due"     // the operator asked for a cycle that is not open
	CodeDeliveryMissing = "delivery_not_made" // the cycle has not delivered to the caller (yet)
)

func init() {
	statuses[CodeFileRefused] = http.StatusUnprocessableEntity
	statuses[CodeDuplicateFile] = http.StatusConflict
	statuses[CodeReturnClosed] = http.StatusConflict
	statuses[CodeReturnLate] = http.StatusConflict
	statuses[CodeMandateState] = http.StatusConflict
	statuses[CodeEntryRejected] = http.StatusUnprocessableEntity
	statuses[CodeCycleNotDue] = http.StatusConflict
	statuses[CodeDeliveryMissing] = http.StatusNotFound
}

// PAYAFileBytesMax bounds an uploaded file's body: 128 MiB, about a million payroll rows of CSV. A larger
// payroll is split into files; the CSV reader's own limit (ach.CSVFileBytesMax) is higher, for files read from
// disk (tasvieh paya validate).
const PAYAFileBytesMax = 128 << 20

// PAYAEntryRequest is one entry from the calling bank, its originator: on a credit the payer's bank, on a
// debit the payee's (the biller's), under a mandate.
type PAYAEntryRequest struct {
	Core        string `json:"core" enum:"credit,debit"`
	PayerSHEBA  string `json:"payer_sheba" maxLength:"64"`
	PayerName   string `json:"payer_name" maxLength:"560"`
	PayeeSHEBA  string `json:"payee_sheba" maxLength:"64"`
	PayeeName   string `json:"payee_name" maxLength:"560"`
	AmountRial  int64  `json:"amount_rial"`
	Description string `json:"description,omitempty" maxLength:"560"`
	Reference   string `json:"reference" minLength:"1" maxLength:"140" doc:"the originator's own reference: a repeat returns the original"`
	MandateID   string `json:"mandate_id,omitempty" maxLength:"64" doc:"debits: the active mandate it is collected under"`
}

// PAYAEntry is an entry as the switch keeps it. Status: accepted (waiting for its cycle), deferred (its bank
// could not cover its net: moved to the next cycle), settled (its cycle's nets settled; with the receiving
// bank), posted, returned.
type PAYAEntry struct {
	ID              string     `json:"id"`
	Core            string     `json:"core" enum:"credit,debit"`
	Status          string     `json:"status" enum:"accepted,deferred,settled,posted,returned"`
	OriginatingBank string     `json:"originating_bank"`
	ReceivingBank   string     `json:"receiving_bank"`
	PayerSHEBA      string     `json:"payer_sheba"`
	PayerName       string     `json:"payer_name"`
	PayeeSHEBA      string     `json:"payee_sheba"`
	PayeeName       string     `json:"payee_name"`
	AmountRial      int64      `json:"amount_rial"`
	FeeRial         int64      `json:"fee_rial"`
	Description     string     `json:"description,omitempty"`
	Reference       string     `json:"reference"`
	MandateID       string     `json:"mandate_id,omitempty"`
	FileID          string     `json:"file_id,omitempty"`
	Row             int        `json:"row,omitempty" doc:"its line in the file (the header is line 1)"`
	Cycle           string     `json:"cycle" doc:"the cycle it is in: YYYY-MM-DDTHH:MM, Tehran (its cut-off)"`
	ReturnOf        string     `json:"return_of,omitempty" doc:"a return: the entry it sends back"`
	ReturnedBy      string     `json:"returned_by,omitempty" doc:"a returned entry: its return"`
	ReturnCode      string     `json:"return_code,omitempty" doc:"why it was returned (or, on a return, why it travels)"`
	ReturnDeadline  *time.Time `json:"return_deadline,omitempty" doc:"an external receiving bank may return it until then"`
	AcceptedAt      time.Time  `json:"accepted_at"`
	SettledAt       *time.Time `json:"settled_at,omitempty"`
	AnsweredAt      *time.Time `json:"answered_at,omitempty" doc:"when it was posted or returned"`
}

// PAYAEntryPage is a page of entries.
type PAYAEntryPage struct {
	Entries    []PAYAEntry `json:"entries"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// PAYAReturnRequest is a receiving bank's return of an entry it cannot post.
type PAYAReturnRequest struct {
	Code string `json:"code" enum:"account_not_found,account_closed,account_blocked,insufficient_funds,no_mandate,mandate_limit_exceeded,mandate_revoked"`
}

// PAYAFileRequest is how an uploaded file is read: its format, the bank's reference for it, whether only to
// validate it, and (for CSV, whose rows name only payees) the originator paying every row.
type PAYAFileRequest struct {
	Format     string `query:"format" enum:"csv,nacha" doc:"default csv"`
	Reference  string `query:"reference" maxLength:"140" doc:"the bank's own reference for the file, required unless dry_run: a repeat is refused with the original's id"`
	DryRun     bool   `query:"dry_run" doc:"validate and report; move nothing, store nothing"`
	PayerSHEBA string `query:"payer_sheba" maxLength:"64" doc:"the account paying every row (the employer): required"`
	PayerName  string `query:"payer_name" maxLength:"560" doc:"its holder: required"`
}

// PAYAFile is an uploaded file and its report. Status: validated (a dry run; not stored), accepted (its
// valid rows entered PAYA, wholly or in part), refused (unreadable, or a duplicate: OriginalID names the
// first).
type PAYAFile struct {
	ID         string      `json:"id,omitempty" doc:"absent for a dry run"`
	Bank       string      `json:"bank"`
	Reference  string      `json:"reference"`
	Format     string      `json:"format" enum:"csv,nacha"`
	Status     string      `json:"status" enum:"validated,accepted,refused"`
	Code       string      `json:"code,omitempty" doc:"why it was refused"`
	Message    string      `json:"message,omitempty"`
	OriginalID string      `json:"original_id,omitempty" doc:"a duplicate: the file first sent with this reference"`
	Cycle      string      `json:"cycle,omitempty" doc:"the cycle its entries wait for"`
	Report     *ach.Report `json:"report,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
}

// PAYAFileErrors is a page of a file's rejected rows, in row order.
type PAYAFileErrors struct {
	Errors     []ach.RowError `json:"errors"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// PAYAMandateRequest is a biller's request for a mandate, through its bank (the caller).
type PAYAMandateRequest struct {
	BillerSHEBA       string `json:"biller_sheba" maxLength:"64"`
	BillerName        string `json:"biller_name" maxLength:"560"`
	PayerSHEBA        string `json:"payer_sheba" maxLength:"64"`
	PayerName         string `json:"payer_name,omitempty" maxLength:"560"`
	MaxPerDebitRial   int64  `json:"max_per_debit_rial" minimum:"1"`
	MaxDebitsPerMonth int    `json:"max_debits_per_month" minimum:"1" maximum:"1000" doc:"per Jalali month, Tehran time"`
	StartDate         string `json:"start_date" doc:"YYYY-MM-DD or Jalali YYYY/MM/DD"`
	EndDate           string `json:"end_date" doc:"YYYY-MM-DD or Jalali YYYY/MM/DD, inclusive"`
	BillerReference   string `json:"biller_reference" minLength:"1" maxLength:"140" doc:"the biller's own reference: a repeat returns the original"`
}

// PAYAMandate is a mandate as the switch keeps it. Status: requested (waiting for the payer's bank), active,
// revoked (by the payer, through its bank), expired (past its end date), rejected (by the payer's bank).
type PAYAMandate struct {
	ID                string     `json:"id"`
	Status            string     `json:"status" enum:"requested,active,revoked,expired,rejected"`
	BillerBank        string     `json:"biller_bank"`
	BillerSHEBA       string     `json:"biller_sheba"`
	BillerName        string     `json:"biller_name"`
	PayerBank         string     `json:"payer_bank"`
	PayerSHEBA        string     `json:"payer_sheba"`
	PayerName         string     `json:"payer_name,omitempty"`
	MaxPerDebitRial   int64      `json:"max_per_debit_rial"`
	MaxDebitsPerMonth int        `json:"max_debits_per_month"`
	StartDate         string     `json:"start_date" doc:"YYYY-MM-DD"`
	EndDate           string     `json:"end_date" doc:"YYYY-MM-DD"`
	BillerReference   string     `json:"biller_reference"`
	Month             string     `json:"month,omitempty" doc:"the Jalali month of the debits counted (YYYY/MM)"`
	DebitsThisMonth   int        `json:"debits_this_month"`
	Reason            string     `json:"reason,omitempty" doc:"why it was rejected"`
	CreatedAt         time.Time  `json:"created_at"`
	DecidedAt         *time.Time `json:"decided_at,omitempty"`
}

// PAYAMandatePage is a page of mandates.
type PAYAMandatePage struct {
	Mandates   []PAYAMandate `json:"mandates"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// PAYAMandateDecision is the payer's bank's answer to a requested mandate, or a revocation's reason.
type PAYAMandateDecision struct {
	Reason string `json:"reason,omitempty" maxLength:"140"`
}

// PAYACycle is one cycle: its cut-off, its state, and once settled each bank's net and what was delivered.
// Status: open (taking entries), closing (its window closed, the nets being settled), delivering (settled;
// entries being posted or handed to the receiving banks), done.
type PAYACycle struct {
	ID        string         `json:"id" doc:"its cut-off, YYYY-MM-DDTHH:MM Tehran"`
	Jalali    string         `json:"jalali" doc:"YYYY/MM/DD HH:MM"`
	Status    string         `json:"status" enum:"open,closing,delivering,done"`
	CutOff    time.Time      `json:"cut_off"`
	Entries   int            `json:"entries" doc:"settled in this cycle"`
	TotalRial int64          `json:"total_rial"`
	Deferred  int            `json:"deferred" doc:"entries moved to the next cycle"`
	Excluded  []PAYAExcluded `json:"excluded,omitempty" doc:"banks left out: short of liquidity, or suspended"`
	Nets      []PAYANet      `json:"nets"`
	NetSet    string         `json:"net_set,omitempty" doc:"the net settlement's id (GET /v1/operator/rtgs/netsets/{id})"`
	SettledAt *time.Time     `json:"settled_at,omitempty"`
	DoneAt    *time.Time     `json:"done_at,omitempty"`
}

// PAYAExcluded is a bank a cycle left out, and why.
type PAYAExcluded struct {
	Bank   string `json:"bank"`
	Reason string `json:"reason" enum:"short,suspended"`
}

// PAYANet is one bank's part of a cycle: what it sent and received, and its net (positive: it paid).
type PAYANet struct {
	Bank        string `json:"bank"`
	SentEntries int    `json:"sent_entries"`
	SentRial    int64  `json:"sent_rial" doc:"its customers paid: credits it originated, debits it received"`
	RecvEntries int    `json:"received_entries"`
	RecvRial    int64  `json:"received_rial"`
	NetRial     int64  `json:"net_rial" doc:"paid less received: positive, it paid the switch; negative, it was paid"`
	Posted      int    `json:"posted" doc:"of the entries it received"`
	Returned    int    `json:"returned"`
	Awaiting    int    `json:"awaiting" doc:"handed to it as an external bank, its answer awaited until the return deadline"`
}

// PAYACyclePage is a page of cycles, newest first.
type PAYACyclePage struct {
	Cycles     []PAYACycle `json:"cycles"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// PAYACycleRun is the operator's request to run a cycle now (the simulated clock's cycles run by themselves).
type PAYACycleRun struct {
	Cycle string `json:"cycle,omitempty" doc:"the cycle (its id) to close; default the open cycle whose cut-off is next"`
}

// PAYABackend serves PAYA's routes. bank is the caller's.
type PAYABackend interface {
	// SubmitEntry validates and accepts one entry; created is false for a repeat of its reference. A rejected
	// entry answers CodeEntryRejected naming the field and position, and is not kept.
	SubmitEntry(ctx context.Context, bank string, req PAYAEntryRequest) (e PAYAEntry, created bool, err error)
	PAYAEntry(ctx context.Context, bank, id string) (PAYAEntry, error)
	// PAYAEntries lists the caller's entries (as originator or receiver), newest first; file narrows to one
	// file's, cycle to one cycle's.
	PAYAEntries(ctx context.Context, bank, status, direction, file, cycle, cursor string, limit int) (PAYAEntryPage, error)
	// ReturnEntry is an external receiving bank's return of an entry delivered to it, before its deadline.
	ReturnEntry(ctx context.Context, bank, id, code string) (PAYAEntry, error)
	// UploadFile reads a file from body (at most PAYAFileBytesMax bytes) and validates it, and unless
	// req.DryRun accepts its valid rows. created is false for a refused duplicate (the original's id in the
	// file's OriginalID).
	UploadFile(ctx context.Context, bank string, req PAYAFileRequest, body io.Reader) (f PAYAFile, created bool, err error)
	PAYAFile(ctx context.Context, bank, id string) (PAYAFile, error)
	PAYAFileErrors(ctx context.Context, bank, id, cursor string, limit int) (PAYAFileErrors, error)
	RequestMandate(ctx context.Context, bank string, req PAYAMandateRequest) (m PAYAMandate, created bool, err error)
	PAYAMandate(ctx context.Context, bank, id string) (PAYAMandate, error)
	PAYAMandates(ctx context.Context, bank, status, cursor string, limit int) (PAYAMandatePage, error)
	// DecideMandate is the payer's bank approving ("approve") or rejecting ("reject") a requested mandate,
	// or revoking ("revoke") an active one for its customer.
	DecideMandate(ctx context.Context, bank, id, action, reason string) (PAYAMandate, error)
	PAYACycles(ctx context.Context, cursor string, limit int) (PAYACyclePage, error)
	// PAYACycle is one cycle; for a bank, only its own net (and the banks it left out).
	PAYACycle(ctx context.Context, bank, id string) (PAYACycle, error)
	// PAYADelivery writes the caller's delivered entries of a cycle as a NACHA file or CSV (format "nacha" or
	// "csv") to w. It answers CodeDeliveryMissing before the cycle delivered.
	PAYADelivery(ctx context.Context, bank, id, format string, w io.Writer) error
	// RunCycle closes a cycle now (the operator), and answers it as it ended.
	RunCycle(ctx context.Context, req PAYACycleRun) (PAYACycle, error)
}
