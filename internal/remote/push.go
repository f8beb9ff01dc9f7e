package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/store"
)

// pushConcurrency bounds parallel blob uploads; skills have few blobs and
// the layer dominates, so a little parallelism covers configs and manifests.
const pushConcurrency = 3

// Push copies the graph under root from the local store to dst, leaves
// first, skipping blobs the registry already has, and tags the root last so
// the tag never points at an incomplete graph. The digest pushed is the
// digest stored: only bytes from blobs move, never index.json annotations.
func (c *Client) Push(ctx context.Context, st *store.Store, root ocispec.Descriptor, dst ref.Reference) (ocispec.Descriptor, error) {
	if dst.Digest != "" && dst.Digest != root.Digest {
		return ocispec.Descriptor{}, errdef.Errorf(errdef.ErrInvalid, "cannot push %s to %s: the destination digest differs from the artifact's", root.Digest, dst)
	}
	repo, err := c.repository(dst)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	leaves, manifests, err := graphOf(st, root)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	push := func(desc ocispec.Descriptor, reference string) error {
		t := c.track("push", desc)
		if reference == "" {
			exists, err := repo.Exists(ctx, desc)
			if err == nil && exists {
				t.Done(true, nil)
				return nil
			}
		}
		err := c.withRetry(ctx, func(ctx context.Context) error {
			f, err := st.Open(desc.Digest)
			if err != nil {
				return err
			}
			defer f.Close()
			r := countingReader{r: f, t: t}
			if reference != "" {
				return repo.PushReference(ctx, desc, r, reference)
			}
			return repo.Push(ctx, desc, r)
		})
		t.Done(false, err)
		return c.classify(dst.Registry, fmt.Sprintf("pushing %s to %s", desc.Digest, dst.Name()), err)
	}

	// Leaves (layers and configs) go in parallel; the first error cancels.
	var wg sync.WaitGroup
	errs := make(chan error, len(leaves))
	sem := make(chan struct{}, pushConcurrency)
	for _, d := range leaves {
		wg.Add(1)
		go func(d ocispec.Descriptor) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- push(d, "")
		}(d)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	// Manifests go children first; the root goes last, by tag.
	for _, m := range manifests {
		if m.Digest == root.Digest {
			continue
		}
		if err := push(m, ""); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	reference := dst.Tag
	if reference == "" {
		reference = root.Digest.String()
	}
	// Post-order puts the root last; that copy carries no store annotations.
	if err := push(manifests[len(manifests)-1], reference); err != nil {
		return ocispec.Descriptor{}, err
	}
	return root, nil
}

// graphOf lists every blob under root: leaves, and manifests in an order
// where each comes after everything it references.
func graphOf(st *store.Store, root ocispec.Descriptor) (leaves, manifests []ocispec.Descriptor, err error) {
	seen := map[string]bool{}
	var visit func(d ocispec.Descriptor) error
	visit = func(d ocispec.Descriptor) error {
		if seen[d.Digest.String()] {
			return nil
		}
		seen[d.Digest.String()] = true
		if !store.IsManifest(d.MediaType) {
			if !st.Has(d.Digest) {
				return errdef.Errorf(errdef.ErrNotFound, "blob %s is missing from the store; run \"skilldock fsck\"", d.Digest)
			}
			leaves = append(leaves, d)
			return nil
		}
		data, err := st.ReadBlob(d, store.MaxManifestSize)
		if err != nil {
			return err
		}
		kids, err := store.Children(data)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := visit(k); err != nil {
				return err
			}
		}
		manifests = append(manifests, stripData(d, data))
		return nil
	}
	return leaves, manifests, visit(root)
}

// stripData keeps the descriptor as registries expect it for a push.
func stripData(d ocispec.Descriptor, data []byte) ocispec.Descriptor {
	out := ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
	if d.MediaType == "" {
		var probe struct {
			MediaType string `json:"mediaType"`
		}
		if json.NewDecoder(bytes.NewReader(data)).Decode(&probe) == nil {
			out.MediaType = probe.MediaType
		}
	}
	return out
}
