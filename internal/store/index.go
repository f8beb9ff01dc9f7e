package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
)

const (
	// AnnotationRefName names a tag in index.json (OCI image layout spec).
	AnnotationRefName = ocispec.AnnotationRefName
	// AnnotationLocalBuild marks a tag made by build (or tag of a build). It is
	// the key ToolHive uses, so both tools agree on which tags are builds. It
	// lives only on the descriptor in index.json, never in a blob, so it never
	// changes a digest and never leaves the machine.
	AnnotationLocalBuild = "dev.stacklok.toolhive.local-build"
)

// HintPrefix starts the store-local annotations skilldock keeps on a tag's
// descriptor beside the marker (for example the config a listing reads), so
// that "builds" answers from index.json and one small blob per build. Like
// the marker they never leave the machine; tagging carries them along.
const HintPrefix = "dev.skilldock.hint."

// maxIndexSize bounds index.json; 10,000 tags take about 4 MiB.
const maxIndexSize = 256 << 20

func newIndex() *ocispec.Index {
	idx := &ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	return idx
}

// Index reads index.json. No lock is needed: the file is only ever replaced
// by rename, so a reader sees one whole version.
func (s *Store) Index() (*ocispec.Index, error) {
	f, err := os.Open(s.path(indexFile))
	if err != nil {
		return nil, fmt.Errorf("reading store index: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() > maxIndexSize {
		return nil, errdef.Errorf(errdef.ErrLimit, "store index %s is larger than %d MiB", s.path(indexFile), maxIndexSize>>20)
	}
	return DecodeIndex(f)
}

// DecodeIndex parses an OCI image index, as index.json or as a blob.
func DecodeIndex(r io.Reader) (*ocispec.Index, error) {
	idx := newIndex()
	dec := json.NewDecoder(r)
	if err := dec.Decode(idx); err != nil {
		return nil, errdef.Errorf(errdef.ErrCorrupt, "index is not valid JSON: %v", err)
	}
	if idx.SchemaVersion != 2 {
		return nil, errdef.Errorf(errdef.ErrCorrupt, "index has schemaVersion %d; expected 2", idx.SchemaVersion)
	}
	for i, d := range idx.Manifests {
		if err := d.Digest.Validate(); err != nil {
			return nil, errdef.Errorf(errdef.ErrCorrupt, "index entry %d has an invalid digest %q", i, d.Digest)
		}
		if d.Size < 0 {
			return nil, errdef.Errorf(errdef.ErrCorrupt, "index entry %d has a negative size", i)
		}
	}
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{}
	}
	return idx, nil
}

// UpdateIndex runs fn on a fresh copy of index.json under the exclusive index
// lock and writes the result back atomically. If fn fails nothing is written.
func (s *Store) UpdateIndex(fn func(idx *ocispec.Index) error) error {
	return s.UpdateIndexContext(context.Background(), fn)
}

// UpdateIndexContext is UpdateIndex that stops waiting for the index lock
// when ctx ends, and then returns ctx's error having written nothing. Once
// the lock is held fn runs and the result is written whatever ctx does: the
// update is short, and stopping half-way would gain nothing.
func (s *Store) UpdateIndexContext(ctx context.Context, fn func(idx *ocispec.Index) error) error {
	l, err := s.acquireIndexContext(ctx)
	if err != nil {
		return err
	}
	defer l.unlock()
	idx, err := s.Index()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	return s.writeIndex(idx)
}

func (s *Store) writeIndex(idx *ocispec.Index) error {
	data, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return s.writeFileAtomic(indexFile, data)
}

// Tag is one named entry of index.json.
type Tag struct {
	Name       string
	LocalBuild bool
	Descriptor ocispec.Descriptor
}

// Tags lists the named entries of index.json, sorted by name.
func (s *Store) Tags() ([]Tag, error) {
	idx, err := s.Index()
	if err != nil {
		return nil, err
	}
	return TagsOf(idx), nil
}

// TagsOf lists the named entries of an index, sorted by name.
func TagsOf(idx *ocispec.Index) []Tag {
	var tags []Tag
	for _, d := range idx.Manifests {
		name := d.Annotations[AnnotationRefName]
		if name == "" {
			continue
		}
		tags = append(tags, Tag{Name: name, LocalBuild: d.Annotations[AnnotationLocalBuild] == "true", Descriptor: d})
	}
	sort.SliceStable(tags, func(i, j int) bool { return tags[i].Name < tags[j].Name })
	return tags
}

// Resolve finds a tag. Unknown tags give errdef.ErrNotFound.
func (s *Store) Resolve(name string) (Tag, error) {
	tags, err := s.Tags()
	if err != nil {
		return Tag{}, err
	}
	for _, t := range tags {
		if t.Name == name {
			return t, nil
		}
	}
	return Tag{}, errdef.Errorf(errdef.ErrNotFound, "no tag %q in the store", name)
}

// SetTag points name at desc inside idx, replacing any entry of that name,
// and stamps or clears the local-build marker. It edits idx only; call it
// inside UpdateIndex.
func SetTag(idx *ocispec.Index, name string, desc ocispec.Descriptor, localBuild bool) {
	d := ocispec.Descriptor{
		MediaType:    desc.MediaType,
		Digest:       desc.Digest,
		Size:         desc.Size,
		ArtifactType: desc.ArtifactType,
		Platform:     desc.Platform,
		Annotations:  map[string]string{AnnotationRefName: name},
	}
	if localBuild {
		d.Annotations[AnnotationLocalBuild] = "true"
	}
	for k, v := range desc.Annotations {
		if strings.HasPrefix(k, HintPrefix) {
			d.Annotations[k] = v
		}
	}
	RemoveTag(idx, name)
	idx.Manifests = append(idx.Manifests, d)
}

// RemoveTag deletes the entry called name from idx and reports whether it was there.
func RemoveTag(idx *ocispec.Index, name string) bool {
	kept := idx.Manifests[:0]
	found := false
	for _, d := range idx.Manifests {
		if d.Annotations[AnnotationRefName] == name {
			found = true
			continue
		}
		kept = append(kept, d)
	}
	idx.Manifests = kept
	return found
}

// FindTag returns the entry called name in idx.
func FindTag(idx *ocispec.Index, name string) (ocispec.Descriptor, bool) {
	for _, d := range idx.Manifests {
		if d.Annotations[AnnotationRefName] == name {
			return d, true
		}
	}
	return ocispec.Descriptor{}, false
}
