package store

import (
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// FsckResult lists what is wrong (Problems) and what is merely untidy
// (Unreachable blobs and Temporary files, which gc removes).
type FsckResult struct {
	Problems    []string `json:"problems"`
	Blobs       int      `json:"blobs"`
	Tags        int      `json:"tags"`
	Unreachable int      `json:"unreachableBlobs"`
	Temporary   int      `json:"temporaryFiles"`
}

// OK reports whether the store has no problems.
func (r FsckResult) OK() bool { return len(r.Problems) == 0 }

// Fsck checks that every blob's bytes match its name and that everything
// index.json references, all the way down, is present with the right size and
// a parseable manifest. It holds a writer session so the collector cannot
// delete blobs out from under it.
func (s *Store) Fsck() (FsckResult, error) {
	ss, err := s.Begin()
	if err != nil {
		return FsckResult{}, err
	}
	defer ss.Close()
	var res FsckResult
	problem := func(format string, a ...any) { res.Problems = append(res.Problems, fmt.Sprintf(format, a...)) }

	idx, err := s.Index()
	if err != nil {
		problem("index.json: %v", err)
		return res, nil
	}
	res.Tags = len(TagsOf(idx))

	valid := map[digest.Digest]bool{} // blobs whose bytes match their name
	sizes := map[digest.Digest]int64{}
	algDirs, err := os.ReadDir(s.path(blobsDir))
	if err != nil {
		problem("blobs: %v", err)
		return res, nil
	}
	for _, alg := range algDirs {
		entries, err := os.ReadDir(s.path(blobsDir, alg.Name()))
		if err != nil {
			problem("blobs/%s: %v", alg.Name(), err)
			continue
		}
		for _, e := range entries {
			res.Blobs++
			d := digest.NewDigestFromEncoded(digest.Algorithm(alg.Name()), e.Name())
			if err := d.Validate(); err != nil {
				problem("blobs/%s/%s: not a valid digest name", alg.Name(), e.Name())
				continue
			}
			n, got, err := hashFile(s.BlobPath(d), d.Algorithm())
			switch {
			case err != nil:
				problem("blob %s: %v", d, err)
			case got != d:
				problem("blob %s: content has digest %s", d, got)
			default:
				valid[d] = true
				sizes[d] = n
			}
		}
	}

	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor, from string)
	walk = func(d ocispec.Descriptor, from string) {
		if seen[d.Digest] {
			return
		}
		seen[d.Digest] = true
		if _, present := sizes[d.Digest]; !present {
			if !valid[d.Digest] && s.Has(d.Digest) {
				return // already reported as corrupt
			}
			problem("%s references %s, which is missing", from, d.Digest)
			return
		}
		if sizes[d.Digest] != d.Size {
			problem("%s references %s with size %d; the blob is %d bytes", from, d.Digest, d.Size, sizes[d.Digest])
			return
		}
		if !IsManifest(d.MediaType) {
			return
		}
		data, err := s.ReadBlob(d, MaxManifestSize)
		if err != nil {
			problem("%s: %v", d.Digest, err)
			return
		}
		kids, err := Children(data)
		if err != nil {
			problem("%s: %v", d.Digest, err)
			return
		}
		for _, k := range kids {
			walk(k, "manifest "+d.Digest.String())
		}
	}
	for _, d := range idx.Manifests {
		from := "index.json"
		if name := d.Annotations[AnnotationRefName]; name != "" {
			from = fmt.Sprintf("tag %q", name)
		}
		walk(d, from)
	}
	for d := range sizes {
		if !seen[d] {
			res.Unreachable++
		}
	}
	temps, _ := os.ReadDir(s.path(tmpDir))
	res.Temporary = len(temps)
	return res, nil
}

func hashFile(path string, alg digest.Algorithm) (int64, digest.Digest, error) {
	if !alg.Available() {
		return 0, "", fmt.Errorf("unsupported digest algorithm %q", alg)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := alg.Hash()
	n, err := io.Copy(h, f)
	if err != nil {
		return n, "", err
	}
	return n, digest.NewDigest(alg, h), nil
}
