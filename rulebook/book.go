package rulebook

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tasvieh/tasvieh/calendar"
)

// Errors of this package; returned errors wrap them with the profile,
// field or date at fault.
var (
	// ErrInvalid: a figure, a profile or a config file is malformed.
	ErrInvalid = errors.New("invalid rulebook")
	// ErrUnknownProfile: no profile has that name.
	ErrUnknownProfile = errors.New("unknown profile")
	// ErrNoProfile: no dated profile is in force on that date.
	ErrNoProfile = errors.New("no profile in force")
)

// DefaultName is the profile a Book uses unless its config says otherwise:
// the user's design card.
const DefaultName = "seed"

// Limits of a config file.
const (
	// configBytesMax bounds a config file: a full profile is under 1 KiB,
	// so 1 MiB is room for far more than profilesMax of them.
	configBytesMax = 1 << 20
	// profilesMax bounds the profiles of a Book: the CBI changes these
	// figures every few years, and scenarios add a handful.
	profilesMax = 64
)

// Book is a set of profiles: one undated default (seed) and dated ones, each
// in force from its Effective date until the next. A Book never changes after
// it is built and is safe for concurrent use.
type Book struct {
	profiles    map[string]Profile
	dated       []Profile // the dated profiles, by Effective
	defaultName string
}

// embeddedFS holds the three profiles of DOMAIN.md §9.
//
//go:embed profiles/*.json
var embeddedFS embed.FS

// embeddedNames are the embedded profiles, one file each.
var embeddedNames = []string{"seed", "1400", "1404"}

// embeddedBook parses the embedded profiles once. They are checked by the
// tests; a failure here is a broken build, so it panics.
var embeddedBook = sync.OnceValue(func() *Book {
	profiles := make(map[string]Profile, len(embeddedNames))
	for _, name := range embeddedNames {
		data, err := embeddedFS.ReadFile("profiles/" + name + ".json")
		if err != nil {
			panic(fmt.Sprintf("rulebook: embedded profile %s: %v", name, err))
		}
		var p Profile
		if err := decodeStrict(data, &p); err != nil {
			panic(fmt.Sprintf("rulebook: embedded profile %s: %v", name, err))
		}
		if p.Name != name {
			panic(fmt.Sprintf("rulebook: embedded profile %s.json is named %q", name, p.Name))
		}
		profiles[name] = p
	}
	b, err := newBook(profiles, DefaultName)
	if err != nil {
		panic(err.Error())
	}
	return b
})

// Default returns the Book of DOMAIN.md §9: seed (the default, undated),
// 1400 (from 1400-10-25) and 1404 (from 1404-02-14).
func Default() *Book { return embeddedBook() }

// newBook checks profiles and indexes them.
func newBook(profiles map[string]Profile, defaultName string) (*Book, error) {
	if len(profiles) > profilesMax {
		return nil, fmt.Errorf("rulebook: %d profiles, more than %d: %w", len(profiles), profilesMax, ErrInvalid)
	}
	b := &Book{profiles: profiles, defaultName: defaultName}
	for _, name := range slices.Sorted(maps.Keys(profiles)) {
		p := profiles[name]
		if err := p.Validate(); err != nil {
			return nil, err
		}
		if !p.Effective.IsZero() {
			b.dated = append(b.dated, p)
		}
	}
	slices.SortFunc(b.dated, func(x, y Profile) int { return x.Effective.Compare(y.Effective) })
	for i := 1; i < len(b.dated); i++ {
		if b.dated[i].Effective == b.dated[i-1].Effective {
			return nil, fmt.Errorf("rulebook: profiles %q and %q both take effect on %s: %w",
				b.dated[i-1].Name, b.dated[i].Name, b.dated[i].Effective, ErrInvalid)
		}
	}
	if _, ok := profiles[defaultName]; !ok {
		return nil, fmt.Errorf("rulebook: default profile %q: %w", defaultName, ErrUnknownProfile)
	}
	return b, nil
}

// Profile returns the profile called name, a copy the caller may change.
func (b *Book) Profile(name string) (Profile, error) {
	p, ok := b.profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("rulebook: profile %q: %w", name, ErrUnknownProfile)
	}
	return p.clone(), nil
}

// DefaultName returns the name of the profile used when none is asked for:
// "seed" unless a config file chose another.
func (b *Book) DefaultName() string { return b.defaultName }

// At returns the dated profile in force on d: the one with the latest
// Effective date on or before d. Undated profiles, seed among them, are
// never chosen by date: they are picked by name. A date before the first
// dated profile is an error wrapping ErrNoProfile, as is an invalid date.
func (b *Book) At(d calendar.Date) (Profile, error) {
	if err := d.Validate(); err != nil {
		return Profile{}, fmt.Errorf("rulebook: profile at %s: %v: %w", d, err, ErrNoProfile)
	}
	// i is the number of dated profiles in force by d.
	i := sort.Search(len(b.dated), func(i int) bool { return b.dated[i].Effective.After(d) })
	if i == 0 {
		first := "none is dated"
		if len(b.dated) > 0 {
			first = fmt.Sprintf("the first, %q, takes effect on %s", b.dated[0].Name, b.dated[0].Effective.Display())
		}
		return Profile{}, fmt.Errorf("rulebook: profile at %s: %s: %w", d.Display(), first, ErrNoProfile)
	}
	return b.dated[i-1].clone(), nil
}

// Names returns the names of b's profiles: undated ones first, by name,
// then dated ones by Effective date. For Default that is seed, 1400, 1404.
func (b *Book) Names() []string {
	var names []string
	for n, p := range b.profiles {
		if p.Effective.IsZero() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, p := range b.dated {
		names = append(names, p.Name)
	}
	return names
}

// config is the shape of a config file.
type config struct {
	// Default names the profile used when none is asked for.
	Default string `json:"default"`
	// Profiles override existing profiles or add new ones, by name.
	Profiles map[string]json.RawMessage `json:"profiles"`
}

// profileConfig is one entry of config.Profiles: a profile's fields, plus
// for a new profile the existing one it starts from.
type profileConfig struct {
	Base string `json:"base"`
	*Profile
}

// Load reads a JSON config file and returns Default's profiles with its
// changes applied:
//
//	{
//	  "default": "1404",
//	  "profiles": {
//	    "1404":   {"paya_cap": {"amount_rial": 3000000000}},
//	    "stress": {"base": "seed", "effective": "1405/01/01", "card_daily_limit_rial": 1000000}
//	  }
//	}
//
// An entry naming an existing profile changes only the fields it lists
// (inside a nested object too: "paya_cap": {"amount_rial": …} keeps
// "inclusive"); a list such as paya_cycles is replaced whole. An entry with a
// new name must give "base", an existing profile (after this file's changes
// to it) whose fields it starts from; it is not dated unless it gives
// "effective". Every key is optional. A profile the file changes or adds
// without giving "source" gets a Source that says so.  An unknown field anywhere is an error
// that names it; so is a profile that fails Validate. Errors wrap ErrInvalid
// or ErrUnknownProfile.
func Load(r io.Reader) (*Book, error) {
	data, err := io.ReadAll(io.LimitReader(r, configBytesMax+1))
	if err != nil {
		return nil, fmt.Errorf("rulebook: config: %w", err)
	}
	if len(data) > configBytesMax {
		return nil, fmt.Errorf("rulebook: config: longer than %d bytes: %w", configBytesMax, ErrInvalid)
	}
	var cfg config
	if err := decodeStrict(data, &cfg); err != nil {
		return nil, fmt.Errorf("rulebook: config: %w", err)
	}
	if len(cfg.Profiles) > profilesMax {
		return nil, fmt.Errorf("rulebook: config: %d profiles, more than %d: %w", len(cfg.Profiles), profilesMax, ErrInvalid)
	}
	base := Default()
	profiles := make(map[string]Profile, len(base.profiles)+len(cfg.Profiles))
	for n, p := range base.profiles {
		profiles[n] = p.clone()
	}
	// Changes to existing profiles first, in name order, then new ones, so
	// that a new profile's base is the changed one.
	names := slices.Sorted(maps.Keys(cfg.Profiles))
	for _, pass := range []bool{true, false} {
		for _, name := range names {
			_, existing := base.profiles[name]
			if existing != pass {
				continue
			}
			p, err := applyProfile(profiles, base.profiles, name, existing, cfg.Profiles[name])
			if err != nil {
				return nil, err
			}
			profiles[name] = p
		}
	}
	defaultName := base.defaultName
	if cfg.Default != "" {
		defaultName = cfg.Default
	}
	b, err := newBook(profiles, defaultName)
	if err != nil {
		return nil, fmt.Errorf("rulebook: config: %w", err)
	}
	return b, nil
}

// applyProfile decodes one config entry over the profile it changes or
// starts from. profiles are the profiles so far; a base must be one of
// bases, the profiles that existed before the file.
func applyProfile(profiles, bases map[string]Profile, name string, existing bool, raw json.RawMessage) (Profile, error) {
	var head struct {
		Base   string  `json:"base"`
		Source *string `json:"source"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Profile{}, fmt.Errorf("rulebook: config: profile %q: %w: %w", name, err, ErrInvalid)
	}
	var start Profile
	switch {
	case existing && head.Base != "":
		return Profile{}, fmt.Errorf("rulebook: config: profile %q: base: only a new profile has a base: %w", name, ErrInvalid)
	case existing:
		start = profiles[name]
	case head.Base == "":
		return Profile{}, fmt.Errorf("rulebook: config: profile %q: base: a new profile needs a base profile: %w", name, ErrInvalid)
	default:
		b, ok := profiles[head.Base]
		if _, existed := bases[head.Base]; !existed || !ok {
			return Profile{}, fmt.Errorf("rulebook: config: profile %q: base %q: not one of %s: %w",
				name, head.Base, strings.Join(slices.Sorted(maps.Keys(bases)), ", "), ErrUnknownProfile)
		}
		start = b.clone()
		start.Name, start.Effective = name, calendar.Date{}
	}
	p := start.clone()
	if err := decodeStrict(raw, &profileConfig{Profile: &p}); err != nil {
		return Profile{}, fmt.Errorf("rulebook: config: profile %q: %w", name, err)
	}
	if p.Name != name {
		return Profile{}, fmt.Errorf("rulebook: config: profile %q: name: %q differs from its key: %w", name, p.Name, ErrInvalid)
	}
	// Unless the file says where its figures come from, Source says that a
	// config file made or changed them, so no one takes them for a circular's.
	switch {
	case head.Source != nil:
	case !existing:
		p.Source = fmt.Sprintf("config file, based on %s (%s)", head.Base, start.Source)
	case !reflect.DeepEqual(p, start):
		p.Source += "; changed by a config file"
	}
	return p, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// anything after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value: %w", ErrInvalid)
	}
	return nil
}
