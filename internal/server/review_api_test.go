package server_test

// Review of 54e8936 (api: huma's BodyReadTimeout -1). Each test names a defect the review found — each fixed
// since (32d94e8) and kept as a regression test — or an attack that held.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tasvieh/tasvieh/api"
)

// slowBody opens a connection, sends an authenticated POST whose Content-Length is 100 and then only
// the bytes sent by trickle, and returns the first line of the answer (or the read error) and how long
// it took, waiting at most limit.
func slowBody(t *testing.T, w *world, trickle func(net.Conn), limit time.Duration) (string, time.Duration, error) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /v1/operator/liquidity HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{", w.operator())
	go trickle(conn)
	_ = conn.SetReadDeadline(start.Add(limit))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return line, time.Since(start), err
}

// TestReviewWithheldBodyOfAnAuthenticatedRequestIsNeverAnswered: checkBody reads the body under a 5 s read
// deadline (api.BodyReadTimeout) and then CLEARS the connection's read deadline (SetReadDeadline(time.Time{}))
// whether the read succeeded or not. When it did not, the 422 it writes sits in the response buffer:
// net/http, before it sends the header of a response whose request body was not read to the end, discards
// what is left of the body (up to 256 KiB, chunkWriter.writeHeader) — now with no read deadline at all, the
// server's ReadTimeout (15 s) having been overwritten. A client that sends the headers and one byte of a
// 100-byte body and then nothing holds the connection and its goroutine for ever and never gets an answer;
// the request deadline (30 s) does not help either, the handler has returned. (Without a key the 401 comes
// after 15 s: there checkBody never ran, so the server's ReadTimeout still ends the discard.)
//
// Fix: on a failed read, leave the expired deadline in place (or set it to now) and mark the connection
// for closing (Connection: close), so the discard fails at once; clear the deadline only after a body read
// whole.
func TestReviewWithheldBodyOfAnAuthenticatedRequestIsNeverAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the request deadline")
	}
	w := boot(t, "1404/02/01 09:00")
	limit := api.RequestTimeoutDefault + 10*time.Second
	line, took, err := slowBody(t, w, func(net.Conn) {}, limit)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("an authenticated request whose body never comes is unanswered after %v (checkBody gave up at %v)", took, api.BodyReadTimeout)
	}
	if !strings.Contains(line, " 422 ") || took > api.BodyReadTimeout+5*time.Second {
		t.Errorf("withheld body: %q %v after %v, want 422 soon after %v", line, err, took, api.BodyReadTimeout)
	}
}

// TestReviewTrickledBodyIsCutAtTheBodyDeadline: the same with a body trickled one byte a second — each read
// succeeds, the absolute deadline of checkBody cuts it at 5 s, but the answer then waits for the discard of
// the rest, again without a deadline: 100 bytes at a byte a second answer after ~100 s, so a client can make
// a request last as long as it likes. Want: the 422 soon after api.BodyReadTimeout.
func TestReviewTrickledBodyIsCutAtTheBodyDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the body deadline")
	}
	w := boot(t, "1404/02/01 09:00")
	stop := make(chan struct{})
	defer close(stop)
	line, took, err := slowBody(t, w, func(c net.Conn) {
		for i := 0; i < 99; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}, api.BodyReadTimeout+20*time.Second)
	if err != nil || !strings.Contains(line, " 422 ") || took > api.BodyReadTimeout+5*time.Second {
		t.Errorf("trickled body: %q %v after %v, want 422 soon after %v", line, err, took, api.BodyReadTimeout)
	}
}
