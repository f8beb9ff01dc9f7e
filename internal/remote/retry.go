package remote

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry/remote/retry"
)

// maxRetryAfter caps how long a registry's Retry-After may hold a transfer
// up, so a hostile or confused registry cannot park a push for hours.
const maxRetryAfter = 30 * time.Second

// withRetry runs one blob transfer up to Attempts times. The HTTP transport
// already retries requests that fail before a body is read; this covers what
// it cannot: a body cut off, stalled or corrupted halfway, and an upload,
// whose body the transport cannot rewind. A failure the transport has
// already retried is not retried again: the two layers would multiply
// (Attempts × Attempts requests) instead of adding up. fn must make its
// requests with the context it is given, through which the transport reports
// back (see noteTransport).
func (c *Client) withRetry(ctx context.Context, fn func(ctx context.Context) error) error {
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		notes := &attemptNotes{}
		err := fn(context.WithValue(ctx, notesKey{}, notes))
		if err == nil || ctx.Err() != nil || attempt >= c.opts.Attempts || !transient(err) {
			return err
		}
		retried, after := notes.get()
		if retried {
			return err
		}
		// A 429's Retry-After is the registry's own estimate; waiting less
		// only earns another 429.
		t := time.NewTimer(max(wait, after))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// transportPolicy retries what oras-go's default policy retries, on the
// same schedule as withRetry (Attempts tries, 0.5 s doubling), with a
// ceiling that lets Retry-After be honoured.
func transportPolicy(attempts int) func() retry.Policy {
	p := &retry.GenericPolicy{
		Retryable: retry.DefaultPredicate,
		Backoff:   retry.ExponentialBackoff(500*time.Millisecond, 2, 0.1),
		MinWait:   200 * time.Millisecond,
		MaxWait:   maxRetryAfter,
		MaxRetry:  attempts - 1,
	}
	return func() retry.Policy { return p }
}

// attemptNotes is what the HTTP layer tells withRetry about the requests of
// one attempt.
type attemptNotes struct {
	mu sync.Mutex
	// retried: the last request failed in a way the retrying transport
	// retries, and its body could be rewound, so it was already retried.
	retried    bool
	retryAfter time.Duration // asked for by the last 429
}

type notesKey struct{}

func (n *attemptNotes) get() (bool, time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.retried, n.retryAfter
}

// noteTransport wraps the retrying transport and records in the request's
// attemptNotes, when it has one, how each request finally ended.
type noteTransport struct{ next http.RoundTripper }

func (t noteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := t.next.RoundTrip(req)
	n, ok := req.Context().Value(notesKey{}).(*attemptNotes)
	if !ok {
		return resp, err
	}
	retryable, _ := retry.DefaultPredicate(resp, err)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.retried = rewindable && retryable
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		n.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return resp, err
}

// retryAfter reads a Retry-After value, delay-seconds or an HTTP date
// (RFC 9110, 10.2.3), capped at maxRetryAfter; 0 when absent or invalid.
func retryAfter(v string, now time.Time) time.Duration {
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
		d = time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
