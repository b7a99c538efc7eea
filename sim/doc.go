// Package sim decides what the simulated counterparty banks hold and do (ARCHITECTURE.md, "Books"): the
// synthetic customers of each simulated bank's book, the magic values that make a bank fail in a fixed way,
// and each bank's behaviour (online, latency, failure rate). The wiring opens the books in the ledger store
// from what Book returns; the rails ask CanCredit, CanDebit, CanUseCard, Classify and Behaviour.Fails.
//
// It owns:
//   - the customers of a book (Book): Persian names with a Latin spelling, SHEBAs with real check digits,
//     cards on the bank's own BINs, opening balances, all derived from the run's seed;
//   - the magic values (Magic, Classify), the same in every simulated bank and for every seed;
//   - keeping card secrets (Card.Secrets, CheckCVV2, CheckPIN2) as HMAC-SHA256 under the server key;
//   - the per-bank Behaviour, its limits and its replayable failure draw.
//
// It must never do I/O, read the clock, use a global or unseeded random source, log, or import anything but
// the standard library and the leaves (banks, sheba, card). It never stores a CVV2 or a second PIN in clear:
// Card carries them only so that the directory can tell a tester what to type, and what a book keeps is
// CardSecrets.
//
// # Which banks
//
// Every active or suspended bank can have a book (Simulated); merged and dissolved banks have no accounts of
// their own and the central bank's book is the settlement ledger, so Book refuses them with ErrNotSimulated.
// Which of the others are simulated, and which are external banks under test, is the wiring's choice.
//
// # Determinism
//
// A bank's seed is SplitMix64 of the run's seed mixed with FNV-1a of its CBI code. The bank's own PCG stream,
// seeded from it, draws two permutations (below); customer i has its own PCG stream, seeded from the bank's
// seed and i, and draws its fields in a fixed order. So the same seed gives the same customers byte for byte,
// a different seed different ones, and customer i does not depend on how many are asked for. Bounded draws
// are Lemire's method over PCG's output, written here, and balances use integers only, so that neither a Go
// release nor a platform's floating point can change a book. Config.Key does not enter any of it.
//
// # Identifiers
//
// A generated account number is 18 digits: a branch code 1000–9999, 6 drawn digits, and the 8-digit image
// of i under the bank's permutation i ↦ (a·i + b) mod 99,999,989 (a prime), which makes account numbers
// unique within the bank without remembering any; its SHEBA is sheba.Generate(code, 0, account). A generated
// card is card.Generate(bin, serial) on one of the bank's BINs, drawn, with the 9-digit serial
// 100,000,000 + 10·p + d, where p is the image of 2i + k (card k of customer i) under a second permutation
// mod 89,999,999 and d a drawn digit 1–9 (so no PAN has an all-zero last segment): PANs are unique within the
// bank, whatever BIN each card took. A generated customer holds one card, or two (30 % of them), or none
// when the bank issues no cards. Expiry is Jalali YYMM, year 1406–1409 and month drawn, relative to the fixed
// reference year 1404, never to today; CVV2 is 3 digits, the second PIN 6 (CheckPIN2 accepts 5–12, the range
// the project's issue gives), both drawn, leading zeros kept.
//
// # Opening balances
//
// Log-uniform in steps of 2 % over [OpeningRialMin, OpeningRialMax) = [1,000,000, 50,000,000,000) rial: a
// bucket is drawn uniformly from buckets that each start 2 % above the one before, then an amount uniformly
// inside it. About 15 % of customers hold at least 10,000,000,000 rial and about 46 % less than 150,000,000.
// Whatever the seed, customer i with i mod 100 = 0 is drawn from the buckets at or above WhaleRialMin
// (10,000,000,000) and customer i with i mod 100 = 1 from those below SmallRialMax (150,000,000), so every
// book of two or more customers reaches every rail's figures: PAYA entries below 150,000,000, SATNA's
// customer minimum of 150,000,000, 500,000,000 or 1,000,000,000, the card's daily 150,000,000. A book's sum
// (Total) is at most CustomersMax × OpeningRialMax plus the magic customers, about 5×10¹⁵ rial, far below
// int64's 9.2×10¹⁸. Magic customers open with MagicOpeningRial each, so they fail by status, never by funds.
//
// # Magic values
//
// Reserved account numbers (below 1,000; generated ones are at least 10¹⁷) in each simulated bank's SHEBA
// space, account type 0, and reserved card serials (below 1,000; generated ones are at least 10⁸) on its
// first BIN:
//
//	name                 kind   value (bank code ccc, first BIN bbbbbb)   in book  effect
//	account_blocked      sheba  IRkk ccc 0 000000000000000001            yes      blocked: credits returned, debits refused
//	account_closed       sheba  IRkk ccc 0 000000000000000002            yes      closed: credits returned, debits refused
//	account_unknown      sheba  IRkk ccc 0 000000000000000003            no       valid SHEBA, no such account
//	receiver_timeout     sheba  IRkk ccc 0 000000000000000004            yes      crediting it makes the bank time out
//	card_blocked         pan    bbbbbb 000000001 L                       yes      refused: card_blocked
//	card_expired         pan    bbbbbb 000000002 L, expiry 0212          yes      refused: card_expired
//	card_lost            pan    bbbbbb 000000003 L                       yes      refused: card_lost
//	card_issuer_timeout  pan    bbbbbb 000000004 L                       yes      its issuer times out
//	card_unknown         pan    bbbbbb 000000005 L                       no       valid PAN, no such card
//
// (kk are the check digits, L the Luhn digit; Magic gives the exact values and an English sentence for
// each, as served at /v1/directory/magic.) The cards in the book belong to account …0005, an ordinary
// active account reserved as their holder; they have expiry 0912 (0212 for the expired one), CVV2 123 and
// second PIN 123456. A bank with no BINs has only the SHEBA values and no holder. In Book, the magic
// customers follow the generated ones, with Index minus their account number. card_unknown is beyond the
// issue's list: DOMAIN.md §6 names an unknown destination card as a failure, and this makes it reachable.
//
// # Behaviour
//
// Behaviour.Fails hashes (seed, key) with FNV-1a and SplitMix64 into [0, 1) and compares it with the
// failure rate: the same request fails the same way on replay. Latency is bounded by LatencyMSMax.
package sim
