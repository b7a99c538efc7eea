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
