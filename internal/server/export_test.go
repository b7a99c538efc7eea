package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/tasvieh/tasvieh/api"
	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
	"github.com/tasvieh/tasvieh/postgres"
)

// RailPayment is one customer payment of the test rail: from a customer of one bank to a customer of
// another (SHEBAs are ignored for an external bank, whose customers are outside tasvieh).
type RailPayment struct {
	FromBank, FromSHEBA string
	ToBank, ToSHEBA     string
	AmountRial          int64
}

// RailMoveForTest is the test rail PAYA and SHAHAB will replace: it moves payments through the clearing
// accounts of rail with intakeIn and deliverIn, as ONE move in one writer decision — the payers debited into
// their banks' clearing accounts, the payees credited out of theirs, the positions moved, all or nothing.
// failAfter makes the decider answer an error after its move applied (the batch still commits: what the rail
// keeps in memory must then be rebuilt from the rows).
func RailMoveForTest(ctx context.Context, s *Server, rail, ref string, failAfter bool, payments ...RailPayment) error {
	code := railCodes[rail][0]
	return s.clearing.decide(ctx, func(x *postgres.Decision) error {
		m := s.clearing.move()
		account := func(bank, sheba string) (ledger.ID, error) {
			if !s.world.live(bank) {
				return ledger.ID{}, nil
			}
			a, ok := x.AccountByKey(BookLedger(bank), sheba)
			if !ok {
				return ledger.ID{}, fmt.Errorf("no account %s in %s's book", sheba, bank)
			}
			return a.ID, nil
		}
		for i, p := range payments {
			from, err := account(p.FromBank, p.FromSHEBA)
			if err != nil {
				return err
			}
			to, err := account(p.ToBank, p.ToSHEBA)
			if err != nil {
				return err
			}
			id := func(part string) ledger.ID {
				return ledger.ID(ids.Derive("tasvieh.test.rail", rail, ref, strconv.Itoa(i), part))
			}
			if err := m.intakeIn(x, rail, p.FromBank, from, p.AmountRial, clearingLeg{ID: id("in"), Code: code, Reference: ref}); err != nil {
				return err
			}
			if err := m.deliverIn(x, rail, p.ToBank, to, p.AmountRial, clearingLeg{ID: id("out"), Code: code, Reference: ref}); err != nil {
				return err
			}
		}
		res, ok, err := m.proposeIn(x)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %v", ErrRailRefusedForTest, res)
		}
		if failAfter {
			return fmt.Errorf("test rail: failing after the move")
		}
		return nil
	})
}

// ErrRailRefusedForTest is the test rail's answer when the ledger refused its move.
var ErrRailRefusedForTest = fmt.Errorf("test rail: the ledger refused the move")

// UnbalancedIntakeForTest proposes a lone intake (no delivery): a bug in a rail, which proposeIn must refuse.
func UnbalancedIntakeForTest(ctx context.Context, s *Server, rail, bank, sheba string, amount int64) error {
	return s.clearing.decide(ctx, func(x *postgres.Decision) error {
		m := s.clearing.move()
		a, _ := x.AccountByKey(BookLedger(bank), sheba)
		if err := m.intakeIn(x, rail, bank, a.ID, amount, clearingLeg{ID: ledger.ID(ids.Derive("tasvieh.test.lone", bank, sheba)), Code: railCodes[rail][0]}); err != nil {
			return err
		}
		_, _, err := m.proposeIn(x)
		return err
	})
}

// PositionsForTest are the positions in memory, by "rail:bank", non-zero ones.
func PositionsForTest(s *Server) map[string]int64 {
	out := map[string]int64{}
	for _, p := range s.clearing.positions("") {
		out[p.Rail+":"+p.Bank] = p.NetRial
	}
	return out
}

// SetOffsetChunkFault makes the completion of large offsetting sets' chunks fail with f's error (nil f: no
// fault), as a crash between a set's commit point and its completion would leave them.
func SetOffsetChunkFault(s *Server, f func() error) {
	s.satna.mu.Lock()
	defer s.satna.mu.Unlock()
	s.satna.chunkFault = f
}

// PanicAfterMirrorNetForTest runs one SATNA decision that records an interbank mirror net for bank (as
// settleIn does for an applied interbank order) and then panics, as a bug further on in the same decision
// would: the writer drops the batch unwritten and reloads (postgres.runDecider), the rail resyncs.
func PanicAfterMirrorNetForTest(ctx context.Context, s *Server, bank string, rial int64) error {
	r := s.satna
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.decide(ctx, func(x *postgres.Decision) error {
		r.addNets([]mirrorNet{{bank, rial}}, "review-panic")
		panic("review: a bug after an order's mirror net was recorded")
	})
}

// PAYAForTest is the PAYA backend itself, for tests that call it without HTTP.
func PAYAForTest(s *Server) api.PAYABackend { return backend{s} }

// SetPAYAFault makes PAYA's cycles fail at a stage: f answers an error for the stage named (nil: go on).
func SetPAYAFault(s *Server, f func(stage string) error) {
	s.paya.cycleMu.Lock()
	s.paya.fault = f
	s.paya.cycleMu.Unlock()
}

// ShahabReloadAfterForTest runs the card rail's error path of closeWindow and settleWindow (reloadAfter: the
// rail's memory rebuilt from the tables) as a failed or cancelled window decision does — outside the
// clearing mutex, while the batcher may be deciding.
func ShahabReloadAfterForTest(s *Server) {
	s.shahab.reloadAfter(context.Background(), errors.New("review: a window decision failed"))
}
