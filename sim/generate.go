package sim

import (
	"fmt"
	"math/bits"
	"math/rand/v2"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/sheba"
)

// How the numbers of a book are derived. Changing any constant here, the order of the draws in customer, or
// the name lists changes every book; the golden test notices, and a changed book breaks every scenario
// recorded against the old one, so change them only on purpose.
const (
	// Streams: the bank's own stream (its permutations) and one per customer, so that customer i does not
	// depend on how many come before or after it.
	tagBank     = 0x62616e6b5f73696d // "bank_sim"
	tagCustomer = 0x637573746f6d6572 // "customer"

	// accountPrime is the modulus of the permutation that makes account numbers unique: the largest prime
	// below 10⁸, so that its values fill the last 8 digits of an account number and it covers CustomersMax.
	accountPrime = 99_999_989
	// cardPrime is the modulus of the permutation of card serials: the largest prime below 9×10⁷, so that
	// cardSerialFloor + 10 × value + 9 stays a 9-digit serial, and it covers CardsPerCustomerMax × CustomersMax.
	cardPrime = 89_999_999
	// cardSerialFloor is where generated card serials start; serials below it are reserved for the magic
	// cards. Every generated serial ends in a digit 1–9, so no card has an all-zero segment 11–16.
	cardSerialFloor = 100_000_000

	// branchFirst and branches: the 4-digit branch code that starts every generated account number; its
	// first digit is never 0, which keeps generated accounts (≥ 10¹⁷) far above the reserved magic ones.
	branchFirst = 1000
	branches    = 9000
	// middles is the range of the 6 digits between the branch and the permuted serial.
	middles = 1_000_000

	// twoCardsPerMille is how many generated customers in a thousand hold a second card.
	twoCardsPerMille = 300

	// tierEvery: customer i with i mod tierEvery = 0 is a whale (opening at least WhaleRialMin), with
	// i mod tierEvery = 1 a small customer (below SmallRialMax); the rest draw from the whole range. So a
	// book of N ≥ 2 customers has at least ⌈N/100⌉ of each, whatever the seed.
	tierEvery = 100
)

// mix64 is SplitMix64's finalizer: a bijection on uint64 that spreads every input bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// fnv64 is FNV-1a over s, for turning a bank code into a number.
func fnv64(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// The FNV-1a 64-bit parameters.
const (
	fnvOffset = 0xcbf29ce484222325
	fnvPrime  = 0x100000001b3
)

// draws is a PCG stream with the bounded draws this package needs. The bounded draw is written here rather
// than taken from rand.Rand so that the numbers depend only on the PCG algorithm, not on how a Go release
// implements Uint64N.
type draws struct{ src *rand.PCG }

func newDraws(seed1, seed2 uint64) draws { return draws{src: rand.NewPCG(seed1, seed2)} }

// below returns a uniform number in [0, n), n > 0, by Lemire's multiply-and-reject method.
func (d draws) below(n uint64) uint64 {
	hi, lo := bits.Mul64(d.src.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(d.src.Uint64(), n)
		}
	}
	return hi
}

// generator makes the customers of one bank for one seed.
type generator struct {
	bank     banks.Bank
	seed     uint64 // the bank's seed: the run's seed mixed with the bank's code
	acctMul  uint64 // account permutation: i ↦ (acctMul·i + acctAdd) mod accountPrime
	acctAdd  uint64
	cardMul  uint64 // card permutation: j ↦ (cardMul·j + cardAdd) mod cardPrime
	cardAdd  uint64
	cardBINs uint64
}

func newGenerator(bank banks.Bank, seed uint64) *generator {
	s := mix64(seed ^ mix64(fnv64(fnvOffset, bank.Code)))
	d := newDraws(s, mix64(s^tagBank))
	g := &generator{bank: bank, seed: s, cardBINs: uint64(len(bank.BINs))}
	// A multiplier in [1, prime) makes the map a bijection on [0, prime), prime being prime.
	g.acctMul = 1 + d.below(accountPrime-1)
	g.acctAdd = d.below(accountPrime)
	g.cardMul = 1 + d.below(cardPrime-1)
	g.cardAdd = d.below(cardPrime)
	return g
}

// customer makes customer i. The draws come in a fixed order; see the note on the constants above.
func (g *generator) customer(i int) (Customer, error) {
	s1 := mix64(g.seed + uint64(i)*0x9e3779b97f4a7c15)
	var src rand.PCG
	src.Seed(s1, mix64(s1^tagCustomer))
	d := draws{src: &src}

	firsts := firstNamesMale
	if d.below(2) == 1 {
		firsts = firstNamesFemale
	}
	first := firsts[d.below(uint64(len(firsts)))]
	last := surnames[d.below(uint64(len(surnames)))]

	branch := branchFirst + d.below(branches)
	middle := d.below(middles)
	serial := (g.acctMul*uint64(i) + g.acctAdd) % accountPrime
	var acct [accountDigits]byte
	putDigits(acct[0:4], branch)
	putDigits(acct[4:10], middle)
	putDigits(acct[10:18], serial)
	account := string(acct[:])
	x, err := sheba.Generate(g.bank.Code, 0, account)
	if err != nil {
		return Customer{}, fmt.Errorf("sim: bank %s customer %d: %w: %w", g.bank.Code, i, ErrInvalid, err)
	}

	c := Customer{
		Index:       i,
		Bank:        g.bank.Code,
		Name:        first.fa + " " + last.fa,
		NameEN:      first.en + " " + last.en,
		SHEBA:       x.String(),
		Account:     account,
		Status:      AccountActive,
		OpeningRial: opening(d, i),
	}
	if g.cardBINs == 0 {
		return c, nil
	}
	n := 1
	if d.below(1000) < twoCardsPerMille {
		n = 2
	}
	c.Cards = make([]Card, 0, n)
	for k := range n {
		bin := g.bank.BINs[d.below(g.cardBINs)]
		last := 1 + d.below(9)
		j := uint64(i)*CardsPerCustomerMax + uint64(k)
		serial := cardSerialFloor + 10*((g.cardMul*j+g.cardAdd)%cardPrime) + last
		pan, err := card.Generate(bin, serial)
		if err != nil {
			return Customer{}, fmt.Errorf("sim: bank %s customer %d card %d: %w: %w", g.bank.Code, i, k, ErrInvalid, err)
		}
		var exp [4]byte
		putDigits(exp[0:2], expiryYearFirst+d.below(expiryYears))
		putDigits(exp[2:4], 1+d.below(12))
		var cvv [cvv2Digits]byte
		putDigits(cvv[:], d.below(1000))
		var pin [PIN2Digits]byte
		putDigits(pin[:], d.below(1_000_000))
		c.Cards = append(c.Cards, Card{
			PAN:    pan.String(),
			Expiry: string(exp[:]),
			CVV2:   string(cvv[:]),
			PIN2:   string(pin[:]),
			Status: CardActive,
		})
	}
	return c, nil
}

// putDigits writes v in decimal into b, right-aligned, with leading zeros; v must fit.
func putDigits(b []byte, v uint64) {
	for k := len(b) - 1; k >= 0; k-- {
		b[k] = byte('0' + v%10)
		v /= 10
	}
	if v != 0 {
		panic("sim: number does not fit its field")
	}
}

// balanceBuckets are the lower bounds of the opening-balance buckets: from OpeningRialMin, each 2 % above
// the one before, in integers, until OpeningRialMax. A balance is a uniform bucket, then a uniform amount in
// it: log-uniform in steps of 2 %, with no floating point, so that every platform draws the same rial.
var balanceBuckets = func() []int64 {
	var b []int64
	for v := int64(OpeningRialMin); v < OpeningRialMax; v += v / 50 {
		b = append(b, v)
	}
	return b
}()

// bucketsFrom returns the first bucket whose lower bound is at least v; bucketsBelow the number of buckets
// that end at or below v.
func bucketsFrom(v int64) int {
	for k, lo := range balanceBuckets {
		if lo >= v {
			return k
		}
	}
	return len(balanceBuckets)
}

func bucketsBelow(v int64) int {
	n := 0
	for k := range balanceBuckets {
		if bucketEnd(k) > v {
			break
		}
		n++
	}
	return n
}

// bucketEnd is the exclusive upper bound of bucket k.
func bucketEnd(k int) int64 {
	if k+1 < len(balanceBuckets) {
		return balanceBuckets[k+1]
	}
	return OpeningRialMax
}

var (
	whaleFirst   = bucketsFrom(WhaleRialMin)
	smallBuckets = bucketsBelow(SmallRialMax)
)

// opening draws customer i's opening balance in rial.
func opening(d draws, i int) int64 {
	first, n := 0, len(balanceBuckets)
	switch i % tierEvery {
	case 0:
		first, n = whaleFirst, len(balanceBuckets)-whaleFirst
	case 1:
		n = smallBuckets
	}
	k := first + int(d.below(uint64(n)))
	lo := balanceBuckets[k]
	return lo + int64(d.below(uint64(bucketEnd(k)-lo)))
}
