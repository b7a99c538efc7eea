// Package ach owns PAYA, the automated clearing house (DOMAIN.md §5), as pure decisions. Today it holds
// the entry model, entry validation under the rulebook's cap, and the PAYA fee. Still to come: payroll
// files, direct-debit mandates and their limits, settlement cycles with multilateral netting, returns with
// reason codes, NACHA files (ach/nacha).
//
// It owns:
//   - entries (Entry) of the two cores, credit and debit (Core), and who originates each;
//   - validation (Validate, CheckOriginator): a Rejection with a Code in a fixed order of precedence, naming
//     its field and, for a bad character, its position; the fee of an accepted entry (Fee).
//
// It is an engine. It must never do I/O of its own, read the wall clock,
// keep global state that changes, log, start goroutines, or import anything but the standard library and
// the leaves (banks, rulebook, sheba) — never an adapter, never another engine. Every figure that changed
// over the years (the cap, the fee) comes from a rulebook.Profile, never a literal here.
//
// # Validation
//
// Validate checks, and reports the first failure of, in this order (the numeric order of the codes):
//
//  1. Shape and cap. core_invalid (credit | debit). amount_not_positive; amount_at_or_over_cap: the amount
//     must be within the profile's PAYACap — seed: below 150,000,000 rial, so 149,999,999 enters and
//     150,000,000 does not; 1400: at most 1,000,000,000; 1404: at most 2,000,000,000 — with a Hint naming
//     SATNA when its minimum for customer orders lets it carry the amount. The amount comes first, before
//     any other field, so that a file's list of over-cap rows can be complete: every entry over the cap is
//     refused as such, whatever else is wrong with it. reference_invalid
//     (required, at most ReferenceLenMax = 35 characters, printable). payer_name then payee_name:
//     name_missing, name_too_long (NameLenMax = 140), name_invalid. description (optional):
//     description_too_long (DescriptionLenMax = 140), description_invalid. mandate_id: mandate_missing on
//     a debit, mandate_not_allowed on a credit, mandate_invalid (at most 36 ASCII letters, digits and '-',
//     a UUID's text form; whether the mandate exists and allows the debit is the mandates' step, not built
//     yet). Text is valid UTF-8 and printable: no control character (tabs and line breaks included), no
//     U+FFFD, no byte-order mark, no line or paragraph separator, no bidirectional embedding, override or
//     isolate, which could make one name display as another; the zero-width non-joiner and the direction
//     marks of Persian text are fine. Lengths are counted in characters, as ISO 20022's Max35Text and
//     Max140Text, the limits SATNA uses too.
//  2. Identifiers. originating_bank: bank_unknown (not the 3-digit code of a bank), bank_inactive (merged or
//     dissolved: the message names the successor, which originates in its place). payer_sheba then
//     payee_sheba: sheba_invalid, with sheba.Parse's own code and position. A SHEBA of a merged or dissolved
//     bank is an account of the bank its chain of successors ends at (banks.Registry.Route: 063 Ansar's are
//     015 Sepah's), as the BINs of merged banks still route and as SATNA treats them; that bank receives it.
//  3. Agreement. originating_bank_mismatch: the originator's SHEBA (the payer's on a credit, the payee's on a
//     debit) must be an account of the originating bank. on_us: an entry whose two accounts are at one bank
//     is refused. The clearing house exists to settle what banks owe each other; an entry within one bank
//     creates no interbank obligation, would go through a cycle and a net settlement only to move nothing
//     between banks, and would pay a PAYA fee for a transfer the bank books itself at once and for free.
//     A central bank would not let its switch carry a member's internal transfers (SATNA refuses them too:
//     rtgs's on_us); a payroll file's rows for the employer's own bank are paid by that bank, not cleared.
//  4. State. bank_suspended: the originating bank, then the receiving bank, suspended by the operator.
//
// Env carries the reference data of the entry's day: the bank registry as of that day (banks.Registry.AsOf)
// with the operator's suspensions, and the rulebook profile in force. CheckOriginator runs step 1's name
// check and steps 2–4 on the originator alone, in the same order, so that a file is checked for its
// originator once and its rows only for their own fields.
//
// The fee (Fee) is the profile's PAYAFee: none under seed; from 1400, 0.01 % of the amount rounded half up to
// the rial, at least 2,000 and at most 25,000 rial, paid by the originator on top of the amount.
package ach
