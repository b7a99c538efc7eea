// Package sheba reads, checks and makes SHEBA numbers, Iran's IBANs
// (DOMAIN.md §2): "IR", two check digits, a 3-digit CBI bank code, an
// account-type digit and an 18-digit account number, 26 characters in all.
//
// It owns:
//   - normalising what people type: spaces, tabs, no-break spaces (U+00A0),
//     zero-width non-joiners (U+200C) and the invisible direction marks that
//     copying from right-to-left text adds (U+200E, U+200F) are dropped;
//     lower-case ASCII letters are upper-cased; Persian (۰–۹) and
//     Arabic-Indic (٠–٩) digits become ASCII digits;
//   - the checks, reported as one typed [Code] with a position;
//   - making SHEBAs ([Generate]) and the ISO 7064 MOD 97-10 arithmetic
//     shared with any country's IBAN ([Checksum]).
//
// # Order of checks
//
// The first failure is reported, in this order:
//
//  1. character: a character that normalising does not accept (anything but
//     the separators above, ASCII letters and the three kinds of digit).
//     This comes first, before length, because the offending character is
//     the most useful thing to show: "IR82-0540…" is reported as a bad
//     character at position 5, not as a wrong length.
//  2. length: not 26 characters after normalising. An input of more than
//     256 bytes is a length error at once, without looking for characters:
//     no spelling of a SHEBA comes near that size.
//  3. country: not "IR"; position 1 or 2, whichever is wrong first.
//  4. character: a letter after "IR"; position of the first one.
//  5. checksum: MOD 97-10 of the whole number is not 1, or the check digits
//     are 00, 01 or 99, which ISO 13616 never issues; position 3.
//  6. unknown_bank: positions 5–7 name no bank; position 5.
//  7. inactive_bank: the bank was merged or dissolved; the message names
//     the bank that took over its accounts; position 5.
//  8. account_type: the digit at position 8 is not 0–3; position 8.
//
// Steps 6 and 7 need a [Directory]; with a nil one they are skipped, so a
// SHEBA naming the CBI's worked-example code 296 passes. Positions are
// 1-based and count characters (runes) of the input as given, separators
// included, so a user can find the character in what they typed; a byte
// that is not valid UTF-8 counts as one character. Every error is a
// *[Error], and errors.Is(err, sheba.CodeChecksum) works for each code.
//
// Validating a string already in canonical form ("IR" and 24 ASCII digits)
// allocates nothing, on success or on a checksum failure.
//
// This package is a leaf: standard library only. It must never read files,
// the network or the clock, log, or import the bank registry: bank facts
// come through [Directory], which banks.Registry satisfies.
package sheba
