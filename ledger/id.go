package ledger

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrIDSyntax is wrapped by ParseID when its input is not a canonical id.
var ErrIDSyntax = errors.New("ledger: invalid id")

// ID names an account or a transfer. Clients choose ids (callers use UUIDv7, which is time-ordered, so stored
// rows grow at the right edge of their index); the ledger only requires that an id is not zero.
type ID [16]byte

// idTextLen is the length of the canonical form 8-4-4-4-12: 32 hex digits and 4 dashes.
const idTextLen = 36

// idDashes are the positions of the dashes in the canonical form.
var idDashes = [4]int{8, 13, 18, 23}

// IsZero reports whether id is the zero id, which never names anything.
func (id ID) IsZero() bool { return id == ID{} }

// String returns id in the canonical 8-4-4-4-12 form of lower-case hex digits.
func (id ID) String() string {
	b := id.appendText(make([]byte, 0, idTextLen))
	return string(b)
}

func (id ID) appendText(b []byte) []byte {
	var buf [idTextLen]byte
	hex.Encode(buf[0:8], id[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], id[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], id[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], id[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], id[10:16])
	return append(b, buf[:]...)
}

// ParseID reads an id in the canonical 8-4-4-4-12 form; hex digits may be upper or lower case. The error wraps
// ErrIDSyntax and names the first offending character position (counted from 0).
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != idTextLen {
		return id, fmt.Errorf("%w %q: length %d, want %d", ErrIDSyntax, s, len(s), idTextLen)
	}
	j := 0 // next dash in idDashes
	n := 0 // next byte of id
	for i := 0; i < idTextLen; {
		if j < len(idDashes) && i == idDashes[j] {
			if s[i] != '-' {
				return ID{}, fmt.Errorf("%w %q: position %d: want '-'", ErrIDSyntax, s, i)
			}
			i++
			j++
			continue
		}
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 {
			return ID{}, fmt.Errorf("%w %q: position %d: want a hex digit", ErrIDSyntax, s, i)
		}
		if !ok2 {
			return ID{}, fmt.Errorf("%w %q: position %d: want a hex digit", ErrIDSyntax, s, i+1)
		}
		id[n] = hi<<4 | lo
		n++
		i += 2
	}
	return id, nil
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// MarshalText implements encoding.TextMarshaler with the canonical form, so ids read well in JSON and logs.
func (id ID) MarshalText() ([]byte, error) { return id.appendText(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseID.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
