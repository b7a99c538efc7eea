package ach

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// rejectedRows is the report's rejected rows as "row:code", in file order.
func rejectedRows(rep *Report) []string {
	var out []string
	for _, e := range rep.Errors {
		out = append(out, fmt.Sprintf("%d:%s", e.Row, e.Code))
	}
	return out
}

// badRows is the generator's bad rows as "row:code".
func badRows(res GenerateResult) []string {
	var out []string
	for _, b := range res.Bad {
		out = append(out, fmt.Sprintf("%d:%s", b.Row, b.Code))
	}
	return out
}

func TestGenerateThenValidate(t *testing.T) {
	env := testEnv(t, "seed")
	for _, tc := range []struct {
		format    string
		rows, bad int
	}{
		{FormatCSV, 1000, 3},
		{FormatCSV, 1000, 16}, // every CSV kind twice
		{FormatCSV, 50, 50},
		{FormatCSV, 1, 0},
		{FormatNACHA, 1000, 3},
		{FormatNACHA, 400, 8},
		{FormatNACHA, 7, 7},
	} {
		t.Run(fmt.Sprintf("%s/%d/%d", tc.format, tc.rows, tc.bad), func(t *testing.T) {
			var buf bytes.Buffer
			res, err := Generate(&buf, GenerateOptions{Format: tc.format, Rows: tc.rows, Bad: tc.bad, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Bad) != tc.bad || res.Files != 1 {
				t.Fatalf("%d bad rows in %d files, want %d in 1", len(res.Bad), res.Files, tc.bad)
			}
			kinds := map[string]bool{}
			for _, b := range res.Bad {
				kinds[b.Kind] = true
			}
			if want := min(tc.bad, len(generateKinds(tc.format))); len(kinds) != want {
				t.Errorf("%d kinds of bad rows, want %d: %v", len(kinds), want, kinds)
			}
			var rep *Report
			if tc.format == FormatCSV {
				rep, err = DryRunCSV(bytes.NewReader(buf.Bytes()), CSVOptions{}, res.Payer, env)
			} else {
				rep, err = DryRunNACHA(bytes.NewReader(buf.Bytes()), NACHAReadOptions{}, res.Payer, env)
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rows != tc.rows || rep.Accepted != tc.rows-tc.bad || rep.Rejected != tc.bad || rep.AcceptedRial != res.GoodRial {
				t.Errorf("report: %d rows, %d accepted (%d rial), %d rejected; want %d, %d (%d rial), %d",
					rep.Rows, rep.Accepted, rep.AcceptedRial, rep.Rejected, tc.rows, tc.rows-tc.bad, res.GoodRial, tc.bad)
			}
			if got, want := fmt.Sprint(rejectedRows(rep)), fmt.Sprint(badRows(res)); got != want {
				t.Errorf("rejected rows\n got %s\nwant %s", got, want)
			}
			for _, b := range rep.Banks {
				if b.Bank == res.Payer.Bank || b.Bank == "010" {
					t.Errorf("a payee at bank %s", b.Bank)
				}
			}
		})
	}
}

func generateKinds(format string) []string {
	if format == FormatNACHA {
		return generateKindsNACHA
	}
	return generateKindsCSV
}

func TestGenerateIsSeeded(t *testing.T) {
	gen := func(seed uint64, format string) string {
		var buf bytes.Buffer
		if _, err := Generate(&buf, GenerateOptions{Format: format, Rows: 200, Bad: 5, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for _, f := range []string{FormatCSV, FormatNACHA} {
		if gen(1, f) != gen(1, f) {
			t.Errorf("%s: one seed, two files", f)
		}
		if gen(1, f) == gen(2, f) {
			t.Errorf("%s: two seeds, one file", f)
		}
	}
}

// TestGenerateNACHAFiles: more entries than a file takes go into several files, each readable on its own,
// the bad rows named by file and line.
func TestGenerateNACHAFiles(t *testing.T) {
	env := testEnv(t, "seed")
	var files []*bytes.Buffer
	res, err := GenerateFiles(func(i int) (io.Writer, error) {
		if i != len(files) {
			t.Fatalf("next(%d) after %d files", i, len(files))
		}
		files = append(files, &bytes.Buffer{})
		return files[i], nil
	}, GenerateOptions{Format: FormatNACHA, Rows: 250, Bad: 9, Seed: 3, FileEntriesMax: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 3 || len(files) != 3 {
		t.Fatalf("%d files (%d written), want 3", res.Files, len(files))
	}
	rows, accepted := 0, 0
	var got, want []string
	for i, f := range files {
		rep, err := DryRunNACHA(bytes.NewReader(f.Bytes()), NACHAReadOptions{}, res.Payer, env)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		rows, accepted = rows+rep.Rows, accepted+rep.Accepted
		for _, r := range rejectedRows(rep) {
			got = append(got, fmt.Sprintf("%d/%s", i, r))
		}
	}
	for _, b := range res.Bad {
		want = append(want, fmt.Sprintf("%d/%d:%s", b.File, b.Row, b.Code))
	}
	if rows != 250 || accepted != 241 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%d rows, %d accepted, rejected %v; want 250, 241, %v", rows, accepted, got, want)
	}
	// Generate, with one writer, refuses what does not fit one file.
	if _, err := Generate(io.Discard, GenerateOptions{Format: FormatNACHA, Rows: 101, FileEntriesMax: 100}); !errors.Is(err, ErrGenerate) {
		t.Errorf("101 entries in one file of 100: %v", err)
	}
}

func TestGenerateOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts GenerateOptions
	}{
		{"no rows", GenerateOptions{}},
		{"too many rows", GenerateOptions{Rows: GenerateRowsMax + 1}},
		{"more bad than rows", GenerateOptions{Rows: 2, Bad: 3}},
		{"negative bad", GenerateOptions{Rows: 2, Bad: -1}},
		{"unknown format", GenerateOptions{Rows: 2, Format: "xlsx"}},
	} {
		if _, err := Generate(io.Discard, tc.opts); !errors.Is(err, ErrGenerate) {
			t.Errorf("%s: got %v, want ErrGenerate", tc.name, err)
		}
	}
}

// heapSampler is a writer that measures the live heap every sampleEvery bytes (after a collection), so
// that a generator keeping its rows would show.
type heapSampler struct {
	n, next, peak uint64
}

const sampleEvery = 4 << 20

func (h *heapSampler) Write(p []byte) (int, error) {
	h.n += uint64(len(p))
	if h.n >= h.next {
		h.next = h.n + sampleEvery
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.peak = max(h.peak, m.HeapAlloc)
	}
	return len(p), nil
}

// TestGenerateCSVMemory: writing 300,000 rows (some 30 MB) keeps the live heap within a few MiB of where
// it started: a generator that held its rows would hold all 30 MB.
func TestGenerateCSVMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 300,000 rows")
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapAlloc
	h := &heapSampler{next: sampleEvery}
	if _, err := Generate(h, GenerateOptions{Rows: 300_000, Bad: 10}); err != nil {
		t.Fatal(err)
	}
	if h.n < 25<<20 {
		t.Fatalf("only %d bytes written", h.n)
	}
	if grew := int64(h.peak) - int64(base); grew > 4<<20 {
		t.Errorf("the live heap grew by %d bytes while writing %d", grew, h.n)
	}
}
