// Package ledger is the double-entry state machine at the heart of the switch: it decides, in memory, whether
// each transfer of a batch may move money, applies the ones that may, and says exactly what changed so that a
// writer can persist the batch in one database transaction (ARCHITECTURE.md, "decide in memory, persist in
// batches"; TigerBeetle's state machine is the model).
//
// It owns:
//   - accounts and their four balances in rial (debits and credits, posted and pending), per ledger
//     ([LedgerCBI] for the central bank's settlement accounts, 1000 + a bank's CBI code for its customer book);
//   - the decision on every transfer, a [Result] code in a fixed order of precedence (below);
//   - the idempotency index: every applied transfer by id, so a repeat gets [Exists] and changes nothing;
//   - two-phase transfers: pending reservations, their post (in full or in part), void and expiry;
//   - linked chains, applied all-or-nothing: a PAYA cycle's net settlement, an offsetting set of SATNA orders;
//   - the timestamps of applied transfers, strictly increasing across all commits;
//   - the money invariants (DOMAIN.md §7), asserted after every Commit and Rollback in O(changed accounts),
//     checked in full by [Ledger.CheckInvariants] and, for stored data, by [Recompute].
//
// It must never do I/O, read the clock (Commit takes now from the caller's injected clock), log, start
// goroutines or import anything outside the standard library. It is not safe for concurrent use: one writer
// goroutine owns a Ledger, decides batches with [Ledger.Commit], persists each [Batch], undoes one that could
// not be persisted with [Ledger.Rollback], and at start-up rebuilds the Ledger from storage with
// [Ledger.RestoreAccount] and [Ledger.RestoreTransfer].
//
// # Order of precedence
//
// A transfer that breaks several rules gets the first of these codes (their numeric order):
//
//	linked_event_failed           another member of its linked chain failed (the failing member gets its own code)
//	linked_event_chain_open       the batch's last transfer has FlagLinked
//	id_zero
//	timestamp_must_be_zero        the ledger sets Timestamp
//	flags_invalid                 unknown bits, or more than one of pending / post / void
//	reference_too_long            more than ReferenceLenMax bytes
//	amount_invalid                <= 0 for plain and pending; < 0 for post and void (0 = the pending's amount)
//	pending_id_zero               post or void without PendingID
//	pending_id_must_be_zero       plain or pending with PendingID
//	timeout_reserved_for_pending  Timeout on a transfer without FlagPending
//	timeout_invalid               pending with Timeout < 0 or > TimeoutMax
//	accounts_same
//	debit_account_not_found       (post / void: only checked when given)
//	credit_account_not_found      (same)
//	ledger_mismatch               the transfer's and its accounts' ledgers differ (post / void: among given fields)
//	exists_with_different_fields  the id was applied before with other fields
//	exists                        the id was applied before with these fields: the original success
//	pending_not_found             post / void: PendingID names no applied transfer
//	pending_not_pending           ... names a transfer without FlagPending
//	pending_accounts_mismatch     ... given debit or credit differ from the pending's
//	pending_ledger_mismatch       ... given ledger differs from the pending's
//	pending_amount_mismatch       void with an amount other than the pending's
//	post_amount_exceeds_pending   post of more than the pending reserved
//	pending_already_posted
//	pending_already_voided
//	pending_expired
//	debit_account_closed          (void is allowed on closed and blocked accounts: it only releases)
//	credit_account_closed
//	debit_account_blocked
//	credit_account_blocked
//	overflow                      debits_posted + debits_pending or credits_posted + credits_pending would pass int64
//	exceeds_balance               a FlagNoNegative debit account would go below zero
//
// The order follows TigerBeetle's CreateTransferResult: first what the transfer says about itself, then
// whether its accounts exist, then idempotency, then the state it meets. Idempotency comes before the state
// checks on purpose: a repeat of an applied transfer is exists even after its account was blocked or its
// balance spent. Closed and blocked accounts come after the pending_* codes because a post or void may leave
// its accounts zero, so they are known only once the pending transfer is found. Four codes close holes a
// shorter list would leave: timestamp_must_be_zero (a caller-set timestamp), timeout_invalid (a deadline
// past int64), pending_ledger_mismatch and pending_amount_mismatch (a post or void that contradicts its
// pending transfer fails loudly instead of being silently corrected).
//
// # Semantics worth knowing
//
// Only applied transfers are recorded. A rejected transfer leaves no trace, so its id may be used again: a
// liquidity queue retries a SATNA order that failed with exceeds_balance under the same id once money
// arrives. Exists compares every field the caller supplies except Timestamp; for a post or void, zero
// accounts, ledger, code and amount stand for the pending transfer's, as they do when deciding it. A linked
// chain whose every member is Exists is a retry of a chain that was applied and gets Exists throughout; any
// other failing member, Exists included, fails the whole chain.
//
// For a post or void the ledger fills debit, credit, ledger (and code, when zero) from the pending transfer;
// a post's zero amount means the full pending amount, and a void records the pending amount. A partial post
// releases the rest of the reservation. A pending transfer with a timeout expires at the first Commit whose
// now reaches its timestamp + timeout; Commit with an empty batch does only that.
//
// Accounts: FlagNoNegative is fixed at creation; KindIssuance (the CBI's own account, which creates money by
// going negative) may not carry it; other kinds are labels. FlagBlocked and FlagClosed are the operator's,
// changed with SetAccountFlags, and a repeated CreateAccounts ignores them when comparing.
package ledger
