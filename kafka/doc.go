// Package kafka is tasvieh's adapter to Kafka, through github.com/segmentio/kafka-go.
//
// Start connects to the brokers in Config, or, when none are configured, starts an embedded
// Kafka-protocol broker in-process (github.com/twmb/franz-go/pkg/kfake) on loopback and talks to it with
// the same kafka-go code, so the one binary runs without Docker and the same paths are exercised either
// way. Start creates the configured topics when they are missing, each with its dead-letter topic
// (DeadLetterTopic: the topic's name + ".dlq").
//
// The package owns three things:
//
//   - Publisher writes outbox events to their topics, keyed by bank so that one bank's events share a
//     partition and keep their order; the event's id, type and outbox sequence ride in message headers.
//   - Relay moves events from the outbox (a Source, which the postgres adapter implements) to Kafka:
//     fetch pending, publish, mark sent. It never drops an event and may publish one more than once. It
//     publishes in outbox sequence order and relies on the Source never to make an event pending below a
//     sequence already relayed (the postgres outbox makes its writers take turns for that).
//   - Consumer (and Cluster.Consume, its short form) runs a consumer-group member that hands each event to
//     a Handler and commits its offset only after the handler succeeded, so a crash replays rather than
//     loses. A message that is not an outbox event goes to the dead-letter topic, with headers saying
//     why and where from, and the partition goes on.
//
// Relay.Run and Consumer.Run retry every failure — brokers or database away, a handler failing — for as
// long as they run, with a pause that doubles up to a cap, and log each failure and the recovery; only
// their context ends them. Their Stats methods show what they have done, how long they have been failing,
// and how far behind they are.
//
// Delivery is at least once, end to end. Deduplication is the consumer's job: a Handler must apply an
// event and record its ID in PostgreSQL in one transaction (the inbox table), and skip an ID it has seen.
// Nothing may live only in Kafka — the embedded broker keeps nothing on disk — so every event is committed
// to PostgreSQL before it is published.
//
// The embedded broker starts empty every time. Events the relay marked sent before a restart, but that
// no consumer had applied, are then in no broker: the caller must mark them unsent again before the relay
// starts (Cluster.Embedded says when; the postgres outbox's ResetSent does it) so the relay republishes
// them, and consumers skip those they had applied.
//
// This package must never import the postgres adapter or any other adapter; cmd/tasvieh wires a
// postgres outbox to a Relay. It logs through the *slog.Logger it is given, never a global one.
package kafka
