// Package ledger is the double-entry state machine at the heart of the switch: it decides, in memory, whether
// each transfer of a batch may move money, applies the ones that may, and says exactly what changed so that a
// writer can persist the batch in one database transaction (ARCHITECTURE.md, "decide in memory, persist in
// batches"; TigerBeetle's state machine is the model).
//
// It owns:
//   - accounts and their four balances in rial (debits and credits, posted and pending), per ledger
//     ([LedgerCBI] for the central bank's settlement accounts, 1000 + a bank's CBI code for its customer book),
//     and each account's external key (a SHEBA, a PAN), unique within its ledger ([Ledger.AccountByKey]);
//   - the decision on every transfer, a [Result] code in a fixed order of precedence (below);
//   - the idempotency index: every applied transfer by id, so a repeat gets [Exists] and changes nothing, and
//     every remembered rejection, so a repeat gets the same code;
//   - two-phase transfers: pending reservations, their post (in full or in part), void and expiry;
//   - linked chains, applied all-or-nothing, and netted chains ([FlagNet]): a PAYA cycle's net settlement, an
//     offsetting set of SATNA orders, a gridlock resolved on its net effect;
//   - the timestamps of applied transfers, strictly increasing across all batches;
//   - the retention of ids in memory ([Ledger.SetRetention]) and the list of those it must have looked up
//     ([Ledger.Missing]);
//   - the money invariants (DOMAIN.md §7), asserted at the end of every batch in O(changed accounts),
//     checked in full by [Ledger.CheckInvariants] and, for stored data, by [Recompute].
//
// It must never do I/O, read the clock (Begin and Decide take now from the caller's injected clock), log,
// start goroutines or import anything outside the standard library. It is not safe for concurrent use: one
// writer goroutine owns a Ledger. For each batch the writer calls [Ledger.Begin], loads from storage what
// [Ledger.Missing] names ([Ledger.RestoreTransfer], [Ledger.RestoreRejected]), decides each caller's request
// with [Ledger.Submit] and its own decisions with [Ledger.Propose], then [Ledger.End], and persists the
// [Batch] before it answers anyone; [Ledger.Decide] is Begin, one Submit and End. Nothing is ever undone by
// hand: there is no Rollback. When a write fails — a batch, or accounts made by [Ledger.CreateAccounts] — the
// writer stops and rebuilds the Ledger from storage, at start-up, with [Ledger.RestoreAccount],
// [Ledger.RestoreTransfer] and [Ledger.RestoreRejected], so memory never parts from what was persisted.
//
// # Order of precedence
//
// A transfer that breaks several rules gets the first of these codes (their numeric order). A remembered
// rejection of its id comes right after id_zero and id_duplicate, before everything else (id_time_future
// included): the repeat gets that code again, whatever it carries.
//
//	linked_event_failed           another member of its linked chain failed (the failing member gets its own code)
//	linked_event_chain_open       the call's last transfer has FlagLinked
//	id_zero
//	id_duplicate                  the id appears earlier in the same Submit or Propose call
//	id_time_future                a new UUIDv7 more than the retention window ahead of now (with a window only)
//	timestamp_must_be_zero        the ledger sets Timestamp
//	flags_invalid                 unknown bits, two of pending / post / void, FlagNet on a non-plain transfer or unlike its chain
//	reference_too_long            more than ReferenceLenMax bytes
//	reference_invalid             not valid UTF-8, or holds a NUL byte
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
//	exceeds_balance               a debit account without FlagNegativeAllowed would go below zero (FlagNet: after the chain)
//
// The order follows TigerBeetle's CreateTransferResult: first what the transfer says about itself, then
// whether its accounts exist, then idempotency, then the state it meets. Idempotency comes before the state
// checks on purpose: a repeat of an applied transfer is exists even after its account was blocked or its
// balance spent. Closed and blocked accounts come after the pending_* codes because a post or void may leave
// its accounts zero, so they are known only once the pending transfer is found. Four codes close holes a
// shorter list would leave: timestamp_must_be_zero (a caller-set timestamp), timeout_invalid (a deadline
// past int64), pending_ledger_mismatch and pending_amount_mismatch (a post or void that contradicts its
// pending transfer fails loudly instead of being silently corrected). reference_invalid keeps one caller's
// text that PostgreSQL would refuse from failing the database transaction of everyone batched with it.
//
// # Semantics worth knowing
//
// Rejections are remembered. A rejected id answers its first code for ever — in the same batch, in later
// ones, after a restart (the writer persists [Batch.Rejected] and restores it) — even once the state changed
// so that it would now succeed: an id names one decision, never a second attempt. A liquidity queue retries a
// SATNA order that failed with exceeds_balance under a new id. Not remembered, because they speak of the id
// itself or of another transfer, not of this one: ok, linked_event_failed, linked_event_chain_open, id_zero,
// id_duplicate, exists and exists_with_different_fields; those ids stay free (or, for exists, stay the
// applied transfer). [Ledger.Propose] remembers nothing and applies nothing unless all of it applies, so a
// rail's own decision that does not fit leaves no trace.
//
// Exists compares every field the caller supplies except Timestamp (UserData included); for a post or void,
// zero accounts, ledger, code and amount stand for the pending transfer's, as they do when deciding it. A
// linked chain whose every member is Exists is a retry of a chain that was applied and gets Exists throughout;
// any other failing member, Exists included, fails the whole chain. Each Submit call is a caller of its own:
// a chain left open at its end fails there and never links into the next call, and id_duplicate looks only
// within the call.
//
// A chain whose members all carry FlagNet is checked on its net effect: every member moves money, then each
// account it debited must be at or above its floor; otherwise the first member whose debit account is below
// gets exceeds_balance, the others linked_event_failed, and nothing applies. So a gridlock A→B, B→C, C→A of
// equal amounts between banks with nothing on account settles, moving no balance. A lone FlagNet transfer is
// a chain of one, decided as a plain transfer.
//
// For a post or void the ledger fills debit, credit, ledger (and code, when zero) from the pending transfer;
// a post's zero amount means the full pending amount, and a void records the pending amount. A partial post
// releases the rest of the reservation. A pending transfer with a timeout expires at the first Begin whose
// now reaches its timestamp + timeout; an empty batch does only that, and [Ledger.NextExpiry] says when the
// next one is due.
//
// Accounts: every account has a floor of zero (debits posted and pending never pass credits posted) unless it
// is created with FlagNegativeAllowed, so one created without flags can never create money by omission.
// FlagNegativeAllowed is fixed at creation, and KindIssuance (the CBI's own account, which creates money by
// going negative) must carry it; other kinds are labels. FlagBlocked and FlagClosed are the operator's,
// changed with SetAccountFlags, and a repeated CreateAccounts ignores them when comparing.
//
// Retention: with [Ledger.SetRetention] the ledger holds the ids of applied transfers and remembered
// rejections only for a window of time and up to a count, so memory stays bounded; active pending transfers
// are always held, and leave a window after they are posted, voided or expire. An id the ledger no longer
// holds is still in storage: [Ledger.Missing] names, for a request, every id the writer must look up before
// deciding it — any id not held, except a UUIDv7 whose time is after [Ledger.Horizon] (no id that late was
// ever forgotten, so it is new without a read). A new UUIDv7 more than the window ahead of now would hold its
// place in memory until its time came, stalling eviction for every id behind it: it gets id_time_future
// before any other rule, so it is neither applied nor remembered. [Ledger.Pin] keeps the ids of writes still
// in flight in memory whatever the window and the cap. With no retention set the ledger holds every id for
// ever.
package ledger
