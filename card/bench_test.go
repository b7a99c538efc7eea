package card_test

import (
	"testing"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
)

func BenchmarkParse(b *testing.B) {
	reg := banks.Default()
	cases := []struct{ name, in string }{
		{"canonical", "6037991234567893"},
		{"persian_spaced", "۶۰۳۷ ۹۹۱۲ ۳۴۵۶ ۷۸۹۳"},
		{"merged_bin", "6273810000000017"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := card.Parse(c.in, reg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	var serial uint64 = 1
	for b.Loop() {
		if _, err := card.Generate("603799", serial); err != nil {
			b.Fatal(err)
		}
		serial = serial%99_999 + 1
	}
}
