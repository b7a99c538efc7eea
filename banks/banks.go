package banks

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Status is where a bank stands as a member of the rails.
type Status string

// The statuses a bank can have. The table ships the first four; only an
// operator sets StatusSuspended, at run time, through [Registry.WithStatus].
const (
	StatusActive    Status = "active"    // a member bank that sends and receives
	StatusMerged    Status = "merged"    // absorbed into Successor; its identifiers route there
	StatusDissolved Status = "dissolved" // wound up into Successor; its identifiers route there
	StatusCentral   Status = "central"   // the Central Bank of Iran itself, code 010
	StatusSuspended Status = "suspended" // a member the operator has suspended
)

// valid reports whether s is one of the statuses above.
func (s Status) valid() bool {
	switch s {
	case StatusActive, StatusMerged, StatusDissolved, StatusCentral, StatusSuspended:
		return true
	}
	return false
}

// gone reports whether a bank with status s no longer exists on its own, so
// that its identifiers route to its successor.
func (s Status) gone() bool { return s == StatusMerged || s == StatusDissolved }

// Bank is one row of the registry.
type Bank struct {
	Code      string   // CBI code, 3 digits, e.g. "017"; also positions 5–7 of a SHEBA
	NameEN    string   // English name, e.g. "Melli"
	NameFA    string   // Persian name, e.g. "بانک ملی ایران"
	BINs      []string // 6-digit card prefixes the bank issued, as listed; nil when none
	BIC       string   // SWIFT BIC, 8 or 11 characters; empty when unknown
	Status    Status   // see the Status constants
	Successor string   // code of the bank a merged or dissolved bank went into; empty otherwise
	Since     string   // when Status took effect, as written in the table ("2019", "2025-10-25"); may be empty
}

// Active reports whether the bank sends and receives on its own account: an
// active member or the central bank. Merged, dissolved and suspended banks
// are not active.
func (b Bank) Active() bool { return b.Status == StatusActive || b.Status == StatusCentral }

// Label is the bank's code and English name, e.g. "015 Sepah", as messages
// show a bank to people.
func (b Bank) Label() string { return b.Code + " " + b.NameEN }

// clone returns b with its own copy of BINs, so a caller cannot change a
// Registry through a returned Bank.
func (b Bank) clone() Bank {
	b.BINs = slices.Clone(b.BINs)
	return b
}

// codeCount is how many distinct CBI codes exist: a code is 3 decimal digits.
const codeCount = 1000

// Registry is an immutable set of banks with their lookup indexes. It is safe
// for concurrent use; nothing changes it after it is built.
type Registry struct {
	banks     []Bank           // sorted by code
	index     [codeCount]int16 // code as a number -> position in banks + 1; 0 when absent
	bins      map[string]int   // BIN -> position of the bank that issued it
	route     []int            // position -> position of the bank that routes for it today
	successor []string         // position -> Label of route, for gone banks only
}

// Sentinel errors, wrapped by the errors of this package.
var (
	ErrInvalid     = errors.New("invalid value")        // a field does not have the form it must
	ErrDuplicate   = errors.New("duplicate")            // a code or BIN is listed twice
	ErrSuccessor   = errors.New("bad successor")        // missing, unknown, or circular successor
	ErrUnknownBank = errors.New("unknown bank")         // no bank has the code asked for
	ErrStatus      = errors.New("status cannot change") // a change WithStatus does not allow
	ErrEmpty       = errors.New("table lists no banks") // the table has no rows
)

//go:embed banks.tsv
var tableTSV string

// defaultRegistry parses the embedded table once, on first use.
var defaultRegistry = sync.OnceValue(func() *Registry {
	r, err := Parse(strings.NewReader(tableTSV))
	if err != nil {
		// The table ships inside the binary and a test parses it, so this
		// is a broken build, not a run-time condition.
		panic(fmt.Sprintf("banks: embedded banks.tsv is broken: %v", err))
	}
	return r
})

// Default returns the registry of the table shipped with tasvieh (CBI codes
// 010–095). It is parsed once and shared; it panics if the embedded table is
// broken, which a test rules out.
func Default() *Registry { return defaultRegistry() }

// codeNumber turns a 3-digit code into its number, or reports false.
func codeNumber(code string) (int, bool) {
	if len(code) != 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < 3; i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// find returns the position of the bank with the given code.
func (r *Registry) find(code string) (int, bool) {
	n, ok := codeNumber(code)
	if !ok || r.index[n] == 0 {
		return 0, false
	}
	return int(r.index[n]) - 1, true
}

// ByCode returns the bank with the given CBI code, whatever its status.
func (r *Registry) ByCode(code string) (Bank, bool) {
	i, ok := r.find(code)
	if !ok {
		return Bank{}, false
	}
	return r.banks[i].clone(), true
}

// ByBIN returns the bank listed as the issuer of a 6-digit BIN, whatever its
// status: for 627381 that is Ansar (063), merged into Sepah. Use
// [Registry.LookupBIN] for the bank a card routes to today.
func (r *Registry) ByBIN(bin string) (Bank, bool) {
	i, ok := r.bins[bin]
	if !ok {
		return Bank{}, false
	}
	return r.banks[i].clone(), true
}

// Route returns the bank that handles the given code's accounts today: the
// bank itself unless it was merged or dissolved, else the end of its chain of
// successors (063 Ansar routes to 015 Sepah). The chain is followed when the
// registry is built, which rejects circular chains, so Route never loops.
// A suspended bank routes to itself; whether it may be paid is the rails'
// decision, not the registry's.
func (r *Registry) Route(code string) (Bank, bool) {
	i, ok := r.find(code)
	if !ok {
		return Bank{}, false
	}
	return r.banks[r.route[i]].clone(), true
}

// All returns every bank, sorted by code, as copies.
func (r *Registry) All() []Bank {
	out := make([]Bank, len(r.banks))
	for i, b := range r.banks {
		out[i] = b.clone()
	}
	return out
}

// Len returns the number of banks in the registry.
func (r *Registry) Len() int { return len(r.banks) }

// LookupSHEBA implements sheba.Directory. found reports whether code names a
// bank; active reports whether that bank still exists on its own, that is,
// was neither merged nor dissolved. A suspended bank is active here: its
// SHEBAs stay well-formed identifiers, and refusing payments to it is the
// rails' decision. successor is the Label of the bank that routes for a
// merged or dissolved bank ("015 Sepah"), empty otherwise. It does not
// allocate.
func (r *Registry) LookupSHEBA(code string) (found, active bool, successor string) {
	i, ok := r.find(code)
	if !ok {
		return false, false, ""
	}
	if r.banks[i].Status.gone() {
		return true, false, r.successor[i]
	}
	return true, true, ""
}

// LookupBIN implements card.Directory: it returns the code and English name
// of the bank a card with this 6-digit BIN routes to today, which for a
// merged or dissolved issuer is its successor (627381 Ansar gives 015 Sepah;
// 636214 Ayandeh gives 017 Melli). It does not allocate.
func (r *Registry) LookupBIN(bin string) (code, name string, ok bool) {
	i, ok := r.bins[bin]
	if !ok {
		return "", "", false
	}
	b := &r.banks[r.route[i]]
	return b.Code, b.NameEN, true
}

// WithStatus returns a copy of the registry in which the bank with the given
// code has status s; the receiver is unchanged. It is the operator's switch:
// only StatusActive and StatusSuspended may be set, and only on a bank that
// is active or suspended. Merging or dissolving needs a successor and the
// central bank cannot be suspended, so those changes belong in the table.
func (r *Registry) WithStatus(code string, s Status) (*Registry, error) {
	i, ok := r.find(code)
	if !ok {
		return nil, fmt.Errorf("banks: set status of %q: %w", code, ErrUnknownBank)
	}
	if s != StatusActive && s != StatusSuspended {
		return nil, fmt.Errorf("banks: set status of %s to %q: %w: only %q and %q can be set",
			code, s, ErrStatus, StatusActive, StatusSuspended)
	}
	if cur := r.banks[i].Status; cur != StatusActive && cur != StatusSuspended {
		return nil, fmt.Errorf("banks: set status of %s to %q: %w: bank is %s",
			code, s, ErrStatus, cur)
	}
	rows := r.All()
	rows[i].Status = s
	out, err := build(rows, nil)
	if err != nil {
		// Only a status between active and suspended changed, which no
		// cross-row rule depends on.
		panic(fmt.Sprintf("banks: registry broken by a status change: %v", err))
	}
	return out, nil
}

// build indexes rows, which must be sorted by code with every field already
// checked, and checks the rules that span rows: unique codes and BINs, known
// successors, no circular chains. lines gives each row's line in the table
// for errors; nil means the rows did not come from a table.
func build(rows []Bank, lines []int) (*Registry, error) {
	lineOf := func(i int) int {
		if lines == nil {
			return 0
		}
		return lines[i]
	}
	if len(rows) == 0 {
		return nil, &ParseError{Err: ErrEmpty}
	}
	r := &Registry{
		banks:     rows,
		bins:      make(map[string]int),
		route:     make([]int, len(rows)),
		successor: make([]string, len(rows)),
	}
	for i, b := range rows {
		n, ok := codeNumber(b.Code)
		if !ok {
			return nil, &ParseError{Line: lineOf(i), Field: "code", Err: fmt.Errorf("%w: %q", ErrInvalid, b.Code)}
		}
		if r.index[n] != 0 {
			first := int(r.index[n]) - 1
			return nil, &ParseError{Line: lineOf(i), Field: "code",
				Err: fmt.Errorf("%w: code %s, first on line %d", ErrDuplicate, b.Code, lineOf(first))}
		}
		r.index[n] = int16(i + 1)
		for _, bin := range b.BINs {
			if first, dup := r.bins[bin]; dup {
				return nil, &ParseError{Line: lineOf(i), Field: "bins",
					Err: fmt.Errorf("%w: BIN %s, also listed for %s", ErrDuplicate, bin, rows[first].Code)}
			}
			r.bins[bin] = i
		}
	}
	for i, b := range rows {
		if !b.Status.gone() {
			r.route[i] = i
			continue
		}
		// Follow the chain; more steps than there are banks means a cycle.
		j := i
		for steps := 0; rows[j].Status.gone(); steps++ {
			next, ok := r.find(rows[j].Successor)
			if !ok {
				return nil, &ParseError{Line: lineOf(j), Field: "successor",
					Err: fmt.Errorf("%w: no bank has code %q", ErrSuccessor, rows[j].Successor)}
			}
			if steps >= len(rows) {
				return nil, &ParseError{Line: lineOf(i), Field: "successor",
					Err: fmt.Errorf("%w: the chain of successors from %s loops", ErrSuccessor, b.Code)}
			}
			j = next
		}
		r.route[i] = j
		r.successor[i] = rows[j].Label()
	}
	return r, nil
}
