// Package ids owns the project's identifiers: UUIDv7s minted from an injected clock.Clock and a random or
// seeded source (Source.New), deterministic UUIDv8s derived from a namespace and parts (Derive) for
// idempotency keys taken from rail references such as (bank, reference), and their canonical text (String).
//
// A seeded Source replays byte for byte: the same seed and the same sequence of clock readings give the same
// ids, so a simulated run is reproducible. Ids are [16]byte so that ledger, postgres and google/uuid types
// convert to and from them without this package importing any of them. It imports only the standard library
// and clock.
//
// It must never: read the wall clock itself (time comes from the injected Clock); mint an id that is not
// strictly greater, bytewise, than the previous one from the same Source; hand out a seeded Source's ids as
// secrets (they are predictable by design); keep any package-level mutable state.
package ids
