package server

import (
	"context"
	"encoding/binary"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasvieh/tasvieh/ledger"
)

// seenFilter answers, for a transfer id, "certainly never stored" or "maybe": a Bloom filter over every id
// the rail has stored or been asked for since it started, loaded at start from shahab_transfers. A submission
// whose id is certainly new skips the repeat look-up — a query per batch of submissions that was the largest
// single cost in PostgreSQL under load (`tasvieh bench shahab`, pg_stat_statements: some 3.7 ms a call, 0.7
// of a core) — and only a "maybe" (a repeat, or a false positive) is looked up. It never answers "new" for an
// id that was stored: ids are added before their transfer is decided, and the filter only grows.
type seenFilter struct {
	mu   sync.Mutex
	bits []uint64
	n    int64
}

const (
	// seenBits is the filter's size: 2^26 bits, 8 MiB. With seenHashes hashes a false "maybe" is under 1 in
	// 1,000 at a million ids and about 1 in 25 at ten million — each only a look-up, never a wrong answer.
	seenBits   = 1 << 26
	seenHashes = 4
)

func newSeenFilter() *seenFilter { return &seenFilter{bits: make([]uint64, seenBits/64)} }

// positions are the id's bit positions: transfer ids are SHA-256-derived, so their bytes are uniform and
// serve as the hashes themselves.
func seenPositions(id ledger.ID) [seenHashes]uint32 {
	var out [seenHashes]uint32
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(id[4*i:]) % seenBits
	}
	return out
}

func (f *seenFilter) add(id ledger.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range seenPositions(id) {
		f.bits[p/64] |= 1 << (p % 64)
	}
	f.n++
}

// maybe reports whether id may have been added.
func (f *seenFilter) maybe(id ledger.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range seenPositions(id) {
		if f.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

// load adds every stored transfer's id.
func (f *seenFilter) load(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `SELECT id FROM shahab_transfers`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var s string
	for rows.Next() {
		if err := rows.Scan(&s); err != nil {
			return err
		}
		id, err := ledger.ParseID(s)
		if err != nil {
			return err
		}
		f.add(id)
	}
	return rows.Err()
}
