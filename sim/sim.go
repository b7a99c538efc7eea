package sim

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/tasvieh/tasvieh/banks"
	"github.com/tasvieh/tasvieh/card"
	"github.com/tasvieh/tasvieh/sheba"
)

// Limits. Every value that can grow has one; the comment says where it comes from.
const (
	// CustomersDefault is the number of generated customers per simulated bank when Config.Customers is 0:
	// the issue's --customers default.
	CustomersDefault = 1000
	// CustomersMax bounds Config.Customers. 100,000 customers in each of the ~30 active banks is 3 million
	// ledger accounts and about 4.5 million cards (one or two each): what one 2-core machine's ledger holds in
	// memory and loads at start-up in seconds. A larger population is a scale-out test, not a simulated book.
	// It also keeps every derived number in range: the account and card permutations cover more than
	// CardsPerCustomerMax × CustomersMax values, and a book's total stays far below int64 overflow.
	CustomersMax = 100_000
	// CardsPerCustomerMax is the most cards a generated customer holds.
	CardsPerCustomerMax = 2
	// NameBytesMax bounds Customer.Name in bytes of UTF-8: the longest first name and surname of the lists
	// take 36; 64 leaves room under ledger.NameLenMax (128) for the wiring to prefix a label when a customer's
	// name becomes its account's name. A test holds every combination to it.
	NameBytesMax = 64
	// NameENBytesMax bounds Customer.NameEN: ASCII, so bytes are characters; the same 64 as Name.
	NameENBytesMax = 64
	// KeyBytesMin is the shortest server key Config.Validate accepts: RFC 2104 §3 advises a key no shorter
	// than the hash's output, 32 bytes for SHA-256.
	KeyBytesMin = 32
	// KeyBytesMax is the longest: HMAC hashes a key longer than SHA-256's 64-byte block down to 32 bytes
	// (RFC 2104 §2), so a longer one adds nothing and is more likely a mistake (a file read whole).
	KeyBytesMax = 64
)

// Opening balances, in rial (see the package documentation for the distribution).
const (
	// OpeningRialMin is the smallest opening balance of a generated customer: 1,000,000 rial, the price of a
	// small purchase, so a debit of more fails on funds.
	OpeningRialMin = 1_000_000
	// OpeningRialMax bounds opening balances from above (exclusive): 50,000,000,000 rial, "tens of billions",
	// fifty times the largest SATNA customer minimum (1,000,000,000 since 1404-02-14).
	OpeningRialMax = 50_000_000_000
	// WhaleRialMin is the floor of the guaranteed rich customers: above every SATNA minimum many times over.
	WhaleRialMin = 10_000_000_000
	// SmallRialMax bounds the guaranteed small customers (exclusive): the seed rulebook's PAYA per-entry cap,
	// so their whole balance can travel in one PAYA entry.
	SmallRialMax = 150_000_000
	// MagicOpeningRial is the opening balance of every magic customer: enough for any rail's figure, so a magic
	// account fails by its status, never by its funds.
	MagicOpeningRial = 10_000_000_000
)

// Shapes of the generated values.
const (
	accountDigits = 18 // the account number inside a SHEBA, positions 9–26
	cvv2Digits    = 3  // printed on the back of Iranian cards
	// PIN2DigitsMin and PIN2DigitsMax bound a second PIN (رمز دوم): 5 to 12 digits, the range the project's
	// issue gives. CheckPIN2 refuses anything outside without hashing it. Generated PIN2s have PIN2Digits
	// digits, a length inside the range that a tester types quickly.
	PIN2DigitsMin = 5
	PIN2Digits    = 6
	PIN2DigitsMax = 12
	// Card expiry years, Jalali, two digits: generated cards expire in 1406–1409, a few years after the fixed
	// reference year 1404 (the year this simulator's rulebook and calendar start from), never after today,
	// so a book does not change with the date it was generated on.
	expiryYearFirst = 6
	expiryYears     = 4
)

// Sentinel errors, wrapped by the errors of this package.
var (
	ErrInvalid      = errors.New("invalid value")    // a field of Config, Behaviour or the bank does not have the form it must
	ErrNotSimulated = errors.New("bank has no book") // the bank is merged, dissolved or the central bank
)

// Config is what a simulated bank's book is generated from.
type Config struct {
	Seed      uint64 // the run's seed: the same seed gives the same customers, byte for byte
	Customers int    // generated customers per bank, 0–CustomersMax; 0 means CustomersDefault
	Key       []byte // the server key under which card secrets are kept (Card.Secrets), KeyBytesMin–KeyBytesMax bytes
}

// Validate checks the fields of c, naming the first that is wrong.
func (c Config) Validate() error {
	if c.Customers < 0 || c.Customers > CustomersMax {
		return fmt.Errorf("sim: config customers %d not in 0–%d: %w", c.Customers, CustomersMax, ErrInvalid)
	}
	if len(c.Key) < KeyBytesMin || len(c.Key) > KeyBytesMax {
		return fmt.Errorf("sim: config key is %d bytes, want %d–%d: %w", len(c.Key), KeyBytesMin, KeyBytesMax, ErrInvalid)
	}
	return nil
}

// customers is the number of generated customers c asks for.
func (c Config) customers() int {
	if c.Customers == 0 {
		return CustomersDefault
	}
	return c.Customers
}

// AccountStatus is where a customer's account stands.
type AccountStatus string

// The account statuses. Generated customers are all active; the magic customers carry the others.
const (
	AccountActive  AccountStatus = "active"
	AccountBlocked AccountStatus = "blocked" // frozen (مسدود): no money moves in or out
	AccountClosed  AccountStatus = "closed"  // closed by the customer or the bank: no money moves in or out
)

// CardStatus is where a card stands.
type CardStatus string

// The card statuses. Generated cards are all active; the magic cards carry the others.
const (
	CardActive  CardStatus = "active"
	CardBlocked CardStatus = "blocked"
	CardExpired CardStatus = "expired"
	CardLost    CardStatus = "lost"
)

// Customer is one account holder in a simulated bank's book.
type Customer struct {
	// Index is the customer's place in the generated sequence, 0 to Customers−1; it alone (with the seed and
	// the bank) decides the customer. A magic customer has a negative Index: minus its reserved account number.
	Index       int
	Bank        string        // CBI code of the bank, e.g. "017"
	Name        string        // Persian full name, first name and surname
	NameEN      string        // the same name in Latin letters, for files that take ASCII only (NACHA)
	SHEBA       string        // canonical, 26 characters; account type 0
	Account     string        // the 18-digit account number inside SHEBA
	Status      AccountStatus // see CanCredit, CanDebit
	OpeningRial int64         // the balance the book opens with
	Cards       []Card        // 0 when the bank issues no cards, else 1 or 2 (a magic customer may hold more)
	Magic       string        // "" or the name of the magic value this account is (MagicAccountBlocked, …)
}

// Card is a bank card of a customer, on one of its bank's BINs.
type Card struct {
	PAN    string // 16 digits, Luhn-valid
	Expiry string // Jalali YYMM as printed on Iranian cards, e.g. "0812" for Esfand 1408
	// CVV2 and PIN2 are the card's test values in clear, for the simulator's directory, which tells a tester
	// what to type. The book never stores them: it stores Card.Secrets.
	CVV2   string     // 3 digits
	PIN2   string     // PIN2Digits digits
	Status CardStatus // see CanUseCard
	Magic  string     // "" or the name of the magic value this card is (MagicCardBlocked, …)
}

// Simulated reports whether a bank can have a book: active or suspended banks can (a suspension is the
// operator's run-time switch, the customers stay); merged and dissolved banks have no accounts of their own
// and the central bank's book is the settlement ledger itself.
func Simulated(b banks.Bank) bool {
	return b.Status == banks.StatusActive || b.Status == banks.StatusSuspended
}

// Book returns the customers of a simulated bank: cfg.Customers generated ones in index order (CustomersDefault
// when 0), then the magic customers of the bank (see Magic) that are in its book. The result depends only on
// bank.Code, bank.BINs, cfg.Seed and cfg.Customers, never on cfg.Key, the clock or anything global; customer i
// is the same whatever the number asked for, so a shorter book is a prefix of a longer one's generated part.
// Account numbers, SHEBAs and PANs are unique within the bank. cfg must pass Config.Validate, key included,
// so that no book is opened without the key its card secrets will be kept under. An error wraps ErrInvalid
// or ErrNotSimulated.
func Book(bank banks.Bank, cfg Config) ([]Customer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !Simulated(bank) {
		return nil, fmt.Errorf("sim: bank %s is %s: %w", bank.Code, bank.Status, ErrNotSimulated)
	}
	if err := checkBank(bank); err != nil {
		return nil, err
	}
	g := newGenerator(bank, cfg.Seed)
	n := cfg.customers()
	out := make([]Customer, 0, n+len(magicAccounts))
	for i := range n {
		c, err := g.customer(i)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	m, err := magicCustomers(bank)
	if err != nil {
		return nil, err
	}
	return append(out, m...), nil
}

// checkBank rejects a bank whose code or BINs cannot make identifiers, before anything is generated.
func checkBank(bank banks.Bank) error {
	if _, err := sheba.Generate(bank.Code, 0, "1"); err != nil {
		return fmt.Errorf("sim: bank code %q: %w: %w", bank.Code, ErrInvalid, err)
	}
	// Probe each BIN with the smallest generated serial (its first and last digits are not 0, so only a
	// malformed BIN fails) and the first BIN with the first magic serial (which fails if the BIN's last five
	// digits are zeros, making digits 2–11 all zero).
	for k, bin := range bank.BINs {
		serial := uint64(cardSerialFloor + 1)
		if k == 0 {
			serial = magicCards[0].serial
		}
		if _, err := card.Generate(bin, serial); err != nil {
			return fmt.Errorf("sim: bank %s bin %q: %w: %w", bank.Code, bin, ErrInvalid, err)
		}
	}
	return nil
}

// Total returns the sum of the customers' opening balances: what the wiring issues into the bank's book.
// It panics on int64 overflow, which a book from Book cannot reach (CustomersMax × OpeningRialMax is 5×10¹⁵).
func Total(customers []Customer) int64 {
	var sum int64
	for i := range customers {
		v := customers[i].OpeningRial
		if (v > 0 && sum > math.MaxInt64-v) || (v < 0 && sum < math.MinInt64-v) {
			panic("sim: total of opening balances overflows int64 at customer " + strconv.Itoa(i))
		}
		sum += v
	}
	return sum
}

// The stable codes of CanCredit, CanDebit and CanUseCard, safe to show in an API.
const (
	CodeAccountBlocked = "account_blocked"
	CodeAccountClosed  = "account_closed"
	CodeCardBlocked    = "card_blocked"
	CodeCardExpired    = "card_expired"
	CodeCardLost       = "card_lost"
)

// CanCredit reports whether money may be credited to c's account, and if not, why. A blocked or closed
// account takes nothing: the receiving bank returns the payment (DOMAIN.md §4, §5). It panics on a status
// that is none of the AccountStatus values, a bug in whoever built c.
func CanCredit(c Customer) (ok bool, code string) { return accountOpen(c) }

// CanDebit reports whether money may be debited from c's account, and if not, why; the same rule as CanCredit.
// Funds are the ledger's business, not this one's.
func CanDebit(c Customer) (ok bool, code string) { return accountOpen(c) }

func accountOpen(c Customer) (bool, string) {
	switch c.Status {
	case AccountActive:
		return true, ""
	case AccountBlocked:
		return false, CodeAccountBlocked
	case AccountClosed:
		return false, CodeAccountClosed
	}
	panic("sim: customer " + c.SHEBA + " has unknown account status " + strconv.Quote(string(c.Status)))
}

// CanUseCard reports whether a card may be the source or the destination of a transfer, and if not, why.
// It looks at the status only: an expired card carries CardExpired (this package never reads the clock, so
// it does not compare Expiry with today). It panics on an unknown status, as CanCredit does.
func CanUseCard(c Card) (ok bool, code string) {
	switch c.Status {
	case CardActive:
		return true, ""
	case CardBlocked:
		return false, CodeCardBlocked
	case CardExpired:
		return false, CodeCardExpired
	case CardLost:
		return false, CodeCardLost
	}
	panic("sim: card " + maskPAN(c.PAN) + " has unknown status " + strconv.Quote(string(c.Status)))
}

// maskPAN hides a card number's middle for a message, as card.PAN.Masked does, without trusting its shape.
func maskPAN(pan string) string {
	if len(pan) < 10 {
		return "card"
	}
	return pan[:6] + "******" + pan[len(pan)-4:]
}
