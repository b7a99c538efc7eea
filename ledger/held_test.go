package ledger

import "testing"

// TestHeldTransfersKeepEveryField: a transfer held without pointers comes back whole, its reference included,
// and a later version without a reference does not inherit the earlier one's.
func TestHeldTransfersKeepEveryField(t *testing.T) {
	full := Transfer{ID: ID{1}, DebitAccountID: ID{2}, CreditAccountID: ID{3}, Amount: 4, Ledger: 5, Code: 6,
		UserData: ID{7}, Flags: FlagPending, PendingID: ID{8}, Timeout: 9, Reference: "ref 10", Timestamp: 11}
	bare := full
	bare.Reference = ""
	tests := []struct {
		name string
		puts []Transfer
		want Transfer
	}{
		{"with a reference", []Transfer{full}, full},
		{"without one", []Transfer{bare}, bare},
		{"reference dropped by a later version", []Transfer{full, bare}, bare},
		{"reference added by a later version", []Transfer{bare, full}, full},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHeldTransfers()
			for i := range tc.puts {
				h.put(&tc.puts[i])
			}
			got, ok := h.get(full.ID)
			if !ok || got != tc.want {
				t.Fatalf("got %+v (held %v), want %+v", got, ok, tc.want)
			}
			if h.len() != 1 || !h.has(full.ID) {
				t.Fatalf("len %d, has %v: want one held", h.len(), h.has(full.ID))
			}
			h.del(full.ID)
			if _, ok := h.get(full.ID); ok || h.len() != 0 || len(h.refs) != 0 {
				t.Fatalf("after del: still held (%v), len %d, refs %d", ok, h.len(), len(h.refs))
			}
		})
	}
}
