package artifact_test

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
)

// memSource holds blobs in memory, as the store would on disk.
type memSource map[digest.Digest][]byte

func (m memSource) ReadBlob(desc ocispec.Descriptor, _ int64) ([]byte, error) {
	b, ok := m[desc.Digest]
	if !ok {
		return nil, errdef.Errorf(errdef.ErrNotFound, "no blob %s", desc.Digest)
	}
	return b, nil
}

func (m memSource) OpenLayer(desc ocispec.Descriptor) (io.ReadCloser, error) {
	b, err := m.ReadBlob(desc, 0)
	return io.NopCloser(bytes.NewReader(b)), err
}

func (m memSource) put(t *testing.T, mediaType string, v any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := digest.FromBytes(b)
	m[d] = b
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

// skillArtifact stores an index of two platform manifests, as build writes
// it, with the given manifest and index annotations and config labels
// (besides the name and description), and returns the index's descriptor.
func skillArtifact(t *testing.T, src memSource, manifestAnn, indexAnn map[string]string, labels ...string) ocispec.Descriptor {
	t.Helper()
	layer := ocispec.Descriptor{MediaType: artifact.MediaTypeLayer, Digest: digest.FromString("layer"), Size: 5}
	l := map[string]string{artifact.LabelName: "demo", artifact.LabelDescription: "A demo."}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	cfg := src.put(t, artifact.MediaTypeConfig, ocispec.Image{Config: ocispec.ImageConfig{Labels: l}})
	var manifests []ocispec.Descriptor
	for _, p := range artifact.DefaultPlatforms() {
		m := src.put(t, ocispec.MediaTypeImageManifest, ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
			ArtifactType: artifact.ArtifactType, Config: cfg, Layers: []ocispec.Descriptor{layer},
			Annotations: manifestAnn,
		})
		m.Platform = &p
		manifests = append(manifests, m)
	}
	return src.put(t, ocispec.MediaTypeImageIndex, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		ArtifactType: artifact.ArtifactType, Manifests: manifests, Annotations: indexAnn,
	})
}

func TestDescribeReadsRequiresFromTheManifestElseTheIndex(t *testing.T) {
	const a, b = `["ghcr.io/acme/a:1","ghcr.io/acme/b:2"]`, `["ghcr.io/acme/c:3"]`
	ab := []string{"ghcr.io/acme/a:1", "ghcr.io/acme/b:2"}
	cases := []struct {
		name              string
		manifest, index   map[string]string
		labels            []string
		want              []string
		viaSingleManifest bool
	}{
		{name: "on both", manifest: map[string]string{artifact.AnnotationRequires: a}, index: map[string]string{artifact.AnnotationRequires: a}, want: ab},
		{name: "the manifest wins", manifest: map[string]string{artifact.AnnotationRequires: a}, index: map[string]string{artifact.AnnotationRequires: b}, want: ab},
		{name: "only on the index", index: map[string]string{artifact.AnnotationRequires: a}, want: ab},
		{name: "a malformed manifest value falls back to the index", manifest: map[string]string{artifact.AnnotationRequires: "nope"}, index: map[string]string{artifact.AnnotationRequires: b}, want: []string{"ghcr.io/acme/c:3"}},
		{name: "neither", want: nil},
		{name: "a single manifest", manifest: map[string]string{artifact.AnnotationRequires: a}, want: ab, viaSingleManifest: true},
		{name: "a config label is not a declaration", labels: []string{artifact.AnnotationRequires, a}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := memSource{}
			root := skillArtifact(t, src, tc.manifest, tc.index, tc.labels...)
			if tc.viaSingleManifest {
				var idx ocispec.Index
				if err := json.Unmarshal(src[root.Digest], &idx); err != nil {
					t.Fatal(err)
				}
				root = idx.Manifests[0]
				root.Platform = nil
			}
			sk, err := artifact.Describe(src, root)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sk.Metadata.Requires, tc.want) {
				t.Errorf("Requires = %q, want %q", sk.Metadata.Requires, tc.want)
			}
			if sk.Metadata.Name != "demo" {
				t.Errorf("Name = %q; reading requires lost the rest of the metadata", sk.Metadata.Name)
			}
		})
	}
}

func TestDescribeIgnoresARequiresValueThatIsNotAnArrayOfStrings(t *testing.T) {
	for _, raw := range []string{
		"ghcr.io/acme/a:1", `"ghcr.io/acme/a:1"`, `[1, 2]`, `["ghcr.io/acme/a:1", 2]`,
		`{"ref": "ghcr.io/acme/a:1"}`, `null`, `[]`, `[""]`, `[`, "\x00",
	} {
		t.Run(raw, func(t *testing.T) {
			src := memSource{}
			ann := map[string]string{artifact.AnnotationRequires: raw}
			sk, err := artifact.Describe(src, skillArtifact(t, src, ann, ann))
			if err != nil {
				t.Fatalf("Describe refused the artifact: %v", err)
			}
			if sk.Metadata.Requires != nil {
				t.Errorf("Requires = %q, want none", sk.Metadata.Requires)
			}
			if sk.Metadata.Name != "demo" || len(sk.Platforms) != 2 {
				t.Errorf("the rest of the description suffered: %+v", sk)
			}
		})
	}
}

func TestDescribeDropsEmptyRequiredReferences(t *testing.T) {
	src := memSource{}
	ann := map[string]string{artifact.AnnotationRequires: `["", "ghcr.io/acme/a:1", ""]`}
	sk, err := artifact.Describe(src, skillArtifact(t, src, ann, nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ghcr.io/acme/a:1"}; !slices.Equal(sk.Metadata.Requires, want) {
		t.Errorf("Requires = %q, want %q", sk.Metadata.Requires, want)
	}
}

func TestRequiresOfAnArtifactWithoutLabelsComeFromItsSkillMD(t *testing.T) {
	text := []byte("---\nname: demo\ndescription: A demo.\nmetadata:\n  toolhive.requires: |\n    ghcr.io/acme/a:1\n    not-a-reference\n---\n# Demo\n")
	var sk artifact.Skill
	if err := sk.FillFromSkillMD(text); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ghcr.io/acme/a:1"}; !slices.Equal(sk.Metadata.Requires, want) {
		t.Errorf("Requires = %q, want %q (the valid declarations)", sk.Metadata.Requires, want)
	}

	// An annotation says what the publisher stamped; it outranks the text.
	annotated := artifact.Skill{}
	annotated.Metadata.Requires = []string{"ghcr.io/acme/b:2"}
	if err := annotated.FillFromSkillMD(text); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ghcr.io/acme/b:2"}; !slices.Equal(annotated.Metadata.Requires, want) || annotated.Metadata.Name != "demo" {
		t.Errorf("Metadata = %+v, want the name from SKILL.md and requires %q from the annotation", annotated.Metadata, want)
	}
}
