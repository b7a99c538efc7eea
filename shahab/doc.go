// Package shahab owns the card-to-card rail's rules (SHAHAB in the design card; the CBI calls it SAHAB,
// running over the Shetab card switch; DOMAIN.md §6): what a transfer request must hold and where it is
// wrong (Validate), the documented order in which a transfer's source card is checked and the codes of each
// outcome (Check), the daily limit per source card per Tehran calendar day across every channel (Usage),
// the retrieval reference number a transfer carries (RRN), and the card switch's settlement windows (Window).
// Card numbers themselves are parsed by package card; fees and the figures come from the rulebook.
//
// The flow these rules serve lives in the switch (internal/server/shahab.go): on-us transfers are one chain
// in the issuer's book; interbank ones a pending debit at the issuer, the destination bank's credit, then the
// pending debit posted (success, fee charged) or voided (an automatic refund, no fee), and the switch's
// obligations netted and settled per window through rtgs's net settlement.
//
// It is an engine: it must never open a connection, read the wall clock or import another engine or adapter.
package shahab
