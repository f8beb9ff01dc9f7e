package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// GCResult says what a collection removed.
type GCResult struct {
	BlobsRemoved int   `json:"blobsRemoved"`
	BytesFreed   int64 `json:"bytesFreed"`
	TempRemoved  int   `json:"tempFilesRemoved"`
}

// GC deletes every blob that no entry of index.json reaches and every
// leftover temporary file. It waits for open writer sessions to finish and
// holds the index lock throughout, so no tag can appear that points at a blob
// being deleted.
func (s *Store) GC() (GCResult, error) {
	g, err := s.acquireGC(true)
	if err != nil {
		return GCResult{}, err
	}
	defer g.unlock()
	l, err := s.acquireIndex()
	if err != nil {
		return GCResult{}, err
	}
	defer l.unlock()

	var res GCResult
	idx, err := s.Index()
	if err != nil {
		return res, err
	}
	live, err := s.reachable(idx.Manifests)
	if err != nil {
		return res, fmt.Errorf("garbage collection stopped, nothing was deleted: %w", err)
	}
	algDirs, err := os.ReadDir(s.path(blobsDir))
	if err != nil {
		return res, err
	}
	for _, alg := range algDirs {
		if !alg.IsDir() {
			continue
		}
		entries, err := os.ReadDir(s.path(blobsDir, alg.Name()))
		if err != nil {
			return res, err
		}
		for _, e := range entries {
			d := digest.NewDigestFromEncoded(digest.Algorithm(alg.Name()), e.Name())
			if live[d] {
				continue
			}
			p := s.path(blobsDir, alg.Name(), e.Name())
			info, err := e.Info()
			if err != nil {
				continue
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return res, err
			}
			res.BlobsRemoved++
			res.BytesFreed += info.Size()
		}
	}
	// With the collector's lock held no writer is active, so every temporary
	// file belongs to a process that died.
	temps, _ := os.ReadDir(s.path(tmpDir))
	for _, e := range temps {
		if os.RemoveAll(filepath.Join(s.path(tmpDir), e.Name())) == nil {
			res.TempRemoved++
		}
	}
	return res, syncDir(s.path(blobsDir, "sha256"))
}

// reachable marks every blob reachable from roots. A referenced manifest that
// is missing contributes nothing (it cannot keep anything alive); one that is
// present but unreadable stops the walk, because what it references is
// unknown and deleting on a guess could lose data.
func (s *Store) reachable(roots []ocispec.Descriptor) (map[digest.Digest]bool, error) {
	live := map[digest.Digest]bool{}
	stack := append([]ocispec.Descriptor(nil), roots...)
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if live[d.Digest] {
			continue
		}
		live[d.Digest] = true
		if !IsManifest(d.MediaType) {
			continue
		}
		data, err := s.ReadBlob(d, MaxManifestSize)
		if err != nil {
			if !s.Has(d.Digest) {
				continue
			}
			return nil, err
		}
		kids, err := Children(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Digest, err)
		}
		stack = append(stack, kids...)
	}
	return live, nil
}

// CollectIfIdle runs GC only if no writer session is open anywhere; it never
// waits. ran is false when it did not run.
func (s *Store) CollectIfIdle() (res GCResult, ran bool, err error) {
	probe, err := tryLockFile(s.path(metaDir, "gc.lock"))
	if err != nil || probe == nil {
		return res, false, err
	}
	probe.unlock()
	res, err = s.GC()
	return res, true, err
}
