// Package outbox defines the events that leave tasvieh's system of record.
//
// An Event is a fact — a PAYA entry accepted, a ledger transfer posted — written to PostgreSQL in the same
// transaction as the state change that caused it, then relayed to Kafka by the kafka package. Because the
// event is committed before it is published, nothing lives only in Kafka: a lost broker, or an embedded one
// that keeps nothing on disk, is refilled from the outbox table.
//
// The package owns the shape of an event, its limits and the Kafka header names that carry its identity.
// It is a pure leaf: standard library only, no I/O, no clock reads and no logging. It must never know about
// PostgreSQL or Kafka clients; the postgres and kafka adapters import it, never the reverse.
package outbox
