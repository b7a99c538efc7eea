package postgres

// SetFaults installs fault hooks on a running store, for the tests of this package: before runs inside the
// write transaction just before COMMIT with the write connection's server pid; after runs once COMMIT
// succeeded, and an error from it makes the write's outcome look unknown. Nil clears a hook.
func SetFaults(s *Store, before func(pid uint32), after func() error) {
	s.hooks.Store(&hooks{beforeCommit: before, afterCommit: after})
}

// PipelinedTransfersMax is the largest write sent as one pipelined round trip, for the tests of both paths.
const PipelinedTransfersMax = pipelinedTransfersMax
