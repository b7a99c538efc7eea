package ids

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/clock"
)

var start = time.Date(2025, 3, 21, 8, 0, 0, 0, time.UTC) // 1 Farvardin 1404; any fixed instant will do

// scripted is a clock.Clock whose Now returns the given readings in turn, then repeats the last: it can step
// back, which a clock.Simulated never does.
type scripted struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *scripted) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.times[0]
	if len(c.times) > 1 {
		c.times = c.times[1:]
	}
	return t
}

func (c *scripted) NewTimer(time.Duration) clock.Timer { panic("ids must not use timers") }

func (c *scripted) AfterFunc(time.Duration, func()) clock.Timer { panic("ids must not use timers") }

// sources returns a seeded and a random Source, each on a clock of its own from newClock.
func sources(newClock func() clock.Clock) map[string]*Source {
	return map[string]*Source{"seeded": NewSource(newClock(), 42), "random": NewRandomSource(newClock())}
}

func simulated() clock.Clock { return clock.NewSimulated(start) }

func ms(id [16]byte) int64    { return int64(binary.BigEndian.Uint64(id[:8]) >> 16) }
func counter(id [16]byte) int { return int(binary.BigEndian.Uint16(id[6:8]) & 0x0FFF) }

func TestVersionVariant(t *testing.T) {
	tests := []struct {
		name        string
		id          func() [16]byte
		wantVersion byte
	}{
		{"seeded", NewSource(clock.NewSimulated(start), 1).New, 7},
		{"random", NewRandomSource(clock.Real()).New, 7},
		{"derived", func() [16]byte { return Derive("satna.order", "017", "REF-1") }, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 1000; i++ {
				id := tt.id()
				if got := id[6] >> 4; got != tt.wantVersion {
					t.Fatalf("%s: version %d, want %d", String(id), got, tt.wantVersion)
				}
				if got := id[8] >> 6; got != 0b10 {
					t.Fatalf("%s: variant bits %02b, want 10", String(id), got)
				}
			}
		})
	}
}

// checkIncreasing fails unless each id is bytewise greater than the one before.
func checkIncreasing(t *testing.T, got [][16]byte) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if bytes.Compare(got[i-1][:], got[i][:]) >= 0 {
			t.Fatalf("id %d %s is not greater than id %d %s", i, String(got[i]), i-1, String(got[i-1]))
		}
	}
}

func TestMonotonicStandingClock(t *testing.T) {
	const n = 20_000 // enough to overflow the counter several times in one clock millisecond
	for name, s := range sources(simulated) {
		t.Run(name, func(t *testing.T) {
			got := make([][16]byte, n)
			for i := range got {
				got[i] = s.New()
			}
			checkIncreasing(t, got)
			if got := ms(got[0]); got != start.UnixMilli() {
				t.Errorf("first id's ms = %d, want the clock's %d", got, start.UnixMilli())
			}
			steps := 0
			for i := 1; i < n; i++ {
				prev, id := got[i-1], got[i]
				switch {
				case ms(id) == ms(prev):
					if counter(id) != counter(prev)+1 {
						t.Fatalf("id %d: counter %d after %d in the same ms, want +1", i, counter(id), counter(prev))
					}
				case ms(id) == ms(prev)+1:
					steps++
					if counter(prev) != counterMax {
						t.Fatalf("id %d: ms moved on with the counter at %d, want only at %d", i, counter(prev), counterMax)
					}
					if counter(id) > counterSeedMask {
						t.Fatalf("id %d: reseeded counter %d above %d", i, counter(id), counterSeedMask)
					}
				default:
					t.Fatalf("id %d: ms jumped from %d to %d", i, ms(prev), ms(id))
				}
			}
			// Each ms holds between 2,048 and 4,096 ids.
			if lo, hi := n/4096, n/2048; steps < lo || steps > hi {
				t.Errorf("ms moved on %d times for %d ids, want %d to %d", steps, n, lo, hi)
			}
		})
	}
}

func TestMonotonicBackwardsClock(t *testing.T) {
	readings := []time.Time{
		start, start.Add(-time.Hour), start.Add(-time.Millisecond), start, // back, back, level
		start.Add(5 * time.Millisecond), start.Add(4 * time.Millisecond), // forward, back a little
		start.Add(time.Second), // forward again
	}
	wantMS := []int64{0, 0, 0, 0, 5, 5, 1000} // relative to start: the last ms is kept while the clock is behind
	for name, s := range sources(func() clock.Clock { return &scripted{times: readings} }) {
		t.Run(name, func(t *testing.T) {
			var got [][16]byte
			for i, want := range wantMS {
				id := s.New()
				got = append(got, id)
				if g := ms(id) - start.UnixMilli(); g != want {
					t.Errorf("id %d: ms start+%d, want start+%d", i, g, want)
				}
			}
			checkIncreasing(t, got)
		})
	}
}

func TestTimestampClamped(t *testing.T) {
	tests := []struct {
		name   string
		clock  time.Time
		wantMS int64
	}{
		{"before 1970", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{"the epoch", time.Unix(0, 0), 0},
		{"past the 48-bit range", time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), msMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := NewSource(clock.NewSimulated(tt.clock), 1).New()
			if got := ms(id); got != tt.wantMS {
				t.Errorf("ms = %d, want %d", got, tt.wantMS)
			}
		})
	}
}

func TestExhaustedPanics(t *testing.T) {
	s := NewSource(clock.NewSimulated(time.UnixMilli(msMax)), 1)
	defer func() {
		if recover() == nil {
			t.Error("no panic when the counter overflowed at the last millisecond")
		}
	}()
	for i := 0; i <= counterMax+1; i++ {
		s.New()
	}
}

func TestSeededReplay(t *testing.T) {
	run := func(seed uint64) [][16]byte {
		c := clock.NewSimulated(start)
		s := NewSource(c, seed)
		var got [][16]byte
		for i := 0; i < 5000; i++ {
			got = append(got, s.New())
			if i%7 == 0 {
				if err := c.Advance(time.Duration(i%3) * time.Millisecond); err != nil {
					t.Fatal(err)
				}
			}
		}
		return got
	}
	a, b := run(7), run(7)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 7 replay differs at id %d: %s then %s", i, String(a[i]), String(b[i]))
		}
	}
	if other := run(8); other[0] == a[0] {
		t.Errorf("seeds 7 and 8 both begin with %s", String(a[0]))
	}
	// Two random Sources on the same clock do not agree.
	c := clock.NewSimulated(start)
	if x, y := NewRandomSource(c).New(), NewRandomSource(c).New(); x == y {
		t.Errorf("two random Sources both minted %s", String(x))
	}
}

func TestTimeRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		clock time.Time
		want  time.Time
	}{
		{"whole ms", start, start},
		{"sub-ms truncated", start.Add(999 * time.Microsecond), start},
		{"other zone", start.In(time.FixedZone("IRST", 3*3600+1800)), start},
		{"epoch", time.Unix(0, 0), time.Unix(0, 0).UTC()},
		{"far future", time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := NewSource(clock.NewSimulated(tt.clock), 3).New()
			got, ok := Time(id)
			if !ok || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("Time(%s) = %v, %v; want %v in UTC, true", String(id), got, ok, tt.want)
			}
		})
	}
}

func TestTimeRejectsOtherIDs(t *testing.T) {
	v7 := NewSource(clock.NewSimulated(start), 3).New()
	v4 := v7
	v4[6] = 0x40 | v4[6]&0x0F
	badVariant := v7
	badVariant[8] &= 0x3F // variant 00
	msVariant := v7
	msVariant[8] = 0xC0 | msVariant[8]&0x3F // variant 110, Microsoft's
	tests := []struct {
		name string
		id   [16]byte
	}{
		{"zero", [16]byte{}},
		{"version 4", v4},
		{"derived, version 8", Derive("ns", "x")},
		{"variant 00", badVariant},
		{"variant 11", msVariant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := Time(tt.id); ok {
				t.Errorf("Time(%s) = %v, true; want false", String(tt.id), got)
			}
		})
	}
}

// deriveByHand is Derive's documented construction, written out independently.
func deriveByHand(elems ...string) [16]byte {
	var msg []byte
	for _, e := range elems {
		msg = binary.BigEndian.AppendUint64(msg, uint64(len(e)))
		msg = append(msg, e...)
	}
	sum := sha256.Sum256(msg)
	var id [16]byte
	copy(id[:], sum[:])
	id[6] = id[6]&0x0F | 0x80
	id[8] = id[8]&0x3F | 0x80
	return id
}

func TestDeriveGolden(t *testing.T) {
	tests := []struct {
		namespace string
		parts     []string
	}{
		{"satna.order", []string{"017", "REF-2025-0001"}},
		{"paya.entry", []string{"055", "شماره پیگیری ۱۲۳"}},
		{"empty", nil},
		{"", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.namespace, func(t *testing.T) {
			got := Derive(tt.namespace, tt.parts...)
			want := deriveByHand(append([]string{tt.namespace}, tt.parts...)...)
			if got != want {
				t.Errorf("Derive = %s, want %s", String(got), String(want))
			}
			if again := Derive(tt.namespace, tt.parts...); again != got {
				t.Errorf("Derive is not stable: %s then %s", String(got), String(again))
			}
		})
	}
}

func TestDeriveDistinct(t *testing.T) {
	tests := []struct {
		name string
		a, b []string // namespace first
	}{
		{"part boundary", []string{"ns", "ab", "c"}, []string{"ns", "a", "bc"}},
		{"namespace boundary", []string{"nsa", "b"}, []string{"ns", "ab"}},
		{"empty trailing part", []string{"ns", "x"}, []string{"ns", "x", ""}},
		{"no parts vs one empty", []string{"ns"}, []string{"ns", ""}},
		{"order of parts", []string{"ns", "017", "R1"}, []string{"ns", "R1", "017"}},
		{"namespace", []string{"satna.order", "017", "R1"}, []string{"paya.entry", "017", "R1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Derive(tt.a[0], tt.a[1:]...), Derive(tt.b[0], tt.b[1:]...)
			if a == b {
				t.Errorf("Derive(%q) == Derive(%q) == %s", tt.a, tt.b, String(a))
			}
		})
	}
}

func TestString(t *testing.T) {
	ids := [][16]byte{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		Derive("ns", "x"), NewRandomSource(clock.Real()).New()}
	for _, id := range ids {
		h := hex.EncodeToString(id[:])
		want := strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
		if got := String(id); got != want {
			t.Errorf("String(%x) = %q, want %q", id, got, want)
		}
	}
}

// TestConcurrentNew is for the race detector: many goroutines share one Source; every id is distinct and each
// goroutine sees its own ids increase.
func TestConcurrentNew(t *testing.T) {
	const (
		workers = 8
		each    = 5000
	)
	for name, s := range sources(clock.Real) {
		t.Run(name, func(t *testing.T) {
			got := make([][][16]byte, workers)
			var wg sync.WaitGroup
			for w := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						got[w] = append(got[w], s.New())
					}
				}()
			}
			wg.Wait()
			seen := make(map[[16]byte]bool, workers*each)
			for _, mine := range got {
				checkIncreasing(t, mine)
				for _, id := range mine {
					if seen[id] {
						t.Fatalf("%s minted twice", String(id))
					}
					seen[id] = true
				}
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, name := range []string{"seeded", "random"} {
		b.Run(name, func(b *testing.B) {
			s := sources(clock.Real)[name]
			for b.Loop() {
				s.New()
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			s := sources(clock.Real)[name]
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.New()
				}
			})
		})
	}
}

func BenchmarkDerive(b *testing.B) {
	refs := make([]string, 1000)
	for i := range refs {
		refs[i] = fmt.Sprintf("REF-2025-%06d", i)
	}
	for i := 0; b.Loop(); i++ {
		Derive("satna.order", "017", refs[i%len(refs)])
	}
}

func BenchmarkString(b *testing.B) {
	id := Derive("ns", "x")
	for b.Loop() {
		_ = String(id)
	}
}
