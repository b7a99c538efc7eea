// Package rtgs will own SATNA, the real-time gross settlement rail: orders from banks and their customers,
// settled one by one at full value on the banks' settlement accounts at the central bank, final and irrevocable
// once accepted; the hours, cut-offs and holidays that move settlement to the next business day; the liquidity
// queue with its priorities and gridlock resolution; and returns less a fee (DOMAIN.md §4).
//
// It is an engine: pure decisions over the ledger, the calendar and the rulebook. It must never open a
// connection, read the wall clock or import another engine or adapter. PAYA and the card switch settle their
// nets through a small interface this package satisfies.
//
// Not built yet: this file marks where it will live.
package rtgs
