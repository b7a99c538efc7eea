// Package crashtest kills the batched ledger with SIGKILL at random moments while it is under load, restarts
// it, and checks what money integrity demands: every acknowledged transfer is stored exactly once, no linked
// chain is half-applied, the audit is clean, and every outbox event reaches Kafka and is applied effectively
// once by a consumer group. It has only tests; the short form runs in `make test`, the long form with
// TASVIEH_CRASH_LONG=1 (`make crash-long`).
package crashtest
