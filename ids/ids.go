package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"io"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/tasvieh/tasvieh/clock"
)

const (
	// counterMax is the largest value of rand_a, the 12 bits after the version that serve as the counter.
	counterMax = 1<<12 - 1
	// counterSeedMask keeps the random seed of each new millisecond's counter below half its range (RFC 9562
	// §6.2, "counter rollover guards": the counter's top bit starts at zero), so that at least 2,048 ids fit
	// in a millisecond before the counter overflows. The ledger benchmark mints about 100 per millisecond.
	counterSeedMask = 1<<11 - 1
	// msMax is the largest 48-bit unix_ts_ms: the year 10889.
	msMax = 1<<48 - 1
	// randBufSize is how much crypto/rand output a random Source reads at once: 16 ids' worth at 16 bytes
	// each (8 for rand_b, 8 for a new millisecond's counter seed), so at most one read per 16 ids instead of
	// one per id.
	randBufSize = 16 * 16
)

// Source mints UUIDv7s (RFC 9562 §5.7). It is safe for concurrent use.
//
// Layout of each id: bytes 0–5 are the clock's unix time in milliseconds (big-endian, 48 bits; times before
// 1970 count as 0); the high nibble of byte 6 is the version, 7; the next 12 bits (rand_a) are a counter that
// starts from 11 random bits at each new millisecond and counts up by one for each further id in the same
// millisecond (RFC 9562 §6.2, method 1); the top two bits of byte 8 are the variant, binary 10; the remaining
// 62 bits (rand_b) are fresh randomness for every id.
//
// Ids from one Source are strictly increasing as byte strings, in the order New returns them, whatever the
// clock does: when it stands still or steps back, the Source keeps the last id's millisecond and counts on;
// when the counter would pass 4,095 it moves the millisecond on by one and reseeds the counter, running
// ahead of the clock until the clock catches up.
type Source struct {
	clock clock.Clock

	mu      sync.Mutex // guards all below
	seeded  *mrand.ChaCha8
	buf     [randBufSize]byte // crypto/rand output, for an unseeded Source
	off     int               // next unread byte of buf
	ms      int64             // the last id's timestamp; -1 before the first id
	counter uint16            // the last id's rand_a
}

// NewSource returns a deterministic Source: the same seed and the same sequence of clock readings give the
// same ids, byte for byte, in the same order (when goroutines share it, their interleaving decides which of
// them gets which id, so a replay needs the calls in the same order). Its randomness is math/rand/v2's ChaCha8 keyed with the seed's
// 8 little-endian bytes followed by 24 zero bytes; that construction is part of the contract, since changing
// it changes every replay. Its ids are predictable: use it for simulations, never where an id must be
// unguessable.
func NewSource(c clock.Clock, seed uint64) *Source {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	s := newSource(c)
	s.seeded = mrand.NewChaCha8(key)
	return s
}

// NewRandomSource returns a Source whose randomness comes from crypto/rand, read randBufSize bytes at a time.
func NewRandomSource(c clock.Clock) *Source {
	return newSource(c)
}

func newSource(c clock.Clock) *Source {
	if c == nil {
		panic("ids: a Source needs a clock")
	}
	s := &Source{clock: c, ms: -1}
	s.off = len(s.buf) // empty: the first use fills it
	return s
}

// New returns the next UUIDv7: greater, bytewise, than every id this Source returned before. It reads the
// clock once. It panics only when the timestamp space is exhausted, which takes a clock past the year 10889.
func (s *Source) New() [16]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := min(max(s.clock.Now().UnixMilli(), 0), msMax)
	switch {
	case ms > s.ms: // a new millisecond: a fresh counter
		s.ms = ms
		s.counter = uint16(s.rand() & counterSeedMask)
	case s.counter < counterMax: // the clock stood still or stepped back: count on
		s.counter++
	case s.ms < msMax: // the counter is spent: run a millisecond ahead of the clock
		s.ms++
		s.counter = uint16(s.rand() & counterSeedMask)
	default:
		panic("ids: UUIDv7 timestamp space exhausted (a clock past the year 10889)")
	}
	var id [16]byte
	binary.BigEndian.PutUint64(id[8:], s.rand())
	binary.BigEndian.PutUint64(id[0:], uint64(s.ms)<<16|uint64(s.counter))
	id[6] = 0x70 | id[6]&0x0F // version 7 over rand_a's top nibble
	id[8] = 0x80 | id[8]&0x3F // variant 10
	return id
}

// rand returns 64 random bits. s.mu is held.
func (s *Source) rand() uint64 {
	if s.seeded != nil {
		return s.seeded.Uint64()
	}
	if s.off == len(s.buf) {
		rand.Read(s.buf[:]) // since Go 1.24 it never returns an error: it crashes the program if the OS fails it
		s.off = 0
	}
	v := binary.LittleEndian.Uint64(s.buf[s.off:])
	s.off += 8
	return v
}

// Time returns the millisecond timestamp of a UUIDv7, in UTC, and false when id is not version 7 with
// variant 10 (a derived id, for one, is version 8).
func Time(id [16]byte) (time.Time, bool) {
	if id[6]>>4 != 7 || id[8]>>6 != 0b10 {
		return time.Time{}, false
	}
	ms := binary.BigEndian.Uint64(id[0:8]) >> 16
	return time.UnixMilli(int64(ms)).UTC(), true
}

// Derive returns a deterministic UUIDv8 (RFC 9562 §5.8) for namespace and parts, as an idempotency key from a
// rail reference, e.g. Derive("satna.order", bank, reference). It is the first 16 bytes of the SHA-256 of
// namespace and then each part, each preceded by its length in bytes as a big-endian uint64, with the version
// nibble (byte 6) set to 8 and the variant bits (byte 8) to 10. The length prefixes keep ("ab", "c") and
// ("a", "bc") apart, and ("x") apart from ("x", ""). The construction is fixed: changing it changes every
// stored key.
func Derive(namespace string, parts ...string) [16]byte {
	h := sha256.New()
	var n [8]byte
	for _, p := range append([]string{namespace}, parts...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		io.WriteString(h, p)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var id [16]byte
	copy(id[:], sum[:16])
	id[6] = 0x80 | id[6]&0x0F // version 8
	id[8] = 0x80 | id[8]&0x3F // variant 10
	return id
}

// String returns id in the canonical 8-4-4-4-12 form of lower-case hex digits, e.g.
// "0196b1a2-7c3d-7abc-8def-0123456789ab".
func String(id [16]byte) string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&0x0F]
		j += 2
	}
	return string(b[:])
}
