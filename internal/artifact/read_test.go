package artifact_test

import (
	"bytes"
	_ "crypto/sha512" // registers sha512 digests, which make a reference over 512 bytes valid
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/ref"
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

// hostileRequires is a requires annotation written to forge output: a line
// that reads like a note of skilldock's, and a reference wrapped in an OSC 8
// terminal hyperlink to another site; only the last two entries are valid,
// and they are the same.
const hostileRequires = `["x\nnote: all dependencies are installed", "\u001b]8;;https://evil\u0007ghcr.io/a/b:1\u001b]8;;\u0007", "ghcr.io/a/b:1", "ghcr.io/a/b:1"]`

func TestDescribeKeepsOnlyValidRequiredReferencesOnceEach(t *testing.T) {
	pinned := "ghcr.io/acme/pdf@sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		name string
		raw  string
		want []string
	}{
		{name: "forged lines and terminal escapes", raw: hostileRequires, want: []string{"ghcr.io/a/b:1"}},
		{name: "repeats keep the first place", raw: `["ghcr.io/acme/b:2", "ghcr.io/acme/a:1", "ghcr.io/acme/b:2", "` + pinned + `", "ghcr.io/acme/a:1"]`, want: []string{"ghcr.io/acme/b:2", "ghcr.io/acme/a:1", pinned}},
		{name: "not references", raw: `["a", "ghcr.io/acme/a", "acme/a:1", " ghcr.io/acme/a:1", "ghcr.io/acme/a:1 ", "ghcr.io/Acme/a:1", "ghcr.io/acme/a:1\u00a0", "ghcr.io/acme/c:3"]`, want: []string{"ghcr.io/acme/c:3"}},
		{name: "all invalid reads as none", raw: `["x\ny", "ghcr.io/acme/a"]`, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := memSource{}
			ann := map[string]string{artifact.AnnotationRequires: tc.raw}
			sk, err := artifact.Describe(src, skillArtifact(t, src, ann, nil))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sk.Metadata.Requires, tc.want) {
				t.Errorf("Requires = %q, want %q", sk.Metadata.Requires, tc.want)
			}
		})
	}
}

func TestDescribeCapsTheCountAndLengthOfRequiredReferences(t *testing.T) {
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("ghcr.io/acme/dep%d:1", i))
	}
	// The longest name a reference may have, with the longest tag: valid,
	// but over the length cap.
	long := "ghcr.io/" + strings.Repeat("a", 255-len("ghcr.io/")) + ":" + strings.Repeat("t", 128)
	if _, err := ref.ParseVersioned(long); err != nil || len(long) <= 256 {
		t.Fatalf("the long reference must be valid and long: %d bytes, %v", len(long), err)
	}
	tooLong := long + "@sha512:" + strings.Repeat("ab", 64)
	if _, err := ref.ParseVersioned(tooLong); err != nil || len(tooLong) <= 512 {
		t.Fatalf("the too long reference must be valid and over 512 bytes: %d bytes, %v", len(tooLong), err)
	}
	raw, err := json.Marshal(append([]string{tooLong, long}, many...))
	if err != nil {
		t.Fatal(err)
	}
	src := memSource{}
	ann := map[string]string{artifact.AnnotationRequires: string(raw)}
	sk, err := artifact.Describe(src, skillArtifact(t, src, ann, nil))
	if err != nil {
		t.Fatal(err)
	}
	got := sk.Metadata.Requires
	if len(got) != 256 || got[0] != long || got[1] != many[0] || got[255] != many[254] {
		t.Errorf("kept %d references (first %.40q, last %q); want the long one and the first 255 others, 256 in all", len(got), got[0], got[len(got)-1])
	}
	if slices.Contains(got, tooLong) {
		t.Errorf("kept a reference of %d bytes; the cap is 512", len(tooLong))
	}
}

// TestNoControlCharacterPassesAsARequiredReference guards what the readers
// rely on to keep terminal escapes out of printed and recorded lists:
// ref.ParseVersioned refuses any control, format or non-ASCII character
// anywhere in an otherwise valid reference.
func TestNoControlCharacterPassesAsARequiredReference(t *testing.T) {
	valid := []string{
		"ghcr.io/acme/a:1",
		"localhost:5000/a/b@sha256:" + strings.Repeat("ab", 32),
		"[::1]:5000/a:v1.0",
	}
	var bad []rune
	for r := rune(0); r < 0x20; r++ {
		bad = append(bad, r)
	}
	bad = append(bad, 0x7f, 0x85, 0x9b, 0xa0, 0x200b, 0x202e, 0x2028, 0xfeff)
	for _, v := range valid {
		if _, err := ref.ParseVersioned(v); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		for i := 0; i <= len(v); i++ {
			for _, r := range bad {
				s := v[:i] + string(r) + v[i:]
				if _, err := ref.ParseVersioned(s); err == nil {
					t.Errorf("ParseVersioned accepted %q", s)
				}
			}
		}
	}
}

func TestRequiresFromASkillMDAreCappedLikeAnnotations(t *testing.T) {
	var b strings.Builder
	b.WriteString("---\nname: demo\ndescription: A demo.\nmetadata:\n  toolhive.requires: |\n")
	for i := range 300 {
		fmt.Fprintf(&b, "    ghcr.io/acme/dep%d:1\n", i)
	}
	b.WriteString("---\n# Demo\n")
	var sk artifact.Skill
	if err := sk.FillFromSkillMD([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	if n := len(sk.Metadata.Requires); n != 256 || sk.Metadata.Requires[255] != "ghcr.io/acme/dep255:1" {
		t.Errorf("kept %d references from SKILL.md; want the first 256", n)
	}
}
