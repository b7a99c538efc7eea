// Package ach owns PAYA, the automated clearing house (DOMAIN.md §5), as pure decisions: the entry model,
// entry validation under the rulebook's cap, the PAYA fee, payroll CSV and NACHA files (read streaming,
// written split on NACHA's control widths), their validation reports, direct-debit mandates and their limits,
// the return codes and the receiving banks' delivery files, and a generator of test files. Intake, cycles,
// netting and posting are the switch's (internal/server/paya*.go), which calls these rules.
//
// It owns:
//   - entries (Entry) of the two cores, credit and debit (Core), and who originates each;
//   - validation (Validate, CheckOriginator): a Rejection with a Code in a fixed order of precedence, naming
//     its field and, for a bad character, its position; the fee of an accepted entry (Fee);
//   - payroll CSV files (CSVReader): rows read one at a time in bounded memory, each fault of a row a
//     RowError with its row, field and character position, each fault of the file a FileError;
//   - the validation report of a file (Report, DryRunCSV, DryRunNACHA);
//   - NACHA files in the PAYA profile (ReadNACHA, WriteNACHA);
//   - mandates (ValidateMandateRequest, Approve, Reject, Revoke, Expire, CheckDebit);
//   - return codes (ReturnCode) and deliveries (WriteDeliveryCSV, ReadDeliveryCSV, WriteDeliveryNACHA);
//   - test files (Generate, GenerateFiles).
//
// It is an engine. It must never do I/O of its own (a file comes in as an io.Reader), read the wall clock,
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
//     any other field, so that a file's list of over-cap rows is complete: every row whose amount can be
//     read and is over the cap is listed as such, whatever else is wrong with it. reference_invalid
//     (required, at most ReferenceLenMax = 35 characters, printable). payer_name then payee_name:
//     name_missing, name_too_long (NameLenMax = 140), name_invalid. description (optional):
//     description_too_long (DescriptionLenMax = 140), description_invalid. mandate_id: mandate_missing on
//     a debit, mandate_not_allowed on a credit, mandate_invalid (at most 36 ASCII letters, digits and '-',
//     a UUID's text form; whether the mandate exists and allows the debit is CheckDebit's, at intake). Text is valid UTF-8 and printable: no control character (tabs and line breaks included), no
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
//
// # Payroll CSV files
//
// A file is UTF-8 text (an optional UTF-8 byte-order mark is skipped; a UTF-16 one is refused) in RFC 4180
// CSV: fields separated by commas, records by line breaks (LF or CRLF), a field quoted with '"' when it holds
// a comma, a quote (doubled) or a line break. Line 1 is the header, naming the columns sheba, amount, name,
// description and reference, each once, in any order and any case. A column the reader does not know,
// unnamed ones included, is refused unless CSVOptions.IgnoreUnknownColumns: a sheet's "currency" column
// saying toman, or a payment date, must not be paid as if it were not there. A missing column is a
// FileError naming it.
//
// Every following record is a data row, named by the 1-based physical line it starts on (the header is
// line 1; a record whose quoted field holds line breaks spans several lines and is named by its first).
// Values are trimmed of white space at either end. Blank records — empty lines, or records whose every field
// is empty, as spreadsheets export — are skipped and counted, and are not rows. A row's faults, in the order
// of the codes, each with its row, the physical line and character position of the fault, and its column:
//
//   - quote_unterminated: a quoted field never closes; the rest of the file was that field, one row.
//   - record_too_long: more than CSVRecordBytesMax (4 KiB) bytes. The record is read to its end, quotes
//     and all, without keeping it, so that the lines of a long quoted field are never taken for rows.
//   - csv_syntax: a quote inside an unquoted field, or anything but white space and a comma after a closing
//     quote. The record ends at the end of that physical line, and the next line is read afresh.
//   - fields_too_many (more than CSVFieldsMax = 32), field_count (not as many as the header's columns; an
//     unquoted "1,500,000" is the usual cause, and the Hint says so).
//   - utf8_invalid: the first byte that is not UTF-8, with its line, character and file offset.
//   - amount_invalid: the amount is not a whole number of rial as the reader reads one: ASCII, Persian (۰–۹)
//     or Arabic-Indic (٠–٩) digits, optionally grouped by thousands with one kind of separator throughout —
//     ',' (quoted, in CSV), '٬' (U+066C, what a Persian locale writes) or '،' (U+060C, the Persian comma) —
//     the first group one to three digits not starting with 0, every other exactly three. "۱۴۹٬۹۹۹٬۹۹۹" and
//     "1,500,000" read; "1,50,000", "1500,000", "1,500٬000" (two separators) do not. No sign, no decimal
//     point ('.', '٫', '/'), no unit; invisible direction marks at either end are ignored. At most 10^15.
//   - then Validate's codes on the row's credit, which Reject places in the line.
//
// Positions count characters (runes); an invalid byte counts as one. Limits: CSVRecordBytesMax per record,
// CSVFieldsMax fields, CSVRowsMax (1,000,000) data rows and CSVFileBytesMax (512 MiB) per file, counted as
// the bytes are read; CSVOptions may lower them. Past a file limit, reading stops with a FileError. The
// reader holds one record at a time (its buffers are allocated once, at most CSVRecordBytesMax each), and a
// Report keeps ReportErrorsMax (1,000) rejected rows and ReportOverCapMax (1,000) over-cap rows in full and
// counts the rest, so memory does not grow with the file.
//
// Not done here: duplicate references within a file. Finding them needs memory that grows with the file;
// the idempotency of (originating bank, reference) at intake catches them.
package ach
