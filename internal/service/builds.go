package service

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/store"
)

// LocalBuild is one row of the builds listing. The JSON shape is the API's
// LocalBuild, plus size.
type LocalBuild struct {
	Tag         string `json:"tag"`
	Digest      string `json:"digest"`
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	Size        int64  `json:"size"`
}

// ListBuilds lists the tags carrying the local-build marker, and only those:
// pulled artifacts and tags other tools wrote are never builds. It reads
// index.json and each build's small manifest and config blobs, in parallel.
func (s *Service) ListBuilds(ctx context.Context) ([]LocalBuild, error) {
	tags, err := s.store.Tags()
	if err != nil {
		return nil, err
	}
	var builds []store.Tag
	for _, t := range tags {
		if t.LocalBuild {
			builds = append(builds, t)
		}
	}
	out := make([]LocalBuild, len(builds))
	// Builds sharing a digest (NAME and NAME:VERSION) are described once.
	cache := sync.Map{}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(2, runtime.GOMAXPROCS(0)*2); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t := builds[i]
				row := LocalBuild{Tag: t.Name, Digest: t.Descriptor.Digest.String()}
				if s.listFromHints(t, &row) {
					out[i] = row
					continue
				}
				var sk *artifact.Skill
				if v, ok := cache.Load(t.Descriptor.Digest); ok {
					sk = v.(*artifact.Skill)
				} else if d, err := artifact.Describe(s.store, t.Descriptor); err == nil {
					sk = d
					cache.Store(t.Descriptor.Digest, d)
				}
				// A build whose blobs are damaged is still listed, so it can be
				// seen and removed; fsck says what is wrong with it.
				if sk != nil {
					row.Name, row.Version, row.Description = sk.Metadata.Name, sk.Metadata.Version, sk.Metadata.Description
					row.Size = sk.Size
				}
				out[i] = row
			}
		}()
	}
	for i := range builds {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Tag gives an existing local tag another name. Tagging a build makes a
// build; tagging a cached artifact makes another cache entry.
func (s *Service) Tag(_ context.Context, src, dst string) (string, error) {
	if _, err := ref.ParseLocal(src); err != nil {
		return "", err
	}
	dr, err := ref.ParseLocal(dst)
	if err != nil {
		return "", err
	}
	target := dr.String()
	err = s.store.UpdateIndex(func(idx *ocispec.Index) error {
		d, ok := store.FindTag(idx, src)
		if !ok {
			return errdef.Errorf(errdef.ErrNotFound, "no tag %q in the store; run \"skilldock builds\" to list builds", src)
		}
		store.SetTag(idx, target, d, d.Annotations[store.AnnotationLocalBuild] == "true")
		return nil
	})
	return target, err
}

// DeleteResult reports a builds rm.
type DeleteResult struct {
	Removed []string       `json:"removed"`
	GC      store.GCResult `json:"gc"`
}

// DeleteBuilds removes local-build tags, all or none, then collects every
// blob no remaining tag reaches.
func (s *Service) DeleteBuilds(ctx context.Context, tags []string) (*DeleteResult, error) {
	if len(tags) == 0 {
		return nil, errdef.New(errdef.ErrInvalid, "no tag given; run \"skilldock builds\" to list builds")
	}
	// Waiting for another writer's index lock ends with ctx, having removed
	// nothing. Once the tags are gone the delete has happened, and the
	// collection below runs to its end so the answer says what was done.
	err := s.store.UpdateIndexContext(ctx, func(idx *ocispec.Index) error {
		for _, t := range tags {
			d, ok := store.FindTag(idx, t)
			if !ok || d.Annotations[store.AnnotationLocalBuild] != "true" {
				return errdef.Errorf(errdef.ErrNotFound, "no local build %q; run \"skilldock builds\" to list builds", t)
			}
		}
		for _, t := range tags {
			store.RemoveTag(idx, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	gc, err := s.store.GC()
	if err != nil {
		return nil, fmt.Errorf("tags removed, but collecting their blobs failed (run \"skilldock gc\" to retry): %w", err)
	}
	removed := append([]string(nil), tags...)
	sort.Strings(removed)
	return &DeleteResult{Removed: removed, GC: gc}, nil
}

// GC removes unreachable blobs and leftover temporary files.
func (s *Service) GC(_ context.Context) (store.GCResult, error) { return s.store.GC() }

// Fsck verifies every blob and every reference in the store.
func (s *Service) Fsck(_ context.Context) (FsckReport, error) {
	res, err := s.store.Fsck()
	return FsckReport{FsckResult: res, Store: s.store.Root()}, err
}

// listFromHints fills a row from the hints build stamped in index.json and
// the one config blob they name, without opening the index or manifests.
// It reports false for tags without hints (written before hints existed, or
// by other tools), which take the full path.
func (s *Service) listFromHints(t store.Tag, row *LocalBuild) bool {
	a := t.Descriptor.Annotations
	dgst, err := digest.Parse(a[hintConfig])
	if err != nil {
		return false
	}
	cfgSize, err1 := strconv.ParseInt(a[hintConfigSize], 10, 64)
	size, err2 := strconv.ParseInt(a[hintSize], 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	data, err := s.store.ReadBlob(ocispec.Descriptor{Digest: dgst, Size: cfgSize}, artifact.MaxConfigSize)
	if err != nil {
		return false
	}
	md := artifact.ConfigMetadata(data)
	row.Name, row.Version, row.Description, row.Size = md.Name, md.Version, md.Description, size
	return true
}
