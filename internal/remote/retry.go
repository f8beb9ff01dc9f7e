package remote

import (
	"context"
	"time"
)

// withRetry runs one blob transfer up to Attempts times. The HTTP transport
// already retries requests that fail before a body is read; this covers what
// it cannot: a body cut off or corrupted halfway, which must start over.
func (c *Client) withRetry(ctx context.Context, fn func() error) error {
	wait := 500 * time.Millisecond
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(); err == nil || attempt >= c.opts.Attempts || !transient(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}
