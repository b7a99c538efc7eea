package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Keys is keys.json: the operator's key and one per member bank, created once and kept (mode 0600), so the
// CLI and a bank's tests find them by themselves. Keys are 32 random bytes in hex.
type Keys struct {
	Operator string            `json:"operator"`
	Banks    map[string]string `json:"banks"`
}

// keyBytes is a key's entropy: 256 bits, as a bearer secret should carry.
const keyBytes = 32

func newKey() string {
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux; if it does, no key is safe to hand out
	}
	return hex.EncodeToString(b)
}

// LoadKeys reads path, creating it (and keys for banks it lacks) when needed; existing keys never change.
func LoadKeys(path string, bankCodes []string) (Keys, error) {
	var k Keys
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return k, fmt.Errorf("server: keys: %w", err)
	default:
		if err := json.Unmarshal(b, &k); err != nil {
			return k, fmt.Errorf("server: keys: %s is not valid JSON: %w", path, err)
		}
	}
	if err := k.check(); err != nil {
		return k, fmt.Errorf("server: keys: %s: %w", path, err)
	}
	if err == nil {
		// An existing file keeps its keys, but no one else may read them.
		if fi, serr := os.Stat(path); serr == nil && fi.Mode().Perm() != 0o600 {
			if err := os.Chmod(path, 0o600); err != nil {
				return k, fmt.Errorf("server: keys: %w", err)
			}
		}
	}
	changed := false
	if k.Operator == "" {
		k.Operator, changed = newKey(), true
	}
	if k.Banks == nil {
		k.Banks = map[string]string{}
	}
	sort.Strings(bankCodes)
	for _, c := range bankCodes {
		if k.Banks[c] == "" {
			k.Banks[c], changed = newKey(), true
		}
	}
	if !changed {
		return k, nil
	}
	out, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return k, fmt.Errorf("server: keys: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
		return k, fmt.Errorf("server: keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return k, fmt.Errorf("server: keys: %w", err)
	}
	return k, nil
}

// keyLenMin is the shortest key accepted from keys.json: 128 bits in hex. The server makes 256-bit keys.
const keyLenMin = 32

// check refuses keys that are short or shared: a key names one principal, or an operator's key that is also a
// bank's would answer as the bank.
func (k Keys) check() error {
	seen := map[string]string{}
	add := func(who, key string) error {
		if key == "" {
			return nil // made below
		}
		if len(key) < keyLenMin {
			return fmt.Errorf("the key of %s is shorter than %d characters", who, keyLenMin)
		}
		if other, dup := seen[key]; dup {
			return fmt.Errorf("%s and %s share a key", other, who)
		}
		seen[key] = who
		return nil
	}
	if err := add("the operator", k.Operator); err != nil {
		return err
	}
	codes := make([]string, 0, len(k.Banks))
	for c := range k.Banks {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		if err := add("bank "+c, k.Banks[c]); err != nil {
			return err
		}
	}
	return nil
}

// ServeFile is serve.json: where a local server listens, so the CLI finds it.
type ServeFile struct {
	URL   string `json:"url"`
	Keys  string `json:"keys"`
	Clock string `json:"clock"`
	PID   int    `json:"pid"`
}

// WriteServeFile writes serve.json atomically.
func WriteServeFile(path string, f ServeFile) error {
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o644); err != nil {
		return fmt.Errorf("server: serve.json: %w", err)
	}
	return os.Rename(tmp, path)
}
