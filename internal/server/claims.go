package server

import (
	"context"
	"sync"
)

// claims serialises work per key: a second claim of a key waits until the first is released (or its context
// ends); other keys go on at once. The zero value is ready to use.
type claims[K comparable] struct {
	mu   sync.Mutex
	busy map[K]chan struct{}
}

func (c *claims[K]) claim(ctx context.Context, k K) (func(), error) {
	for {
		c.mu.Lock()
		if c.busy == nil {
			c.busy = map[K]chan struct{}{}
		}
		ch, busy := c.busy[k]
		if !busy {
			ch = make(chan struct{})
			c.busy[k] = ch
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				delete(c.busy, k)
				c.mu.Unlock()
				close(ch)
			}, nil
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// gather is first and whatever else is already waiting on ch, up to max in all, without waiting: what a
// batcher decides together (SATNA's orders, SHAHAB's operations and look-ups).
func gather[T any](first T, ch <-chan T, max int) []T {
	batch := []T{first}
	for len(batch) < max {
		select {
		case v := <-ch:
			batch = append(batch, v)
		default:
			return batch
		}
	}
	return batch
}
