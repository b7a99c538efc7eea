package server

import (
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tasvieh/tasvieh/api"
)

// classify turns the operational errors a request can meet into the API's: the store's own (outcome unknown,
// not applied), and a lost or refused database connection, which is "unavailable, retry" — a read has nothing
// to lose; every write here is keyed by a reference or derived id, so its retry is safe. Anything else stays
// internal (a bug).
func classify(err error) *api.Error {
	if e, ok := storeErr(err).(*api.Error); ok {
		return e
	}
	var pgErr *pgconn.PgError
	var netErr net.Error
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code[:2] == "08" || pgErr.Code[:2] == "57" || pgErr.Code == "40001" || pgErr.Code == "40P01"):
		// connection exception, operator intervention (a terminated backend, a shutdown), serialization
		// failure and deadlock: the database asked for a retry.
	case pgconn.SafeToRetry(err), pgconn.Timeout(err), errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, pgx.ErrTxClosed), errors.Is(err, net.ErrClosed):
	default:
		if !isClosedConn(err) {
			return nil
		}
	}
	return api.Errorf(api.CodeUnavailable, "the database connection was lost; retry")
}

// isClosedConn recognises pgx's "conn closed" and its kin, which carry no type of their own.
func isClosedConn(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.Error() {
		case "conn closed", "conn busy", "closed pool":
			return true
		}
	}
	return false
}
