package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/remote"
	"github.com/skilldock/skilldock/internal/store"
)

// PullLimits are the caps a pull enforces.
type PullLimits struct {
	remote.Limits
	MaxUncompressed int64
}

// DefaultPullLimits: 4 MiB manifests, 100 MiB compressed and 500 MiB
// uncompressed layers.
func DefaultPullLimits() PullLimits {
	return PullLimits{Limits: remote.DefaultLimits(), MaxUncompressed: 500 << 20}
}

type remoteState struct {
	once   sync.Once
	client *remote.Client
	err    error
}

func (s *Service) remote() (*remote.Client, error) {
	s.rs.once.Do(func() { s.rs.client, s.rs.err = remote.New(s.cfg.Remote) })
	return s.rs.client, s.rs.err
}

// PushResult is a finished push.
type PushResult struct {
	Source    string `json:"source"`
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

// Push sends the local artifact tagged src to the registry reference dst.
// With src empty, dst names both: it must then be a local build, so that a
// pulled copy is never republished by accident; naming a cached artifact as
// src pushes it deliberately.
func (s *Service) Push(ctx context.Context, src, dst string) (*PushResult, error) {
	dr, err := ref.ParseRemote(dst)
	if err != nil {
		return nil, err
	}
	explicit := src != ""
	if !explicit {
		src = dr.String()
	}
	t, err := s.store.Resolve(src)
	if err != nil {
		return nil, errdef.Errorf(errdef.ErrNotFound, "%q is not in the local store; run \"skilldock build DIR -t %s\" or \"skilldock pull %s\" first", src, src, src)
	}
	if !explicit && !t.LocalBuild {
		return nil, errdef.Errorf(errdef.ErrInvalid, "%q is a pulled copy, not a local build; to push it anyway name it as the source: skilldock push %s %s", src, src, dst)
	}
	c, err := s.remote()
	if err != nil {
		return nil, err
	}
	desc, err := c.Push(ctx, s.store, t.Descriptor, dr)
	if err != nil {
		return nil, err
	}
	return &PushResult{Source: src, Reference: dr.String(), Digest: desc.Digest.String()}, nil
}

// PullResult is a finished pull.
type PullResult struct {
	Reference string `json:"reference"`
	Tag       string `json:"tag"` // the cache tag in the local store
	Digest    string `json:"digest"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Cached    bool   `json:"cached"` // true when nothing had to be downloaded
}

// Pull copies a remote skill into the local store as a cache entry, tagged by
// its full reference and never marked as a build. A digest reference whose
// graph is already stored needs no network at all.
func (s *Service) Pull(ctx context.Context, reference string, lim PullLimits) (*PullResult, error) {
	r, err := ref.ParseRemote(reference)
	if err != nil {
		return nil, err
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	tag := r.String()
	if lim == (PullLimits{}) {
		lim = DefaultPullLimits()
	}
	ss, err := s.store.Begin()
	if err != nil {
		return nil, err
	}
	res, err := s.pullLocked(ctx, ss, r, tag, lim)
	ss.Close()
	if err != nil {
		// Whatever arrived before the failure is untagged; collect it now if
		// no other writer is busy, otherwise the next gc will.
		_, _, _ = s.store.CollectIfIdle()
		return nil, err
	}
	return res, nil
}

func (s *Service) pullLocked(ctx context.Context, ss *store.Session, r ref.Reference, tag string, lim PullLimits) (*PullResult, error) {
	var root ocispec.Descriptor
	cached := false
	if r.Digest != "" {
		root, cached = s.storedGraph(r.Digest)
	}
	var c *remote.Client
	if !cached {
		var err error
		if c, err = s.remote(); err != nil {
			return nil, err
		}
		if root, err = c.Resolve(ctx, r); err != nil {
			return nil, err
		}
		_, cached = s.storedGraph(root.Digest)
	}
	var scan *layerScan
	if !cached {
		check := func(root ocispec.Descriptor) error {
			_, err := artifact.Describe(s.store, root)
			return err
		}
		// The layer is scanned (uncompressed-size cap, SKILL.md) while it
		// downloads rather than read again afterwards.
		scanLayer := func(r io.Reader) error {
			files, text, err := artifact.ScanLayer(r, maxSkillMD, lim.MaxUncompressed)
			if err == nil {
				scan = &layerScan{files: files, text: text}
			}
			return err
		}
		if err := c.Pull(ctx, ss, r, root, lim.Limits, remote.PullHooks{BeforeLayers: check, ScanLayer: scanLayer}); err != nil {
			return nil, err
		}
	}
	sk, err := s.describeScanned(root, lim.MaxUncompressed, scan)
	if err != nil {
		return nil, err
	}
	err = s.store.UpdateIndex(func(idx *ocispec.Index) error {
		if d, ok := store.FindTag(idx, tag); ok && d.Annotations[store.AnnotationLocalBuild] == "true" {
			if d.Digest == root.Digest {
				return nil // the pulled artifact is this very build
			}
			return errdef.Errorf(errdef.ErrAlreadyExists, "%q is a local build with another digest; remove it first with \"skilldock builds rm %s\"", tag, tag)
		}
		store.SetTag(idx, tag, root, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &PullResult{Reference: r.String(), Tag: tag, Digest: root.Digest.String(), Name: sk.Metadata.Name, Version: sk.Metadata.Version, Cached: cached}, nil
}

// storedGraph finds a complete graph with digest d under any tag of the
// store: this reference's cache tag, a pull by another tag, or a local build.
// The digest names the bytes, so where they arrived from does not matter.
func (s *Service) storedGraph(d digest.Digest) (ocispec.Descriptor, bool) {
	tags, err := s.store.Tags()
	if err != nil {
		return ocispec.Descriptor{}, false
	}
	for _, t := range tags {
		if t.Descriptor.Digest == d && s.complete(t.Descriptor) {
			return t.Descriptor, true
		}
	}
	return ocispec.Descriptor{}, false
}

// complete reports whether every blob under root is in the store.
func (s *Service) complete(root ocispec.Descriptor) bool {
	sk, err := artifact.Describe(s.store, root)
	return err == nil && s.store.Has(sk.Layer.Digest)
}

// describeFull reads an artifact's metadata and file list, taking them from
// SKILL.md and the layer when the config does not carry them, and checks the
// layer's uncompressed size.
func (s *Service) describeFull(root ocispec.Descriptor, maxUncompressed int64) (*artifact.Skill, error) {
	return s.describeScanned(root, maxUncompressed, nil)
}

// layerScan is what reading a layer's headers and SKILL.md found.
type layerScan struct {
	files []artifact.LayerFile
	text  []byte
}

// describeScanned is describeFull reusing a scan already made (nil: scan
// the stored layer now).
func (s *Service) describeScanned(root ocispec.Descriptor, maxUncompressed int64, scan *layerScan) (*artifact.Skill, error) {
	sk, err := artifact.Describe(s.store, root)
	if err != nil {
		return nil, err
	}
	if scan == nil {
		rc, err := s.store.OpenLayer(sk.Layer)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		files, text, err := artifact.ScanLayer(rc, maxSkillMD, maxUncompressed)
		if err != nil {
			return nil, err
		}
		scan = &layerScan{files: files, text: text}
	}
	files, text := scan.files, scan.text
	if !sk.HasMetadata() {
		if err := sk.FillFromSkillMD(text); err != nil {
			return nil, err
		}
	}
	if sk.Files == nil {
		for _, f := range files {
			sk.Files = append(sk.Files, artifact.FileEntry{Path: f.Path, Size: f.Size})
		}
	}
	sk.SkillMD = text
	return sk, nil
}

// CacheEntry is one pulled artifact in the store.
type CacheEntry struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	Name      string `json:"name,omitempty"`
	Version   string `json:"version,omitempty"`
	Size      int64  `json:"size"`
}

// ListCache lists the store's tags that are not local builds.
func (s *Service) ListCache(_ context.Context) ([]CacheEntry, error) {
	tags, err := s.store.Tags()
	if err != nil {
		return nil, err
	}
	out := []CacheEntry{}
	for _, t := range tags {
		if t.LocalBuild {
			continue
		}
		e := CacheEntry{Reference: t.Name, Digest: t.Descriptor.Digest.String()}
		if sk, err := artifact.Describe(s.store, t.Descriptor); err == nil {
			e.Name, e.Version, e.Size = sk.Metadata.Name, sk.Metadata.Version, sk.Size
		}
		out = append(out, e)
	}
	return out, nil
}

// PruneResult reports a cache prune.
type PruneResult struct {
	Removed []string       `json:"removed"`
	GC      store.GCResult `json:"gc"`
}

// PruneCache removes cached (pulled) tags — all of them, or those named —
// and the blobs that only they reached. Local builds are never touched.
func (s *Service) PruneCache(_ context.Context, refs []string) (*PruneResult, error) {
	res := &PruneResult{Removed: []string{}}
	err := s.store.UpdateIndex(func(idx *ocispec.Index) error {
		res.Removed = res.Removed[:0]
		want := map[string]bool{}
		for _, r := range refs {
			d, ok := store.FindTag(idx, r)
			if !ok || d.Annotations[store.AnnotationLocalBuild] == "true" {
				return errdef.Errorf(errdef.ErrNotFound, "no cached artifact %q; run \"skilldock cache ls\" to list them", r)
			}
			want[r] = true
		}
		for _, t := range store.TagsOf(idx) {
			if !t.LocalBuild && (len(refs) == 0 || want[t.Name]) {
				store.RemoveTag(idx, t.Name)
				res.Removed = append(res.Removed, t.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if res.GC, err = s.store.GC(); err != nil {
		return nil, fmt.Errorf("cache entries removed, but collecting their blobs failed (run \"skilldock gc\" to retry): %w", err)
	}
	return res, nil
}

// Login saves credentials for a registry after checking them.
func (s *Service) Login(ctx context.Context, registry, username, password string) error {
	if registry == "" || username == "" || password == "" {
		return errdef.New(errdef.ErrInvalid, "login needs a registry, a username and a password")
	}
	c, err := s.remote()
	if err != nil {
		return err
	}
	return c.Login(ctx, registry, username, password)
}

// Logout forgets the credentials for a registry.
func (s *Service) Logout(ctx context.Context, registry string) error {
	c, err := s.remote()
	if err != nil {
		return err
	}
	if err := c.Logout(ctx, registry); err != nil {
		if remote.IsCredentialHelperError(err) {
			return err
		}
		return errors.Join(errdef.Errorf(errdef.ErrNotFound, "could not remove credentials for %s", registry), err)
	}
	return nil
}
