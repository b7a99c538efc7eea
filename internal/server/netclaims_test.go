package server

import (
	"context"
	"testing"
	"time"
)

// TestNetClaimsOnePerID: a second claim of a set id waits until the first is released; another id does not
// wait; a waiting claim gives up with its context.
func TestNetClaimsOnePerID(t *testing.T) {
	var c netClaims
	ctx := context.Background()
	a, b := [16]byte{1}, [16]byte{2}
	release, err := c.claim(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.claim(ctx, b)
	if err != nil {
		t.Fatalf("another id waited: %v", err)
	}
	other()
	got := make(chan struct{})
	go func() {
		r, err := c.claim(ctx, a)
		if err == nil {
			r()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a second claim of the same id did not wait for the first")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the second claim never got the id after its release")
	}
	hold, _ := c.claim(ctx, a)
	defer hold()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := c.claim(short, a); err == nil {
		t.Error("a claim waiting on a held id ignored its context")
	}
}
