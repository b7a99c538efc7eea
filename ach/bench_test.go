package ach

import (
	"io"
	"testing"
)

// BenchmarkCSVReader reads generated rows (rowSource: a row in 50 with an amount that does not read) with
// CSVReader alone.
func BenchmarkCSVReader(b *testing.B) {
	const rows = 100_000
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewCSVReader(newRowSource(b, rows), CSVOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			}
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkDryRunCSV validates generated rows end to end under 1404: reading, Validate, the report.
func BenchmarkDryRunCSV(b *testing.B) {
	const rows = 100_000
	env := testEnv(b, "1404")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DryRunCSV(newRowSource(b, rows), CSVOptions{}, employer, env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
