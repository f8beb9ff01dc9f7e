package store

import (
	"encoding/json"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
)

// MaxManifestSize bounds any manifest or index read from the store or a
// registry (the same 4 MiB registries commonly enforce).
const MaxManifestSize = 4 << 20

const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// IsManifest reports whether a media type names a manifest or an index,
// whose blob references other blobs.
func IsManifest(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		mediaTypeDockerManifest, mediaTypeDockerManifestList:
		return true
	}
	return false
}

// GraphNode holds every field through which OCI and Docker manifests and
// indexes reference other blobs.
type GraphNode struct {
	Config    *ocispec.Descriptor  `json:"config"`
	Layers    []ocispec.Descriptor `json:"layers"`
	Manifests []ocispec.Descriptor `json:"manifests"`
	Blobs     []ocispec.Descriptor `json:"blobs"`
	Subject   *ocispec.Descriptor  `json:"subject"`
}

// Children parses a manifest or index blob and returns what it references.
func Children(data []byte) ([]ocispec.Descriptor, error) {
	var n GraphNode
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, errdef.Errorf(errdef.ErrCorrupt, "manifest is not valid JSON: %v", err)
	}
	var out []ocispec.Descriptor
	if n.Config != nil {
		out = append(out, *n.Config)
	}
	out = append(out, n.Layers...)
	out = append(out, n.Manifests...)
	out = append(out, n.Blobs...)
	// A subject is what this manifest refers to, not something it owns, so it
	// does not keep the subject alive; reachability stays top-down.
	for _, d := range out {
		if err := d.Digest.Validate(); err != nil {
			return nil, errdef.Errorf(errdef.ErrCorrupt, "manifest references an invalid digest %q", d.Digest)
		}
		if d.Size < 0 {
			return nil, errdef.Errorf(errdef.ErrCorrupt, "manifest references %s with a negative size", d.Digest)
		}
	}
	return out, nil
}
