// Package rulebook owns the figures of the rails that changed over the years
// (DOMAIN.md §9): the PAYA cap per entry, the SATNA minimum for customer
// orders, the card-to-card daily limit, SATNA's hours and end of day, how
// far ahead a SATNA order may be dated, PAYA's cycles, the fees, and the
// SATNA return fee and deadline. A Profile is one named set of
// them with the date it took effect; a Book holds the profiles and answers
// "which profile is called X" and "which profile was in force on day D".
//
// Three profiles are embedded (profiles/*.json): seed, the user's design
// card and the project default, undated; 1400, in force from 1400-10-25; and
// 1404, from 1404-02-14, both from CBI circulars reported in the press.
// Figures DOMAIN.md does not give are simulator defaults, and each profile
// lists them in SimulatorDefaults:
//
//   - satna_end_of_day, 16:00: the end of SATNA's business day, an hour after
//     the bank-to-bank cut-off (15:00), so that the liquidity queue and
//     gridlock offsetting have time to settle orders accepted before their
//     cut-off before what is still unfunded is cancelled;
//   - satna_days_ahead_max, 5: an order may be dated up to five business
//     days after the day it is received, as TARGET2 lets a payment be
//     warehoused up to five business days ahead; counted in business days,
//     the window never shrinks over a run of holidays such as Nowruz;
//   - satna_return_fee, a flat 50,000 rial, chosen so that a return visibly
//     costs the sender something while staying far below the smallest SATNA
//     order;
//   - satna_return_deadline_business_days, 1: DOMAIN.md §4's "by the end of
//     the next business day".
//
// A config file read by Load can change any figure of any profile, or add
// profiles.
//
// Engines must take every one of these figures from a Profile, never write
// them as literals. The package is a pure leaf: it must never read the
// clock, the environment or a file of its own accord (Load takes a reader),
// never log, and import nothing beyond the standard library and calendar.
package rulebook
