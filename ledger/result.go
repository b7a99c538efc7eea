package ledger

// Result is the ledger's decision on one transfer. Codes are listed, and numbered, in their order of
// precedence: when a transfer breaks several rules it gets the first one in this list (the smallest number),
// so a given transfer in a given state always gets the same answer. Only OK applies the transfer. The numbers
// are never persisted — remembered rejections are stored by name — so a new code goes in at its place in the
// order; the String names are stable and must never change.
type Result uint8

// Transfer results, in order of precedence. Doc comments say when each is returned.
const (
	OK Result = iota // applied

	LinkedEventFailed    // another member of this linked chain failed (that member carries its own code)
	LinkedEventChainOpen // the last transfer of the batch has FlagLinked: its chain never closes

	IDZero                    // ID is zero
	IDDuplicate               // the ID appears earlier in the same request: the caller's bug, and nothing is remembered
	IDTimeFuture              // a new UUIDv7 id more than the retention window ahead of now (only with a window); never remembered
	TimestampMustBeZero       // Timestamp is not zero: the ledger sets it
	FlagsInvalid              // unknown flag bits, two of pending / post / void, FlagNet off a plain transfer or unlike its chain's first member
	ReferenceTooLong          // Reference is longer than ReferenceLenMax bytes
	ReferenceInvalid          // Reference is not valid UTF-8 or holds a NUL byte (PostgreSQL text refuses both)
	AmountInvalid             // Amount <= 0 for a plain or pending transfer; < 0 for a post or void (0 = take it from the pending)
	PendingIDZero             // a post or void without PendingID
	PendingIDMustBeZero       // a plain or pending transfer with PendingID
	TimeoutReservedForPending // Timeout set on a transfer without FlagPending
	TimeoutInvalid            // a pending transfer's Timeout is negative or above TimeoutMax
	AccountsSame              // debit and credit name the same account
	DebitAccountNotFound      // no such debit account (a zero id is not found; for a post or void zero means "the pending's")
	CreditAccountNotFound     // no such credit account (same)
	LedgerMismatch            // the transfer's ledger and its accounts' ledgers differ

	ExistsWithDifferentFields // a transfer with this ID was applied before, with different fields
	Exists                    // this very transfer was applied before: the caller treats it as that success

	PendingNotFound          // PendingID names no applied transfer
	PendingNotPending        // PendingID names a transfer that is not pending
	PendingAccountsMismatch  // a post or void names debit or credit accounts other than the pending's
	PendingLedgerMismatch    // a post or void names a ledger other than the pending's
	PendingAmountMismatch    // a void names an amount other than the pending's
	PostAmountExceedsPending // a post's amount is more than the pending's
	PendingAlreadyPosted     // the pending transfer was posted already
	PendingAlreadyVoided     // the pending transfer was voided already
	PendingAlreadyExpired    // the pending transfer expired (named apart from the state PendingExpired)

	DebitAccountClosed   // the debit account is closed (a void is still allowed, to release money)
	CreditAccountClosed  // the credit account is closed (same)
	DebitAccountBlocked  // the debit account is blocked (same)
	CreditAccountBlocked // the credit account is blocked (same)

	Overflow       // a balance, or debits_posted + debits_pending, or credits_posted + credits_pending, would overflow int64
	ExceedsBalance // the debit account has no FlagNegativeAllowed and would go below zero (for a FlagNet chain: after the whole chain)

	resultCount // not a result: the number of results
)

var resultNames = [resultCount]string{
	OK:                        "ok",
	LinkedEventFailed:         "linked_event_failed",
	LinkedEventChainOpen:      "linked_event_chain_open",
	IDZero:                    "id_zero",
	IDDuplicate:               "id_duplicate",
	IDTimeFuture:              "id_time_future",
	TimestampMustBeZero:       "timestamp_must_be_zero",
	FlagsInvalid:              "flags_invalid",
	ReferenceTooLong:          "reference_too_long",
	ReferenceInvalid:          "reference_invalid",
	AmountInvalid:             "amount_invalid",
	PendingIDZero:             "pending_id_zero",
	PendingIDMustBeZero:       "pending_id_must_be_zero",
	TimeoutReservedForPending: "timeout_reserved_for_pending",
	TimeoutInvalid:            "timeout_invalid",
	AccountsSame:              "accounts_same",
	DebitAccountNotFound:      "debit_account_not_found",
	CreditAccountNotFound:     "credit_account_not_found",
	LedgerMismatch:            "ledger_mismatch",
	ExistsWithDifferentFields: "exists_with_different_fields",
	Exists:                    "exists",
	PendingNotFound:           "pending_not_found",
	PendingNotPending:         "pending_not_pending",
	PendingAccountsMismatch:   "pending_accounts_mismatch",
	PendingLedgerMismatch:     "pending_ledger_mismatch",
	PendingAmountMismatch:     "pending_amount_mismatch",
	PostAmountExceedsPending:  "post_amount_exceeds_pending",
	PendingAlreadyPosted:      "pending_already_posted",
	PendingAlreadyVoided:      "pending_already_voided",
	PendingAlreadyExpired:     "pending_expired",
	DebitAccountClosed:        "debit_account_closed",
	CreditAccountClosed:       "credit_account_closed",
	DebitAccountBlocked:       "debit_account_blocked",
	CreditAccountBlocked:      "credit_account_blocked",
	Overflow:                  "overflow",
	ExceedsBalance:            "exceeds_balance",
}

// String returns the result's snake_case name, stable for logs, APIs and storage.
func (r Result) String() string {
	if r < resultCount {
		return resultNames[r]
	}
	return "result_invalid"
}

// ParseResult returns the result with the given String name.
func ParseResult(name string) (Result, bool) {
	for r, n := range resultNames {
		if n == name {
			return Result(r), true
		}
	}
	return 0, false
}

// remembered reports whether a rejection with this code is remembered for its id, so that a repeat of the id
// answers it again and can never succeed later. Not remembered: a success, the codes that speak of the id
// itself or of another transfer (zero, a duplicate within the request, an applied transfer of that id, a
// chain member that failed because another did, a chain left open: the id may still be used rightly).
func (r Result) remembered() bool {
	switch r {
	case OK, LinkedEventFailed, LinkedEventChainOpen, IDZero, IDDuplicate, ExistsWithDifferentFields, Exists, IDTimeFuture:
		return false
	}
	return true
}

// AccountResult is the ledger's decision on creating one account, in order of precedence like Result.
type AccountResult uint8

// Account results, in order of precedence.
const (
	AccountOK                        AccountResult = iota // created
	AccountIDZero                                         // ID is zero
	AccountLedgerZero                                     // Ledger is zero
	AccountLedgerInvalid                                  // Ledger is above 2^31-1: storage keeps ledgers as PostgreSQL integer
	AccountKindInvalid                                    // Kind is not one of the Kind constants
	AccountFlagsInvalid                                   // unknown flag bits, or a KindIssuance account without FlagNegativeAllowed
	AccountNameTooLong                                    // Name is longer than NameLenMax bytes
	AccountNameInvalid                                    // Name is not valid UTF-8 or holds a NUL byte
	AccountExternalKeyInvalid                             // ExternalKey is longer than ExternalKeyLenMax, not valid UTF-8, or holds a control character
	AccountBalancesMustBeZero                             // a new account starts with every balance at 0
	AccountExistsWithDifferentFields                      // an account with this ID exists with another ledger, kind, name, external key or FlagNegativeAllowed
	AccountExists                                         // this very account exists (FlagBlocked and FlagClosed are not compared: the operator changes them)
	AccountExternalKeyTaken                               // another account of the same ledger has this ExternalKey

	accountResultCount // not a result
)

var accountResultNames = [accountResultCount]string{
	AccountOK:                        "ok",
	AccountIDZero:                    "id_zero",
	AccountLedgerZero:                "ledger_zero",
	AccountLedgerInvalid:             "ledger_invalid",
	AccountKindInvalid:               "kind_invalid",
	AccountFlagsInvalid:              "flags_invalid",
	AccountNameTooLong:               "name_too_long",
	AccountNameInvalid:               "name_invalid",
	AccountExternalKeyInvalid:        "external_key_invalid",
	AccountBalancesMustBeZero:        "balances_must_be_zero",
	AccountExistsWithDifferentFields: "exists_with_different_fields",
	AccountExists:                    "exists",
	AccountExternalKeyTaken:          "external_key_taken",
}

// String returns the result's snake_case name.
func (r AccountResult) String() string {
	if r < accountResultCount {
		return accountResultNames[r]
	}
	return "account_result_invalid"
}
