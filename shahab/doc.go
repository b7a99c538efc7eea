// Package shahab will own the card-to-card rail (SHAHAB in the design card; the CBI calls it SAHAB): instant
// transfers routed by BIN, the per-card daily limit, a pending debit at the issuer that is posted when the
// acquirer credits or voided (an automatic refund, no fee) when it cannot, and the switch obligations netted
// into settlement cycles (DOMAIN.md §6). Card numbers themselves are parsed by package card.
//
// It is an engine: it must never open a connection, read the wall clock or import another engine or adapter.
//
// Not built yet: this file marks where it will live.
package shahab
