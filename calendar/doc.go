// Package calendar owns the days the rails keep: Gregorian and Jalali
// (Solar Hijri) dates and the conversion between them, the Asia/Tehran time
// zone, the official holidays of each Jalali year, and the business-day
// questions of DOMAIN.md §3 — is this a business day and why not, the next
// one on or after a date, N business days after a date, the holidays of a
// year.
//
// A business day is neither a Friday (the weekend), nor a Thursday when the
// calendar closes Thursdays, nor a holiday. Holidays come from one table per
// Jalali year, embedded in the package (holidays/1403.tsv, 1404.tsv and the
// provisional 1405.tsv), each row giving both its Jalali and its Gregorian
// date, which the loader checks against each other. A date in a year with no
// table is an error (ErrNoTable), never "no holiday".
//
// The package is a pure leaf. It must never read the wall clock (time is
// always passed in), the environment or any file at run time (its tables are
// compiled in), never log, and never import anything but the standard
// library.
package calendar
