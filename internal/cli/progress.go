package cli

import (
	"io"
	"os"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/skilldock/skilldock/internal/remote"
)

// barProgress draws one progress bar per blob on a terminal.
type barProgress struct {
	mu sync.Mutex
	w  io.Writer
}

// newProgress returns a progress reporter for w, or nil when w is not a
// terminal (piped output stays clean) or quiet was asked for.
func newProgress(w io.Writer, quiet bool) remote.Progress {
	if quiet {
		return nil
	}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &barProgress{w: w}
}

func (p *barProgress) Start(action string, desc ocispec.Descriptor) remote.Tracker {
	p.mu.Lock()
	defer p.mu.Unlock()
	bar := progressbar.NewOptions64(desc.Size,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(action+" "+shortDigest(desc.Digest.String())),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
	return &barTracker{bar: bar, p: p, desc: desc, action: action}
}

type barTracker struct {
	bar    *progressbar.ProgressBar
	p      *barProgress
	desc   ocispec.Descriptor
	action string
}

func (t *barTracker) Add(n int64) {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	_ = t.bar.Add64(n)
}

func (t *barTracker) Done(skipped bool, err error) {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	_ = t.bar.Finish()
	status := "done"
	switch {
	case err != nil:
		status = "failed"
	case skipped:
		status = "exists"
	}
	_, _ = io.WriteString(t.p.w, "\r"+t.action+" "+shortDigest(t.desc.Digest.String())+" "+status+"\n")
}
