package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/store"
	"github.com/skilldock/skilldock/internal/units"
)

// Limits cap what a pull accepts before a byte of it is stored.
type Limits struct {
	MaxManifestSize int64 // each manifest or index
	MaxConfigSize   int64 // each config or other non-layer blob
	MaxLayerSize    int64 // each layer, compressed
	MaxManifests    int   // manifests in one graph
}

// DefaultLimits are generous for skills and small for anything hostile.
func DefaultLimits() Limits {
	return Limits{MaxManifestSize: 4 << 20, MaxConfigSize: 1 << 20, MaxLayerSize: 100 << 20, MaxManifests: 64}
}

// Resolve finds the descriptor a reference names, asking the registry.
func (c *Client) Resolve(ctx context.Context, r ref.Reference) (ocispec.Descriptor, error) {
	repo, err := c.repository(r)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	reference := r.Tag
	if r.Digest != "" {
		reference = r.Digest.String()
	}
	if reference == "" {
		reference = "latest"
	}
	desc, err := repo.Resolve(ctx, reference)
	if err != nil {
		return ocispec.Descriptor{}, c.classify(r.Registry, r.String(), err)
	}
	if r.Digest != "" && desc.Digest != r.Digest {
		return ocispec.Descriptor{}, errdef.Errorf(errdef.ErrCorrupt, "%s answered %s for %s", r.Registry, desc.Digest, r)
	}
	return desc, nil
}

// PullHooks let the caller inspect what arrives between the phases of a pull.
type PullHooks struct {
	// BeforeLayers runs once every manifest and config is stored and before
	// any layer is fetched, so an artifact that is not a skill is refused
	// without downloading its layers.
	BeforeLayers func(root ocispec.Descriptor) error
	// ScanLayer, when set, reads each layer's bytes while they download, on
	// its own goroutine, so checks of the uncompressed content overlap the
	// transfer instead of following it. An error stops the download and is
	// final: the same bytes would fail the same way again.
	ScanLayer func(r io.Reader) error
}

// Pull copies the graph under root from src into the store through ss. Every
// blob is checked against its size cap before it is fetched and against its
// digest before it becomes visible; blobs the store already has are not
// fetched. Nothing is tagged: that is the caller's decision.
func (c *Client) Pull(ctx context.Context, ss *store.Session, src ref.Reference, root ocispec.Descriptor, lim Limits, hooks PullHooks) error {
	repo, err := c.repository(src)
	if err != nil {
		return err
	}
	st := ss.Store()
	var layers []ocispec.Descriptor
	fetch := func(desc ocispec.Descriptor, max int64, kind string, scan func(io.Reader) error) error {
		if desc.Size > max {
			return errdef.Errorf(errdef.ErrLimit, "%s %s is %s; the limit is %s", kind, desc.Digest, units.Human(desc.Size), units.Human(max))
		}
		if desc.Size < 0 {
			return errdef.Errorf(errdef.ErrCorrupt, "%s %s has a negative size", kind, desc.Digest)
		}
		if st.Has(desc.Digest) {
			c.track("pull", desc).Done(true, nil)
			return nil
		}
		t := c.track("pull", desc)
		err := c.withRetry(ctx, func(ctx context.Context) error {
			rc, err := repo.Fetch(ctx, ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size})
			if err != nil {
				return err
			}
			defer rc.Close()
			if scan == nil {
				return ss.Ingest(desc, countingReader{r: rc, t: t})
			}
			return ingestScanning(ss, desc, countingReader{r: rc, t: t}, scan)
		})
		t.Done(false, err)
		return c.classify(src.Registry, fmt.Sprintf("%s %s of %s", kind, desc.Digest, src.Name()), err)
	}

	count := 0
	var walk func(d ocispec.Descriptor) error
	walk = func(d ocispec.Descriptor) error {
		if count++; count > lim.MaxManifests {
			return errdef.Errorf(errdef.ErrLimit, "%s references more than %d manifests", src, lim.MaxManifests)
		}
		if err := fetch(d, lim.MaxManifestSize, "manifest", nil); err != nil {
			return err
		}
		data, err := st.ReadBlob(d, lim.MaxManifestSize)
		if err != nil {
			return err
		}
		var m store.GraphNode
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&m); err != nil && err != io.EOF {
			return errdef.Errorf(errdef.ErrCorrupt, "manifest %s from %s is not valid JSON: %v", d.Digest, src.Registry, err)
		}
		if m.Config != nil {
			if err := fetch(*m.Config, lim.MaxConfigSize, "config", nil); err != nil {
				return err
			}
		}
		for _, b := range m.Blobs {
			if err := fetch(b, lim.MaxConfigSize, "blob", nil); err != nil {
				return err
			}
		}
		layers = append(layers, m.Layers...)
		for _, child := range m.Manifests {
			if !store.IsManifest(child.MediaType) {
				return errdef.Errorf(errdef.ErrUnsupported, "index %s lists %s of media type %q, which is not a manifest", d.Digest, child.Digest, child.MediaType)
			}
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	if !store.IsManifest(root.MediaType) {
		return errdef.Errorf(errdef.ErrUnsupported, "%s is of media type %q, which is not an OCI manifest or index", src, root.MediaType)
	}
	if err := walk(root); err != nil {
		return err
	}
	if hooks.BeforeLayers != nil {
		if err := hooks.BeforeLayers(root); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, l := range layers {
		if seen[l.Digest.String()] {
			continue
		}
		seen[l.Digest.String()] = true
		if err := fetch(l, lim.MaxLayerSize, "layer", hooks.ScanLayer); err != nil {
			return err
		}
	}
	return nil
}

// ingestScanning stores r as desc while scan reads a copy of the same bytes
// through a pipe. A scan that refuses the content closes the pipe, which
// stops the download at once; its error wins and is marked final.
func ingestScanning(ss *store.Session, desc ocispec.Descriptor, r io.Reader, scan func(io.Reader) error) error {
	pr, pw := io.Pipe()
	scanned := make(chan error, 1)
	go func() {
		err := scan(pr)
		if err != nil {
			pr.CloseWithError(err)
		} else {
			// The scan may stop at the end of the tar, before the gzip
			// trailer: keep draining so the download is never blocked.
			_, _ = io.Copy(io.Discard, pr)
		}
		scanned <- err
	}()
	ierr := ss.Ingest(desc, io.TeeReader(r, pw))
	pw.CloseWithError(ierr) // nil: the scanner sees the end of the stream
	serr := <-scanned
	switch {
	case ierr != nil && (serr == nil || !errors.Is(ierr, serr)):
		return ierr // the transfer failed first; the scan only saw it cut short
	case serr != nil:
		return finalError{serr}
	}
	return nil
}

// finalError marks an error that retrying cannot fix.
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }
func (e finalError) Unwrap() error { return e.err }
