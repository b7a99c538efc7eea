package ledger

import "math"

// Limits. Every value that can grow has one; the comment says where it comes from.
const (
	// ReferenceLenMax bounds Transfer.Reference, in bytes: room for any rail's payment identifier (an ISO 20022
	// EndToEndId is at most 35 characters, a PAYA trace number 15 digits, a SHAHAB RRN 12) with a prefix.
	ReferenceLenMax = 64
	// NameLenMax bounds Account.Name, in bytes: 64 Persian letters (2 bytes each in UTF-8), enough for a bank's
	// full legal name and a purpose ("بانک ملی ایران — حساب تسویه").
	NameLenMax = 128
	// TimeoutMax bounds Transfer.Timeout, in seconds: 31 days, longer than any hold a rail takes (a card-to-card
	// reservation lasts minutes; a PAYA return is due by the end of the next business day, a week at most across
	// Nowruz). It also keeps timestamp + timeout far from int64 overflow.
	TimeoutMax = 31 * 24 * 3600
	// BatchLenMax bounds the transfers of one Submit, Propose or Decide call: the writer batches 1,000–10,000
	// transfers; a longer call is a bug in the caller, and it panics.
	BatchLenMax = 1 << 16
	// ExternalKeyLenMax bounds Account.ExternalKey, in bytes: a SHEBA is 26 characters and a PAN 16; 64 leaves
	// room for a rail's prefix ("pan:", "sheba:") without letting a key grow into a name.
	ExternalKeyLenMax = 64
	// TimeMax bounds the now given to Begin (and Decide), in unix nanoseconds: 2^62 ns is the year 2116, and the 2^62 ns
	// left above it mean that neither timestamp + 1 nor timestamp + TimeoutMax seconds can overflow int64.
	TimeMax = 1 << 62
)

// LedgerID names a ledger: a set of accounts in one currency and one book. A transfer moves money between two
// accounts of the same ledger and never crosses ledgers.
//
// LedgerCBI (1) is the central bank's settlement ledger, holding each bank's settlement account and the CBI's
// issuance account. A bank's customer book gets a ledger of its own, by convention 1000 + the bank's CBI code
// (Melli, code 017, keeps its customers in ledger 1017). Zero is invalid.
type LedgerID uint32

// LedgerCBI is the central bank's settlement ledger.
const LedgerCBI LedgerID = 1

// AccountKind says what an account is for. Values are persisted: never renumber them.
type AccountKind uint8

// Account kinds. Only KindIssuance has a rule attached (it must carry FlagNegativeAllowed); the others label
// accounts for reports and for the rails.
const (
	KindSettlement AccountKind = 1 + iota // a bank's settlement account at the CBI
	KindCustomer                          // a customer's account in a bank's book
	KindFee                               // fees collected by the switch or a bank
	KindSuspense                          // money in transit between books or awaiting investigation
	KindIssuance                          // the CBI's own account: the only one meant to create money; must be FlagNegativeAllowed
	KindClearing                          // a deferred rail's clearing account in a book (PAYA, the card switch): what is owed or due until the net settles
	KindMirror                            // a simulated bank's mirror, in its own book, of its settlement account at the CBI
	KindEquity                            // a simulated bank's own funds in its book: the other side of its customers' opening balances and of the liquidity the CBI gives it

	kindLast = KindEquity
)

var kindNames = [...]string{"", "settlement", "customer", "fee", "suspense", "issuance", "clearing", "mirror", "equity"}

// String returns the kind's snake_case name.
func (k AccountKind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind_invalid"
}

// AccountFlags hold an account's switches. Values are persisted: never renumber them.
type AccountFlags uint16

// Account flags.
const (
	// FlagNegativeAllowed lifts the floor of zero that every other account has (debits_posted + debits_pending
	// must not exceed credits_posted). Only accounts that are meant to go negative carry it — the CBI's issuance
	// account, a rail's clearing account — and only when created so explicitly: an account created without
	// it can never create money by omission. Fixed when the account is created.
	FlagNegativeAllowed AccountFlags = 1 << iota
	// FlagBlocked stops all debits and credits (the operator's freeze); set and cleared by SetAccountFlags.
	FlagBlocked
	// FlagClosed stops all debits and credits for good; set by SetAccountFlags.
	FlagClosed

	accountFlagsKnown    = FlagNegativeAllowed | FlagBlocked | FlagClosed
	accountFlagsOperator = FlagBlocked | FlagClosed // the flags SetAccountFlags may change
)

// Account is an account and its balances in rial. Balances only ever grow, except the pending ones, which
// shrink when a pending transfer is posted, voided or expires.
type Account struct {
	ID     ID
	Ledger LedgerID
	Kind   AccountKind
	Flags  AccountFlags
	Name   string
	// ExternalKey is the rail's name for the account (a SHEBA, a PAN), unique within its ledger; empty for
	// none. At most ExternalKeyLenMax bytes of printable UTF-8.
	ExternalKey string

	DebitsPending  int64
	DebitsPosted   int64
	CreditsPending int64
	CreditsPosted  int64
}

// Balance is what the account holds: credits posted minus debits posted.
func (a Account) Balance() int64 { return a.CreditsPosted - a.DebitsPosted }

// Available is what the account may still spend: its balance less the debits reserved by pending transfers.
// An account without FlagNegativeAllowed never has Available below zero.
func (a Account) Available() int64 { return a.CreditsPosted - a.DebitsPosted - a.DebitsPending }

// TransferFlags say what kind of transfer a Transfer is and whether it links to the next. Values are
// persisted: never renumber them.
type TransferFlags uint16

// Transfer flags. At most one of FlagPending, FlagPostPending and FlagVoidPending may be set; a transfer with
// none of them is a plain transfer, posted at once.
const (
	// FlagLinked chains this transfer to the next one in the batch: a chain is all the transfers up to and
	// including the first without FlagLinked, and it applies all-or-nothing.
	FlagLinked TransferFlags = 1 << iota
	// FlagPending reserves the amount (debits_pending, credits_pending) until it is posted, voided or expires.
	FlagPending
	// FlagPostPending posts the pending transfer PendingID, in full or in part.
	FlagPostPending
	// FlagVoidPending releases the pending transfer PendingID.
	FlagVoidPending
	// FlagNet checks a linked chain's floors on its net effect: every member moves money first, and only
	// then must each account debited by the chain be at or above its floor. A cyclic set A→B→C→A between banks
	// with nothing on account settles as one chain this way (gridlock offsetting, a PAYA cycle's nets). Every
	// member of the chain must carry it, and only plain transfers may (flags_invalid otherwise).
	FlagNet

	transferFlagsKnown = FlagLinked | FlagPending | FlagPostPending | FlagVoidPending | FlagNet
	flagsResolve       = FlagPostPending | FlagVoidPending
)

// Transfer moves Amount rial from DebitAccountID to CreditAccountID within one ledger.
type Transfer struct {
	ID              ID
	DebitAccountID  ID
	CreditAccountID ID
	Amount          int64
	Ledger          LedgerID
	Code            uint16 // the kind of movement, defined by the rails; the ledger only records it
	UserData        ID     // the rail's object that caused the transfer (an order, entry or card transfer id); zero for none
	Flags           TransferFlags
	PendingID       ID     // for FlagPostPending and FlagVoidPending: the pending transfer to resolve
	Timeout         int64  // for FlagPending: seconds until the reservation expires; 0 never expires
	Reference       string // free text: at most ReferenceLenMax bytes of UTF-8 without NUL
	Timestamp       int64  // unix nanoseconds, set by the ledger when applied; must be 0 on input
}

// PendingState is the state of a pending transfer. Values are persisted: never renumber them.
type PendingState uint8

// Pending states. Zero is not a state.
const (
	PendingActive  PendingState = 1 + iota // reserved, waiting to be posted or voided
	PendingPosted                          // posted (in full or in part) by a FlagPostPending transfer
	PendingVoided                          // released by a FlagVoidPending transfer
	PendingExpired                         // released by Begin when its timeout passed
)

var pendingNames = [...]string{"", "active", "posted", "voided", "expired"}

// String returns the state's snake_case name.
func (s PendingState) String() string {
	if int(s) < len(pendingNames) && s != 0 {
		return pendingNames[s]
	}
	return "pending_state_invalid"
}

// Stats counts what the ledger holds.
type Stats struct {
	Accounts      int   // accounts of every ledger
	Transfers     int   // transfers applied (and restored or loaded) and held in memory: the idempotency index
	Rejected      int   // rejected transfer ids held in memory: their rejections are remembered
	PendingActive int   // pending transfers still reserving money
	LastTimestamp int64 // the timestamp of the latest applied transfer, unix ns
}

const nsPerSecond = 1_000_000_000

// deadline is when pending transfer t expires, in unix ns; 0 when it never does.
func deadline(t *Transfer) int64 {
	if t.Timeout == 0 {
		return 0
	}
	if t.Timeout > (math.MaxInt64-t.Timestamp)/nsPerSecond { // only restored data can be this far out
		return math.MaxInt64
	}
	return t.Timestamp + t.Timeout*nsPerSecond
}

// addOverflows reports whether a + b overflows int64 for a, b >= 0.
func addOverflows(a, b int64) bool { return a > math.MaxInt64-b }
