package ach

import (
	"io"
	"runtime"
	"strconv"
	"testing"
)

// rowSource generates a payroll file of n rows as it is read, from a fixed set of SHEBAs, without holding
// the file or allocating per row. Every 50th row has an amount that does not read (amount_invalid), every
// 50th from the 25th is over the seed cap, every 7th is in Persian digits with separators.
type rowSource struct {
	shebas []string
	n, i   int
	buf    []byte
	off    int
	digits []byte
}

func newRowSource(t testing.TB, n int) *rowSource {
	s := &rowSource{n: n, buf: make([]byte, 0, 512), digits: make([]byte, 0, 20)}
	for _, code := range []string{"011", "012", "015", "016", "017", "018", "019", "057", "063"} {
		for k := range 4 {
			s.shebas = append(s.shebas, account(t, code, strconv.Itoa(1000+k)))
		}
	}
	s.buf = append(s.buf, header...)
	return s
}

var persianDigits = []string{"۰", "۱", "۲", "۳", "۴", "۵", "۶", "۷", "۸", "۹"}

func (s *rowSource) Read(p []byte) (int, error) {
	if s.off == len(s.buf) {
		if s.i == s.n {
			return 0, io.EOF
		}
		s.buf, s.off = s.buf[:0], 0
		i := s.i
		s.buf = append(s.buf, s.shebas[i%len(s.shebas)]...)
		s.buf = append(s.buf, ',')
		amount := int64(1_000_000 + i%100_000*1000)
		switch {
		case i%50 == 0:
			s.buf = append(s.buf, `"1,50,000"`...)
		case i%50 == 25:
			s.buf = strconv.AppendInt(s.buf, 150_000_000+int64(i), 10)
		case i%7 == 0:
			// ۱٬۰۰۰٬۰۰۰-style: Persian digits grouped by the Arabic thousands separator.
			s.digits = strconv.AppendInt(s.digits[:0], amount, 10)
			digits := s.digits
			s.buf = append(s.buf, '"')
			for k, d := range digits {
				if k > 0 && (len(digits)-k)%3 == 0 {
					s.buf = append(s.buf, "٬"...)
				}
				s.buf = append(s.buf, persianDigits[d-'0']...)
			}
			s.buf = append(s.buf, '"')
		default:
			s.buf = strconv.AppendInt(s.buf, amount, 10)
		}
		s.buf = append(s.buf, ",علی‌رضا کریمی,\"حقوق فروردین, ۱۴۰۴\",PAY-"...)
		s.buf = strconv.AppendInt(s.buf, int64(i), 10)
		s.buf = append(s.buf, '\n')
		s.i++
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// TestCSVReaderAllocations: the reader allocates a constant amount to start and one string per row it
// returns whole (its values); a refused row adds its RowError. Nothing else grows with the file.
func TestCSVReaderAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 220,000 generated rows")
	}
	perRun := func(n int) (allocs float64, rows, bad int) {
		allocs = testing.AllocsPerRun(1, func() {
			rows, bad = 0, 0
			r, err := NewCSVReader(newRowSource(t, n), CSVOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for {
				_, err := r.Next()
				if err == io.EOF {
					return
				}
				if err != nil {
					bad++
				}
				rows++
			}
		})
		return allocs, rows, bad
	}
	small, smallRows, smallBad := perRun(20_000)
	large, largeRows, largeBad := perRun(200_000)
	if smallRows != 20_000 || largeRows != 200_000 {
		t.Fatalf("read %d and %d rows", smallRows, largeRows)
	}
	// The source allocates its SHEBAs once and nothing per row; the difference between the two runs is what
	// 180,000 more rows cost.
	extra := large - small
	goodRows, badRows := float64(largeRows-largeBad-(smallRows-smallBad)), float64(largeBad-smallBad)
	// One string per good row; a refused row: its RowError, its message and its formatting, at most 8.
	if bound := goodRows*2 + badRows*8; extra > bound {
		t.Errorf("180,000 more rows cost %.0f allocations, more than %.0f (good rows %.0f, bad %.0f)", extra, bound, goodRows, badRows)
	}
	perRowSmall, perRowLarge := small/20_000, large/200_000
	if perRowLarge > perRowSmall*1.05 {
		t.Errorf("allocations per row grow with the file: %.3f at 20,000 rows, %.3f at 200,000", perRowSmall, perRowLarge)
	}
	t.Logf("allocations per row: %.3f at 20,000 rows, %.3f at 200,000", perRowSmall, perRowLarge)
}

// TestDryRunMemoryBounded streams 200,000 generated rows (some 22 MB) through an io.Pipe into DryRunCSV
// and samples the live heap as the file goes by: it must not grow with the rows read. The report fills its
// lists of errors and over-cap rows early on (a row in 50 of each), so from then on nothing may grow.
func TestDryRunMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200,000 generated rows")
	}
	const rows, every = 200_000, 20_000
	pr, pw := io.Pipe()
	samples := make(chan uint64, rows/every+1)
	var written int64
	go func() {
		src := newRowSource(t, rows)
		buf := make([]byte, 32<<10)
		for {
			if src.i > 0 && src.i%every == 0 && src.off == len(src.buf) {
				// The reader is blocked on the pipe: nothing moves while the heap is measured.
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				samples <- m.HeapAlloc
			}
			n, err := src.Read(buf[:min(len(buf), len(src.buf)-src.off+1)])
			if err == io.EOF {
				pw.Close()
				close(samples)
				return
			}
			written += int64(n)
			if _, err := pw.Write(buf[:n]); err != nil {
				pw.CloseWithError(err)
				close(samples)
				return
			}
		}
	}()
	rep, err := DryRunCSV(pr, CSVOptions{}, employer, testEnv(t, "seed"))
	if err != nil {
		t.Fatal(err)
	}
	var heap []uint64
	for s := range samples {
		heap = append(heap, s)
	}
	if rep.Rows != rows || rep.Accepted+rep.Rejected != rows || rep.OverCapRows != rows/50 || rep.ErrorsOmitted != rep.Rejected-ReportErrorsMax {
		t.Errorf("report: %d rows, %d accepted, %d rejected, %d over cap, %d errors omitted", rep.Rows, rep.Accepted, rep.Rejected, rep.OverCapRows, rep.ErrorsOmitted)
	}
	if len(heap) < 5 {
		t.Fatalf("only %d samples", len(heap))
	}
	// From the third sample (60,000 rows, both lists full) to the last (200,000), the live heap may wander by
	// what a garbage collector leaves, far less than the 15 MB more of file read in between.
	const slack = 1 << 20
	base := heap[2]
	for i, h := range heap[2:] {
		if h > base+slack {
			t.Errorf("live heap %d bytes after %d rows, %d after %d: it grows with the file", h, (i+3)*every, base, 3*every)
		}
	}
	t.Logf("file %d bytes; live heap by 20,000 rows: %v", written, heap)
}
