// Package card reads and checks bank card numbers (PANs) of the Shetab
// network (DOMAIN.md §2): 16 digits, a Luhn check digit, and a 6-digit BIN
// that names the issuing bank.
//
// It owns:
//   - normalising what people type: spaces, tabs, dashes, no-break spaces
//     (U+00A0), zero-width non-joiners (U+200C) and the direction marks
//     U+200E and U+200F are dropped; Persian (۰–۹) and Arabic-Indic (٠–٩)
//     digits become ASCII digits;
//   - the checks, reported as one typed [Code] with a position;
//   - routing a card by its BIN through a [Directory] to the bank that
//     handles it today, which for a merged bank's BIN is its successor
//     (627381 Ansar routes to 015 Sepah);
//   - making valid test PANs for a BIN ([Generate]).
//
// # Order of checks
//
// The first failure is reported, in this order, the same rule as package
// sheba follows:
//
//  1. character: a character that normalising does not accept, at its
//     position. It comes before length so that "6037-99xx-…" points at the
//     "x" rather than at a count.
//  2. length: not 16 digits after normalising. An input of more than 256
//     bytes is a length error at once, without looking for characters.
//  3. luhn: the Luhn check fails; position 16, the check digit.
//  4. zero_segment: digits 2–11 are all zero (position 2), or digits 11–16
//     are all zero (position 11).
//  5. unknown_bin: the first 6 digits name no bank; position 1. Skipped
//     with a nil Directory.
//
// Positions are 1-based and count characters (runes) of the input as given,
// separators included; a byte that is not valid UTF-8 counts as one.
// Every error is a *[Error]; errors.Is(err, card.CodeLuhn) works for each
// code.
//
// This package is a leaf: standard library only. It must never read files,
// the network or the clock, log, or import the bank registry: banks come
// through [Directory], which banks.Registry satisfies. It never stores or
// prints a whole card number on its own: messages carry positions and at
// most the BIN, and [PAN.Masked] is the form for logs and screens.
package card
