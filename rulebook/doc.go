// Package rulebook owns the figures of the rails that changed over the years
// (DOMAIN.md §9): the PAYA cap per entry, the SATNA minimum for customer
// orders, the card-to-card daily limit, SATNA's hours, PAYA's cycles, the
// fees, and the SATNA return fee and deadline. A Profile is one named set of
// them with the date it took effect; a Book holds the profiles and answers
// "which profile is called X" and "which profile was in force on day D".
//
// Three profiles are embedded (profiles/*.json): seed, the user's design
// card and the project default, undated; 1400, in force from 1400-10-25; and
// 1404, from 1404-02-14, both from CBI circulars reported in the press.
// Figures DOMAIN.md does not give are simulator defaults, and each profile
// lists them in SimulatorDefaults: the SATNA return fee (a flat 50,000
// rial, chosen so that a return visibly costs the sender something while
// staying far below the smallest SATNA order) and the return deadline (one
// business day, DOMAIN.md §4's "by the end of the next business day"). A
// config file read by Load can change any figure of any profile, or add
// profiles.
//
// Engines must take every one of these figures from a Profile, never write
// them as literals. The package is a pure leaf: it must never read the
// clock, the environment or a file of its own accord (Load takes a reader),
// never log, and import nothing beyond the standard library and calendar.
package rulebook
