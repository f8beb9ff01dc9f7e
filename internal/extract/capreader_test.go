package extract_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/extract"
)

// Exactly the cap reads to a normal end; one byte more is an overflow,
// reported as ErrCapReached and by Over, never as a quiet end.
func TestCapReaderAllowsExactlyItsCap(t *testing.T) {
	for _, c := range []struct {
		size int
		over bool
	}{{0, false}, {9, false}, {10, false}, {11, true}, {1000, true}} {
		r := &extract.CapReader{R: strings.NewReader(strings.Repeat("x", c.size)), Left: 10}
		data, err := io.ReadAll(r)
		if c.over {
			if !errors.Is(err, extract.ErrCapReached) || !r.Over() || len(data) != 10 {
				t.Errorf("%d bytes through a cap of 10: read %d, %v, over %v; want 10 and ErrCapReached", c.size, len(data), err, r.Over())
			}
			continue
		}
		if err != nil || r.Over() || len(data) != c.size {
			t.Errorf("%d bytes through a cap of 10: read %d, %v, over %v; want all of them", c.size, len(data), err, r.Over())
		}
	}
}
