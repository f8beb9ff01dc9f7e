package artifact

import (
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// ArtifactType marks skill indexes and manifests.
	ArtifactType = "dev.toolhive.skills.v1"

	MediaTypeConfig = ocispec.MediaTypeImageConfig
	MediaTypeLayer  = ocispec.MediaTypeImageLayerGzip
	MediaTypeEmpty  = ocispec.MediaTypeEmptyJSON

	AnnotationName        = "dev.toolhive.skills.name"
	AnnotationDescription = "dev.toolhive.skills.description"
	AnnotationVersion     = "dev.toolhive.skills.version"
	AnnotationRequires    = "dev.toolhive.skills.requires"

	LabelName         = "dev.toolhive.skills.name"
	LabelDescription  = "dev.toolhive.skills.description"
	LabelVersion      = "dev.toolhive.skills.version"
	LabelLicense      = "dev.toolhive.skills.license"
	LabelAllowedTools = "dev.toolhive.skills.allowedTools"
	LabelFiles        = "dev.toolhive.skills.files"

	// LabelFileDigests is skilldock's own: a JSON array of FileEntry, so the
	// file list with sizes and digests can be shown and checked without
	// opening the layer. Readers that do not know it ignore it.
	LabelFileDigests = "dev.skilldock.files"
	// LabelCompatibility carries the frontmatter's compatibility field.
	LabelCompatibility = "dev.skilldock.compatibility"
)

// FileEntry describes one file of the layer.
type FileEntry struct {
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	Executable bool   `json:"executable,omitempty"`
}

// DefaultPlatforms are the platforms a build lists in its index, so that
// clusters of either architecture can mount the skill as an image volume.
func DefaultPlatforms() []ocispec.Platform {
	return []ocispec.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
}
