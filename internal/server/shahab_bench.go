package server

import (
	"context"

	"github.com/tasvieh/tasvieh/api"
)

// What `tasvieh bench shahab` (internal/bench/shahab.go) needs of a server in its own process: the card
// rail's submit as the API's route calls it, and the tables a card transfer writes rows to.

// SubmitShahab submits a card-to-card transfer as bank would over the API (POST /v1/shahab/transfers): the
// same backend method, answered when the transfer is decided — for an interbank one, once the destination
// has answered and the hold is posted or voided.
func (s *Server) SubmitShahab(ctx context.Context, bank string, req api.ShahabTransferRequest) (api.ShahabTransfer, bool, error) {
	return backend{s}.SubmitTransfer(ctx, bank, req)
}

// ShahabTables are the tables a card transfer writes rows to, directly or through the ledger and the
// clearing positions (StoredRowsByTable).
var ShahabTables = []string{"transfers", "pending_transfers", "account_batches", "outbox", "rail_objects", "shahab_transfers", "shahab_cards"}
