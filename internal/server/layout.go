package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tasvieh/tasvieh/ids"
	"github.com/tasvieh/tasvieh/ledger"
)

// Transfer codes of the platform. Rails take their own ranges: 100–199 SATNA, 200–299 PAYA, 300–399 SHAHAB.
const (
	CodeIssuance   uint16 = 1 // the CBI issues settlement liquidity to a bank (and its book's mirror follows)
	CodeWithdrawal uint16 = 2 // the CBI takes settlement liquidity back
	CodeOpening    uint16 = 3 // a simulated customer's opening balance, from the bank's equity in its book
	CodeResync     uint16 = 4 // a book's mirror (or clearing account) brought back to its settlement balance (or position) when the bank is simulated again
)

// Net settlement codes. A deferred rail's nets settle through rtgs (netsettle.go) but take the LAST code of
// the rail's own range, not one of SATNA's: a settlement account's statement then says whose obligations moved
// it (a PAYA cycle's, the card switch's), SATNA's codes stay those of gross orders — which carry SATNA's
// fee and hours, and these do not — and each rail numbers its own legs up from the bottom of its range.
const (
	CodePAYANet uint16 = 299 // PAYA's nets: debtor's settlement account → cbi:net:paya → creditor's; each simulated book's mirror against its clearing:paya
	CodeCardNet uint16 = 399 // the card switch's (SHAHAB's) nets, the same shape over cbi:net:card and clearing:card
)

// railCodes are each deferred rail's transfer codes: its customer legs (clearing.go) must carry one of them.
var railCodes = map[string][2]uint16{"paya": {200, 299}, "card": {300, 399}}

// External keys: how the rails find the accounts of the layout.
const (
	KeyIssuance = "cbi:issuance" // the CBI's issuance account, ledger 1
	KeyCBIFee   = "cbi:fee"      // the switch's fee income, ledger 1
	KeyMirror   = "mirror"       // in a book: the mirror of the bank's settlement account
	KeyEquity   = "equity"       // in a book: the bank's own funds, the other side of openings and liquidity
	KeyFee      = "fee"          // in a book: the bank's fee income
	KeySuspense = "suspense"     // in a book: funds that cannot be credited yet
)

// Rails with a clearing account in every book (ARCHITECTURE.md "Books": the deferred rails).
var clearingRails = []string{"paya", "card"}

// KeyNet is a deferred rail's net-settlement account in ledger 1 (floor zero): a set's one netted chain pays
// the debtors' nets into it and the creditors' out of it, so it holds nothing before or after any set.
func KeyNet(rail string) string { return "cbi:net:" + rail }

// KeySettlement is a bank's settlement account's key in ledger 1.
func KeySettlement(code string) string { return "bank:" + code }

// KeyClearing is a deferred rail's clearing account's key in a book.
func KeyClearing(rail string) string { return "clearing:" + rail }

// BookLedger is a bank's customer book: 1000 + its CBI code (ledger.LedgerID's convention).
func BookLedger(code string) ledger.LedgerID {
	var n int
	fmt.Sscanf(code, "%d", &n)
	return ledger.LedgerID(1000 + n)
}

// AccountID is the id of the account with a key in a ledger: derived, so laying out the books again after a
// restart names the same accounts, and a rail can name an account without a look-up.
func AccountID(l ledger.LedgerID, key string) ledger.ID {
	if !layoutKey(key) {
		return deriveAccount(l, key)
	}
	k := layoutAccount{l, key}
	if id, ok := layoutIDs.Load(k); ok {
		return id.(ledger.ID)
	}
	id := deriveAccount(l, key)
	layoutIDs.Store(k, id)
	return id
}

func deriveAccount(l ledger.LedgerID, key string) ledger.ID {
	return ledger.ID(ids.Derive("tasvieh.account", strconv.FormatUint(uint64(l), 10), key))
}

// layoutIDs caches the ids of the layout's own accounts (settlement accounts, mirrors, equity, fee, suspense,
// clearing): every order names several, and each derivation is a SHA-256. Customers' accounts are not
// cached — their keys come from requests, and the cache must stay bounded: at most a handful of keys for
// each of the 1,000 possible bank codes, in each of at most 1,001 ledgers.
var layoutIDs sync.Map // layoutAccount → ledger.ID

type layoutAccount struct {
	l   ledger.LedgerID
	key string
}

// layoutKey reports whether key names one of the layout's own accounts.
func layoutKey(key string) bool {
	switch key {
	case KeyIssuance, KeyCBIFee, KeyMirror, KeyEquity, KeyFee, KeySuspense, KeySATNAOffset:
		return true
	}
	if code, ok := strings.CutPrefix(key, "bank:"); ok {
		return len(code) == 3 && strings.Trim(code, "0123456789") == ""
	}
	return slices.ContainsFunc(clearingRails, func(r string) bool { return key == KeyClearing(r) })
}

// derivedTransfer is the id of a set-up transfer (funding, openings): derived from what it does, so doing it
// again after a restart is a repeat the ledger answers with the original.
func derivedTransfer(parts ...string) ledger.ID {
	return ledger.ID(ids.Derive("tasvieh.setup", parts...))
}
