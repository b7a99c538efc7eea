// Package ach will own PAYA, the automated clearing house: the direct-credit and direct-debit cores, entries
// validated row by row under the rulebook's per-entry cap, direct-debit mandates and their limits, settlement
// cycles with multilateral netting, and returns with reason codes (DOMAIN.md §5).
//
// It is an engine: pure decisions over the ledger, the calendar and the rulebook. It must never open a
// connection, read the wall clock or import another engine or adapter; entries reach it from Kafka through
// the adapters that cmd wires.
//
// Not built yet: this file marks where it will live.
package ach
