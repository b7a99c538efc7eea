package rtgs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Limits of a net settlement.
const (
	// NetObligationsMax bounds the obligations of one set: every ordered pair of the 1,000 possible 3-digit
	// bank codes is 999,000, so a set aggregated by pair always fits, and so does a cycle's worth of
	// unaggregated entries of the size PAYA's payroll files reach (a million rows).
	NetObligationsMax = 1_000_000
	// NetTotalRialMax bounds the sum of a set's obligations, for the reason QueuedRialMax bounds the queue:
	// no net, and no balance capped at what its bank owes, can then overflow int64.
	NetTotalRialMax = QueuedRialMax
)

// ErrNets is wrapped by the errors of Nets, CheckNets and PlanNets: the set is malformed, and nothing of it
// can settle.
var ErrNets = errors.New("rtgs: invalid net settlement")

// Obligation is what the customers of one bank owe those of another over a deferred rail's window — PAYA's
// cycle, the card switch's settlement window — summed over its entries (or one entry: PlanNets sums them by
// pair itself). The rail has already moved its customers' money through its clearing accounts; the
// obligation is what the settlement accounts at the CBI still owe each other.
type Obligation struct {
	From, To   string // CBI bank codes, 3 digits, different
	AmountRial int64  // at least 1
}

// Net is one bank's net position in a set: positive when it owes (its settlement account is debited), negative
// when it is owed (credited). The nets of a set sum to zero.
type Net struct {
	Bank       string
	AmountRial int64
}

// NetSet is a deferred rail's request to settle: its obligations, as one atomic set on the settlement
// accounts, outside SATNA's hours and queue, with no minimum and no SATNA fee (issue 8, item 5).
type NetSet struct {
	// ID names the set; a repeat of the same ID answers the first result and moves nothing again.
	ID [16]byte
	// Rail names the rail asking ("paya", "shahab"): the transfers' code and the reports say whose set it is.
	Rail        string
	Obligations []Obligation
}

// NetResult is the answer to a NetSet: the nets that settled and the banks left out.
type NetResult struct {
	// Settled are the nets applied on the settlement accounts, one per bank with a non-zero net, by code.
	Settled []Net
	// Excluded are the banks taken out, in the order the rule took them: their obligations, in and out,
	// did not settle, and the rail keeps them for its next window.
	Excluded []string
}

// NetSettler is what PAYA and the card switch call to settle their nets. The wiring implements it: it runs
// PlanNets inside the ledger's writer, on stable balances, and applies Settled as one netted chain. Engines
// never import each other, so ach and shahab each declare the same method over their own types, and cmd
// adapts them to this one in a few lines.
type NetSettler interface {
	SettleNets(ctx context.Context, set NetSet) (NetResult, error)
}

// netIndex is a validated set of obligations: its banks by code, what each pair owes in total, and each
// bank's net.
type netIndex struct {
	codes []string
	pairs map[[2]int32]int64 // (from, to) → the sum of its obligations
	owes  []int64            // per bank: what it pays minus what it receives
	pays  []int64            // per bank: what it pays
}

// netEdge is what a bank pays (+) or receives (−) from another, over a set.
type netEdge struct {
	other int32
	owes  int64
}

// indexNets checks obligations and sums them.
func indexNets(obs []Obligation) (*netIndex, error) {
	if len(obs) > NetObligationsMax {
		return nil, fmt.Errorf("%w: %d obligations, more than %d", ErrNets, len(obs), NetObligationsMax)
	}
	index := map[string]int32{}
	var total int64
	for i, o := range obs {
		switch {
		case !bankCodeSyntax(o.From) || !bankCodeSyntax(o.To):
			return nil, fmt.Errorf("%w: obligation %d: from %q to %q: want 3-digit bank codes", ErrNets, i, o.From, o.To)
		case o.From == o.To:
			return nil, fmt.Errorf("%w: obligation %d: %s owes itself", ErrNets, i, o.From)
		case o.AmountRial <= 0 || o.AmountRial > NetTotalRialMax-total:
			return nil, fmt.Errorf("%w: obligation %d: amount %d: want at least 1, and a total of at most %d", ErrNets, i, o.AmountRial, NetTotalRialMax)
		}
		total += o.AmountRial
		index[o.From], index[o.To] = 0, 0
	}
	x := &netIndex{codes: slices.Sorted(maps.Keys(index)), pairs: map[[2]int32]int64{}}
	for i, c := range x.codes {
		index[c] = int32(i)
	}
	x.owes = make([]int64, len(x.codes))
	x.pays = make([]int64, len(x.codes))
	for _, o := range obs {
		f, t := index[o.From], index[o.To]
		x.pairs[[2]int32{f, t}] += o.AmountRial
		x.owes[f] += o.AmountRial
		x.owes[t] -= o.AmountRial
		x.pays[f] += o.AmountRial
	}
	return x, nil
}

// nets returns the non-zero nets of the banks not excluded, by code, and checks that they sum to zero.
func (x *netIndex) nets(excluded []bool) []Net {
	var out []Net
	var sum int64
	for b, c := range x.codes {
		if excluded[b] || x.owes[b] == 0 {
			continue
		}
		out = append(out, Net{Bank: c, AmountRial: x.owes[b]})
		sum += x.owes[b]
	}
	if sum != 0 {
		panic(fmt.Sprintf("rtgs: nets sum to %d, not zero", sum))
	}
	return out
}

// Nets returns the net of every bank with a non-zero net in obligations, by code. The error, wrapping
// ErrNets, says which obligation is malformed.
func Nets(obs []Obligation) ([]Net, error) {
	x, err := indexNets(obs)
	if err != nil {
		return nil, err
	}
	return x.nets(make([]bool, len(x.codes))), nil
}

// CheckNets checks nets a rail computed itself: each bank a 3-digit code, named once, and the amounts
// summing to zero without overflow. The error wraps ErrNets.
func CheckNets(nets []Net) error {
	seen := make(map[string]bool, len(nets))
	var sum int64
	for i, n := range nets {
		switch {
		case !bankCodeSyntax(n.Bank):
			return fmt.Errorf("%w: net %d: bank %q: want a 3-digit bank code", ErrNets, i, n.Bank)
		case seen[n.Bank]:
			return fmt.Errorf("%w: net %d: bank %s named twice", ErrNets, i, n.Bank)
		case n.AmountRial > NetTotalRialMax || n.AmountRial < -NetTotalRialMax:
			return fmt.Errorf("%w: net %d: %d rial, beyond ±%d", ErrNets, i, n.AmountRial, NetTotalRialMax)
		}
		seen[n.Bank] = true
		sum += n.AmountRial // |sum| stays below 2 × NetTotalRialMax until it returns: no overflow
		if sum > NetTotalRialMax || sum < -NetTotalRialMax {
			return fmt.Errorf("%w: nets pass ±%d rial after net %d", ErrNets, NetTotalRialMax, i)
		}
	}
	if sum != 0 {
		return fmt.Errorf("%w: nets sum to %d, not zero", ErrNets, sum)
	}
	return nil
}

// PlanNets decides which of a deferred rail's obligations settle, by the rule Offset applies to orders, by
// bank (DOMAIN.md §5: a bank that cannot cover its net debit has its entries taken out and the nets
// recomputed): a bank is short when it owes more, net, than its balance (a bank missing from balances has
// zero) — a bank owed money is never short, whatever its balance. While any bank is short, the one with the
// largest shortfall (owed minus balance; of equals, the lower code) is excluded: every obligation to or from
// it is taken out and the others' nets recomputed. settle are the nets of the banks left, non-zero ones by
// code, summing to zero; excluded the banks taken out, in that order. No hours, no queue, no minimum and no
// fee apply. An error, wrapping ErrNets, names a malformed obligation and decides nothing.
func PlanNets(obs []Obligation, balances map[string]int64) (settle []Net, excluded []string, err error) {
	x, err := indexNets(obs)
	if err != nil {
		return nil, nil, err
	}
	m := len(x.codes)
	bal := make([]int64, m)
	for b, c := range x.codes {
		// Cut to what the bank pays: above it, it is never short. Raised to -NetTotalRialMax: no overflow.
		bal[b] = max(min(balances[c], x.pays[b]), -NetTotalRialMax)
	}
	// Each bank's counterparties and what it pays (+) or receives (−) from each, by pair.
	adj := make([][]netEdge, m)
	for _, k := range slices.SortedFunc(maps.Keys(x.pairs), func(a, b [2]int32) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	}) {
		a := x.pairs[k]
		adj[k[0]] = append(adj[k[0]], netEdge{k[1], a})
		adj[k[1]] = append(adj[k[1]], netEdge{k[0], -a})
	}
	out := make([]bool, m)
	for {
		worst, shortfall := -1, int64(0)
		for b := range m {
			if out[b] || x.owes[b] <= 0 || x.owes[b] <= bal[b] {
				continue
			}
			if s := x.owes[b] - bal[b]; s > shortfall {
				worst, shortfall = b, s
			}
		}
		if worst < 0 {
			break
		}
		out[worst] = true
		excluded = append(excluded, x.codes[worst])
		for _, e := range adj[worst] {
			if !out[e.other] {
				x.owes[e.other] += e.owes // it no longer receives what worst paid it, nor pays what it owed worst
			}
		}
		x.owes[worst] = 0
	}
	return x.nets(out), excluded, nil
}
