// Package banks is the registry of the member banks and credit institutions of
// Iran's payment rails: CBI code, English and Persian name, card BINs, BIC,
// status, and the successor of a bank that was merged or dissolved.
//
// It owns:
//   - the shipped table, banks.tsv, embedded in the binary and parsed once by
//     [Default] (the file is a copy of the project's shared data; nothing reads
//     it from disk at run time);
//   - parsing and writing that table ([Parse], [Registry.WriteTo]), with errors
//     that name the line and the field;
//   - lookups by CBI code and by BIN, and routing: the bank whose accounts and
//     cards a merged or dissolved bank's identifiers reach today
//     ([Registry.Route]);
//   - the operator's run-time suspension of a bank, as a new registry value
//     ([Registry.WithStatus]).
//
// A [Registry] is immutable once built, so any number of goroutines may read
// it at once; a change of status produces a new Registry.
//
// [Registry] satisfies the lookup interfaces of its users, sheba.Directory and
// card.Directory, by method shape alone: this package must never import sheba,
// card or any other project package. It is a leaf: standard library only. It
// must never read files or the network, read the clock, or log. It knows
// nothing about dates beyond carrying Bank.Since as written: the table says
// how the rails route today (Ayandeh's accounts and BIN 636214 go to Melli,
// dissolved 1404-08-03 / 2025-10-25), not how they routed before.
package banks
