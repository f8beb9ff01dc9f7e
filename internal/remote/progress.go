package remote

import (
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Progress observes blob transfers. Implementations must be safe for
// concurrent use.
type Progress interface {
	// Start announces a transfer; the returned tracker receives byte counts.
	Start(action string, desc ocispec.Descriptor) Tracker
}

// Tracker follows one transfer.
type Tracker interface {
	Add(n int64)
	// Done ends the transfer; skipped means the blob was already there.
	Done(skipped bool, err error)
}

type nopTracker struct{}

func (nopTracker) Add(int64)        {}
func (nopTracker) Done(bool, error) {}

func (c *Client) track(action string, desc ocispec.Descriptor) Tracker {
	if c.opts.Progress == nil {
		return nopTracker{}
	}
	return c.opts.Progress.Start(action, desc)
}

// countingReader reports bytes as they pass.
type countingReader struct {
	r io.Reader
	t Tracker
}

func (cr countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if n > 0 {
		cr.t.Add(int64(n))
	}
	return n, err
}
