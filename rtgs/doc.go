// Package rtgs owns SATNA, the real-time gross settlement rail (DOMAIN.md §4), as pure decisions: whether an
// order may enter, when it may settle, which queued orders settle when liquidity arrives, which settle
// together when the queue is gridlocked, what a return carries and until when, and which of a deferred rail's
// nets settle. The wiring persists the orders, runs these decisions inside the ledger's writer on stable
// balances, and applies their money through the ledger in the same transaction as the orders' statuses.
//
// It owns:
//   - orders (Order), their types, priorities and statuses, and the statuses' legal moves (CanMove, Revoke);
//   - validation (Validate, CheckState): a Rejection with a Code in a fixed order of precedence, each code
//     stateless (the API's 422, nothing stored) or decided by state (a stored, rejected order), naming its
//     field; and the fee of an accepted order;
//   - timing (Schedule, Cutoff, EndOfDay): due now, or warehoused until a business day opens;
//   - the liquidity queue (Queue) and gridlock resolution (Offset);
//   - returns (NewReturn, ReturnAmount, ReturnDeadline);
//   - the net settlement contract of PAYA and the card switch (NetSettler, PlanNets).
//
// It is an engine. It must never do I/O, read the wall clock (every instant is passed in: ReceivedAt, now,
// settledAt), keep global state that changes, log, start goroutines, or import anything but the standard
// library and the leaves (banks, calendar, ledger, rulebook, sheba) — never an adapter, never another
// engine. Every figure that changed over the years comes from a rulebook.Profile, never a literal here.
//
// # Validation
//
// Validate checks, and reports the first failure of, in this order (the numeric order of the codes):
//
//  1. Shape. type_invalid (customer | interbank); priority_invalid (urgent | high | normal); amount_invalid
//     (1 to rulebook.AmountRialMax, 10^15); reference_invalid (required, at most ReferenceLenMax = 35
//     characters); payer_name_invalid and payee_name_invalid (required on a customer order, at most NameLenMax
//     = 140, absent on an interbank one); description_invalid (optional, at most DescriptionLenMax = 140).
//     Text must be valid UTF-8 and printable: no control character (tabs and line breaks included), no U+FFFD,
//     no line or paragraph separator, no bidirectional embedding, override or isolate (U+202A–U+202E,
//     U+2066–U+2069), which could make one name display as another; the zero-width non-joiner and the
//     direction marks of Persian text are fine. Position gives the first bad character.
//  2. Identifiers. sender_bank_unknown and sender_bank_inactive, then the same for the receiver: a 3-digit code
//     of a bank in the registry, neither merged nor dissolved (the message names the successor, which sends
//     and receives in its place). payer_sheba_invalid, payee_sheba_invalid: sheba.Parse's checks, in sheba's
//     order, with its position; on an interbank order, any SHEBA at all.
//  3. Agreement. payer_bank_mismatch, payee_bank_mismatch: the payer's SHEBA must be an account of the sender,
//     the payee's of the receiver, after routing: a SHEBA of a merged or dissolved bank is an account of the
//     bank its chain of successors ends at (banks.Registry.Route; 063 Ansar is 015 Sepah), just as the BINs
//     of merged banks still route (DOMAIN.md §2), so the successor is the one to send it. sender_is_receiver:
//     an interbank order from a bank to itself moves nothing. on_us: a customer order between two customers
//     of one bank is that bank's own book entry, not SATNA's business.
//  4. The rulebook of its day. below_minimum: a customer order under SATNAMinCustomerRial (seed 150,000,000;
//     1400: 500,000,000; 1404: 1,000,000,000 rial), with a Hint that PAYA carries such amounts and its cap
//     per entry (seed: < 150,000,000; 1400: ≤ 1,000,000,000; 1404: ≤ 2,000,000,000). A return is exempt: it is
//     the original less the return fee. effective_date_invalid, effective_date_past (before the Tehran day of
//     ReceivedAt), effective_date_too_far (after calendar.AddBusinessDays(that day, SATNADaysAheadMax), 5
//     business days, a simulator default, after TARGET2's five days of warehoused payments).
//  5. State. sender_bank_suspended, receiver_bank_suspended (CheckState, with the registry as of the day and
//     the operator's suspensions). queue_full comes from Queue.Add.
//
// Steps 1–4 are stateless: the request and the reference data of its day (bank table, rulebook, calendar)
// decide them, and the API answers 422 with the code's field. They all come before step 5 so that a request
// refused for its content is refused the same way whatever the switch's state; only a well-formed order is
// ever stored as rejected. The fee of an accepted customer order is SATNAFee.For(amount) on top of the amount,
// paid by the payer: none in seed, 0.02 % at most 250,000 rial from 1400. Interbank orders and returns pay no
// SATNA fee. Later codes explain later statuses: insufficient_liquidity_at_cutoff (cancelled_eod), and the
// answers to a revoke, irrevocable (settled, credited or returned: final) and order_closed.
//
// # Timing
//
// Schedule: an order is due at once when received on a business day between SATNAOpen (06:00) and its
// cut-off, excluded — SATNACustomerCutoff (14:30) for customer orders, SATNAInterbankCutoff (15:00) for
// interbank ones — and it carries no later effective date. Otherwise it is warehoused, and released when its
// day opens (06:00 on it): the first business day on or after its effective date when that is later than
// today; else today, when before the opening of a business day; else the first business day after today
// (received at or after the cut-off, or on a Friday or a holiday). So an order received on 1404-01-01
// (Nowruz) settles when 1404-01-05 (2025-03-25) opens, and one received after the cut-off on 1403-12-30
// waits over the Nowruz holidays for the same opening. Business days are calendar's: neither a Friday nor a
// holiday; a day in a Jalali year with no holiday table is an error (calendar.ErrNoTable), never "no holiday".
// Between the cut-off and SATNAEndOfDay (16:00, a simulator default) no new order is due, but the queue goes
// on settling what it holds as liquidity arrives; at the end of day Queue.CancelAll cancels the rest.
//
// # The liquidity queue
//
// An order due but short of its sender's balance waits in the Queue (at most QueueOrdersMax = 200,000 orders
// and QueuedRialMax = 4 × 10^18 rial). Each sender's orders are kept by priority — urgent, high, normal —
// then first in, first out by ReceivedAt, ties by ID. Release, given the balances, takes out what can settle
// now, in settlement order: senders by bank code; within a sender, urgent then high orders in strict FIFO (the
// first one not covered blocks everything of its sender behind it, as TARGET2 does for its urgent and high
// payments), then — once no urgent or high order of that sender waits — its normal orders by FIFO-bypass
// (each that the running balance covers settles, each that it does not is skipped, so a small later normal
// order may overtake a large earlier one, as TARGET2 allows for normal payments). Every released order
// credits its receiver's running balance, which may free the receiver's own queue in a further pass. A
// sender's queued orders never block another sender's: each waits for its own money.
//
// # Gridlock resolution
//
// Offset (Queue.Offset) takes every queued order as one set and settles it together when every bank's
// balance plus what it receives in the set minus what it pays is at least zero. When not, TARGET2's rule
// chooses what stays queued: repeatedly, the bank with the largest shortfall — ties to the lower bank code —
// has its own payment of lowest priority (normal before high before urgent), and of those the most recently
// received (latest ReceivedAt, then greatest ID), taken out of the set; its payee's position is recomputed
// (it receives less and may become short in turn); until no bank is short. The wiring applies the set as one
// netted chain (ledger.FlagNet), so the banks' settlement accounts move by the nets alone. It is O(n log n) at worst;
// BenchmarkOffset100k decides a 100,000-order gridlock among 30 banks.
//
// # Returns
//
// A receiving bank that cannot credit the payee of a settled customer order returns it (NewReturn): an order
// the other way of ReturnAmount = amount − SATNAReturnFee (a flat 50,000 rial, a simulator default; the fee is
// cut to the amount, so nothing is ever negative), linked by ReturnOf, priority high, by ReturnDeadline:
// SATNAEndOfDay on the SATNAReturnDeadlineBusinessDays-th business day after settlement (1: the end of the
// next business day).
//
// # Net settlement
//
// PAYA and the card switch settle their nets through NetSettler, which the wiring implements with PlanNets:
// from the obligations between banks, a bank that owes more, net, than its balance is short; the one with the
// largest shortfall (ties to the lower code) is excluded with every obligation to or from it, the others'
// nets are recomputed, and so on until none is short; what is left settles as one set, nets summing to zero.
package rtgs
