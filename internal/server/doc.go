// Package server is the wiring of `tasvieh serve`: it opens the store, lays out the books (the CBI's settlement
// ledger and one customer book per simulated bank), funds them, starts the relay to Kafka, the scheduler, the
// webhook deliverer and the HTTP API, and implements the API's Backend over them. It is wiring, like
// cmd/tasvieh: the only other place allowed to import adapters side by side. cmd/tasvieh reads flags and the
// environment into a Config; tests boot a Server on a schema of their own and drive it over real HTTP.
//
// It owns the conventions the rails build on: the account layout and its external keys (Layout), the
// transfer codes of the platform (codes.go), the notification events (topic "notifications", keyed by bank),
// the persisted switch state (suspensions, simulation modes, the simulated clock), and keys.json / serve.json.
//
// It must never decide a rail's rules: those live in the engines (rtgs, ach, shahab, sim).
package server
