package sim

import (
	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/sheba"
)

// The names of the magic values: stable strings, safe to show in an API.
const (
	MagicAccountBlocked    = "account_blocked"
	MagicAccountClosed     = "account_closed"
	MagicAccountUnknown    = "account_unknown"
	MagicReceiverTimeout   = "receiver_timeout"
	MagicCardBlocked       = "card_blocked"
	MagicCardExpired       = "card_expired"
	MagicCardLost          = "card_lost"
	MagicCardIssuerTimeout = "card_issuer_timeout"
	MagicCardUnknown       = "card_unknown"
)

// The kinds of magic value.
const (
	KindSHEBA = "sheba"
	KindPAN   = "pan"
)

// MagicValue is an identifier that makes a simulated bank fail in a fixed way, without an operator call.
type MagicValue struct {
	Name   string `json:"name"`   // one of the Magic… constants
	Kind   string `json:"kind"`   // KindSHEBA or KindPAN
	Value  string `json:"value"`  // the SHEBA or PAN, canonical
	Effect string `json:"effect"` // one English sentence, for the README and /v1/directory/magic
	InBook bool   `json:"in_book"`
	// Holder is, for a magic card in the book, the SHEBA of the account it draws on; "" otherwise.
	Holder string `json:"holder,omitempty"`
}

// magicAccount is a reserved account number of every simulated bank. Generated account numbers are at
// least 10¹⁷ (their branch code never starts with 0), so the numbers below reservedMax never collide.
type magicAccount struct {
	number  uint64
	name    string // "" for the cardholder, an ordinary account reserved to hold the magic cards
	status  AccountStatus
	inBook  bool
	nameFA  string
	nameEN  string
	effect  string
	isCards bool // the holder of the magic cards; in the book only when the bank issues cards
}

var magicAccounts = []magicAccount{
	{number: 1, name: MagicAccountBlocked, status: AccountBlocked, inBook: true,
		nameFA: "حساب آزمایشی مسدود", nameEN: "Test Blocked Account",
		effect: "The account is in the book but blocked: credits to it are returned and debits from it are refused, with code account_blocked."},
	{number: 2, name: MagicAccountClosed, status: AccountClosed, inBook: true,
		nameFA: "حساب آزمایشی بسته", nameEN: "Test Closed Account",
		effect: "The account is in the book but closed: credits to it are returned and debits from it are refused, with code account_closed."},
	{number: 3, name: MagicAccountUnknown,
		effect: "A well-formed SHEBA of this bank that is in no book: credits to it are returned as no such account."},
	{number: 4, name: MagicReceiverTimeout, status: AccountActive, inBook: true,
		nameFA: "حساب آزمایشی بی\u200cپاسخ", nameEN: "Test Timeout Account",
		effect: "The account is in the book and active, but the receiving bank times out instead of answering when asked to credit it."},
	{number: 5, status: AccountActive, inBook: true, isCards: true,
		nameFA: "دارنده کارت آزمایشی", nameEN: "Test Cardholder"},
}

// magicCard is a reserved card serial on a simulated bank's first BIN. Generated serials are at least
// cardSerialFloor, so these never collide.
type magicCard struct {
	serial uint64
	name   string
	status CardStatus
	inBook bool
	expiry string
	effect string
}

// The fixed test values of the magic cards, the same in every bank and for every seed.
const (
	magicCVV2         = "123"
	magicPIN2         = "123456"
	magicExpiry       = "0912" // Esfand 1409, the last year generated cards expire in
	magicExpiryPassed = "0212" // Esfand 1402, before the reference year 1404
)

var magicCards = []magicCard{
	{serial: 1, name: MagicCardBlocked, status: CardBlocked, inBook: true, expiry: magicExpiry,
		effect: "The card is in the book but blocked: transfers from or to it are refused with code card_blocked."},
	{serial: 2, name: MagicCardExpired, status: CardExpired, inBook: true, expiry: magicExpiryPassed,
		effect: "The card expired at the end of 1402 (expiry 0212): transfers from or to it are refused with code card_expired."},
	{serial: 3, name: MagicCardLost, status: CardLost, inBook: true, expiry: magicExpiry,
		effect: "The card is in the book but reported lost: transfers from or to it are refused with code card_lost."},
	{serial: 4, name: MagicCardIssuerTimeout, status: CardActive, inBook: true, expiry: magicExpiry,
		effect: "The card is in the book and active, but its issuing bank times out instead of answering on any transfer from or to it."},
	{serial: 5, name: MagicCardUnknown, expiry: magicExpiry,
		effect: "A valid card number on this bank's first BIN that no customer holds: transfers to it are refused as an unknown card."},
}

// reservedMax bounds the reserved account numbers and card serials: all are below it.
const reservedMax = 1000

func magicSHEBA(code string, number uint64) (string, error) {
	var a [accountDigits]byte
	putDigits(a[:], number)
	x, err := sheba.Generate(code, 0, string(a[:]))
	return x.String(), err
}

func magicPAN(bin string, serial uint64) (string, error) {
	p, err := card.Generate(bin, serial)
	return p.String(), err
}

// Magic returns the magic values of a simulated bank: the reserved SHEBAs, then, when the bank issues cards,
// the reserved PANs on its first BIN. They are the same for every seed and every number of customers, and
// each bank has the same set, in its own identifiers. A bank that cannot have a book (see Simulated), or
// whose code or first BIN cannot make identifiers, has none.
func Magic(bank banks.Bank) []MagicValue {
	if !Simulated(bank) || checkBank(bank) != nil {
		return nil
	}
	out := make([]MagicValue, 0, len(magicAccounts)+len(magicCards))
	holder := ""
	for _, m := range magicAccounts {
		s, err := magicSHEBA(bank.Code, m.number)
		if err != nil {
			return nil
		}
		if m.isCards {
			holder = s
		}
		if m.name == "" {
			continue
		}
		out = append(out, MagicValue{Name: m.name, Kind: KindSHEBA, Value: s, Effect: m.effect, InBook: m.inBook})
	}
	if len(bank.BINs) == 0 {
		return out
	}
	for _, m := range magicCards {
		p, err := magicPAN(bank.BINs[0], m.serial)
		if err != nil {
			return nil
		}
		v := MagicValue{Name: m.name, Kind: KindPAN, Value: p, Effect: m.effect, InBook: m.inBook}
		if m.inBook {
			v.Holder = holder
		}
		out = append(out, v)
	}
	return out
}

// magicCustomers returns the magic customers of a bank's book, in reserved-number order, the cardholder with
// the magic cards in the book only when the bank issues cards.
func magicCustomers(bank banks.Bank) ([]Customer, error) {
	var out []Customer
	for _, m := range magicAccounts {
		if !m.inBook || (m.isCards && len(bank.BINs) == 0) {
			continue
		}
		s, err := magicSHEBA(bank.Code, m.number)
		if err != nil {
			return nil, err
		}
		c := Customer{
			Index:       -int(m.number),
			Bank:        bank.Code,
			Name:        m.nameFA,
			NameEN:      m.nameEN,
			SHEBA:       s,
			Account:     s[len(s)-accountDigits:],
			Status:      m.status,
			OpeningRial: MagicOpeningRial,
			Magic:       m.name,
		}
		if m.isCards {
			for _, mc := range magicCards {
				if !mc.inBook {
					continue
				}
				p, err := magicPAN(bank.BINs[0], mc.serial)
				if err != nil {
					return nil, err
				}
				c.Cards = append(c.Cards, Card{PAN: p, Expiry: mc.expiry, CVV2: magicCVV2, PIN2: magicPIN2,
					Status: mc.status, Magic: mc.name})
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// Classify reports whether value, a canonical SHEBA or PAN (as sheba.SHEBA.String and card.PAN.String give
// them), is one of bank's magic values, and which. It allocates only when value has the shape of one.
func Classify(bank banks.Bank, value string) (name string, ok bool) {
	if !Simulated(bank) {
		return "", false
	}
	switch len(value) {
	case 26:
		// IR, check digits, bank code, account type 0, then an account number below reservedMax.
		if value[:2] != "IR" || value[4:7] != bank.Code || !zeros(value[7:23]) {
			return "", false
		}
		n, ok := smallNumber(value[23:])
		if !ok {
			return "", false
		}
		for _, m := range magicAccounts {
			if m.number == n && m.name != "" {
				if s, err := magicSHEBA(bank.Code, n); err == nil && s == value {
					return m.name, true
				}
				return "", false
			}
		}
	case 16:
		if len(bank.BINs) == 0 || value[:6] != bank.BINs[0] || !zeros(value[6:12]) {
			return "", false
		}
		n, ok := smallNumber(value[12:15])
		if !ok {
			return "", false
		}
		for _, m := range magicCards {
			if m.serial == n {
				if p, err := magicPAN(bank.BINs[0], n); err == nil && p == value {
					return m.name, true
				}
				return "", false
			}
		}
	}
	return "", false
}

// zeros reports whether s is all '0'.
func zeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// smallNumber reads the 3 ASCII digits of s, a number below reservedMax.
func smallNumber(s string) (uint64, bool) {
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, n < reservedMax
}
