// Package api is tasvieh's HTTP interface: JSON under /v1, the OpenAPI 3.1 document generated from the
// handlers' Go types (huma/v2 on the standard library's router), bearer-key authentication per member bank and
// for the operator, and the conventions every rail's routes share.
//
// It owns:
//   - the error body {"code","message","field"} and the one table (statuses) that maps each stable code to an
//     HTTP status; huma's own errors (schema validation, bodies too large) are turned into that body too;
//   - authentication and roles: a route declares whether a bank, the operator, or either may call it; no key
//     answers 401, a bank key on an operator route 403; a bank never names another bank's object, because every
//     bank-scoped route takes the bank from the key, and a backend answers not_found for objects that are not
//     the caller's, revealing nothing;
//   - limits on every request: body size (BodyBytesMax), a deadline (Config.RequestTimeout), page sizes
//     (PageMax) and cursor length;
//   - the rule for rails: a request breaking a rule knowable from the request alone answers 422 with code and
//     field and stores nothing; a decision that depends on state is a stored object with status rejected; a
//     write whose outcome is unknown answers 503 outcome_unknown and is safe to retry with the same reference.
//
// It must never open a database or talk to Kafka: everything it serves comes through the Backend interface,
// which the wiring (internal/server) implements. It never reads the wall clock for business decisions; the
// request deadline is a property of the HTTP exchange, not of simulated time.
package api
