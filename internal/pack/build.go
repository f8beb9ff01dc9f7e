package pack

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/skill"
	"github.com/skilldock/skilldock/internal/store"
)

// Options control a build. The zero value of Epoch means Unix time 0.
type Options struct {
	Epoch     time.Time
	Platforms []ocispec.Platform // nil means artifact.DefaultPlatforms
	Limits    Limits
}

// Result is a packed skill.
type Result struct {
	Index    ocispec.Descriptor // what a tag points at
	Config   ocispec.Descriptor // the first platform's config
	Layer    ocispec.Descriptor
	Metadata skill.Metadata
	Files    []artifact.FileEntry
	Size     int64 // bytes of every distinct blob of the artifact
}

// Build packs a checked skill and stores its blobs through ss. The checked
// folder must be valid; Build refuses one with errors.
func Build(ss *store.Session, c *skill.Checked, opts Options) (*Result, error) {
	if !c.Report.Valid {
		return nil, errdef.Errorf(errdef.ErrInvalid, "%s: %s", c.Report.Errors[0].Field, c.Report.Errors[0].Message)
	}
	if err := opts.Limits.Check(c.Files); err != nil {
		return nil, err
	}
	epoch := opts.Epoch.UTC()
	if opts.Epoch.IsZero() {
		epoch = time.Unix(0, 0).UTC()
	}
	platforms := opts.Platforms
	if len(platforms) == 0 {
		platforms = artifact.DefaultPlatforms()
	}

	w, err := ss.NewBlob()
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	layer, err := WriteLayer(w, c.Root, c.Files, epoch)
	if err != nil {
		return nil, err
	}
	layerDigest, err := w.Commit("")
	if err != nil {
		return nil, err
	}
	res := &Result{
		Layer:    ocispec.Descriptor{MediaType: artifact.MediaTypeLayer, Digest: layerDigest, Size: w.Size()},
		Metadata: c.Metadata,
		Files:    layer.Files,
	}
	res.Size = res.Layer.Size

	labels, err := Labels(c.Metadata, layer.Files)
	if err != nil {
		return nil, err
	}
	annotations := Annotations(c.Metadata, epoch)
	var manifests []ocispec.Descriptor
	for _, p := range platforms {
		cfg := ocispec.Image{
			Created:  &epoch,
			Platform: ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
			Config:   ocispec.ImageConfig{Labels: labels},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.DiffID}},
			History:  []ocispec.History{{Created: &epoch, CreatedBy: "skilldock build", Comment: "skill " + c.Metadata.Name}},
		}
		cfgDesc, err := putJSON(ss, artifact.MediaTypeConfig, cfg)
		if err != nil {
			return nil, err
		}
		m := ocispec.Manifest{
			Versioned:    specs.Versioned{SchemaVersion: 2},
			MediaType:    ocispec.MediaTypeImageManifest,
			ArtifactType: artifact.ArtifactType,
			Config:       cfgDesc,
			Layers:       []ocispec.Descriptor{res.Layer},
			Annotations:  annotations,
		}
		if res.Config.Digest == "" {
			res.Config = cfgDesc
		}
		mDesc, err := putJSON(ss, ocispec.MediaTypeImageManifest, m)
		if err != nil {
			return nil, err
		}
		mDesc.ArtifactType = artifact.ArtifactType
		platform := p
		mDesc.Platform = &platform
		manifests = append(manifests, mDesc)
		res.Size += cfgDesc.Size + mDesc.Size
	}
	idx := ocispec.Index{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageIndex,
		ArtifactType: artifact.ArtifactType,
		Manifests:    manifests,
		Annotations:  annotations,
	}
	res.Index, err = putJSON(ss, ocispec.MediaTypeImageIndex, idx)
	if err != nil {
		return nil, err
	}
	res.Index.ArtifactType = artifact.ArtifactType
	res.Size += res.Index.Size
	return res, nil
}

// Labels are the config labels the format defines, plus skilldock's own.
func Labels(md skill.Metadata, files []artifact.FileEntry) (map[string]string, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	tools := md.AllowedTools
	if tools == nil {
		tools = []string{}
	}
	labels := map[string]string{
		artifact.LabelName:        md.Name,
		artifact.LabelDescription: md.Description,
	}
	for key, v := range map[string]any{artifact.LabelAllowedTools: tools, artifact.LabelFiles: sortedCopy(paths), artifact.LabelFileDigests: files} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		labels[key] = string(b)
	}
	if md.Version != "" {
		labels[artifact.LabelVersion] = md.Version
	}
	if md.License != "" {
		labels[artifact.LabelLicense] = md.License
	}
	if md.Compatibility != "" {
		labels[artifact.LabelCompatibility] = md.Compatibility
	}
	return labels, nil
}

// Annotations are the manifest and index annotations the format defines.
// The requires annotation is left out when nothing is required, so that
// skills without dependencies keep the digests they always had.
func Annotations(md skill.Metadata, epoch time.Time) map[string]string {
	a := map[string]string{
		ocispec.AnnotationCreated:      epoch.UTC().Format(time.RFC3339),
		artifact.AnnotationName:        md.Name,
		artifact.AnnotationDescription: md.Description,
	}
	if md.Version != "" {
		a[artifact.AnnotationVersion] = md.Version
	}
	if len(md.Requires) > 0 {
		// Marshalling a []string cannot fail.
		b, _ := json.Marshal(md.Requires)
		a[artifact.AnnotationRequires] = string(b)
	}
	return a
}

func sortedCopy(paths []string) []string {
	out := append([]string(nil), paths...)
	sort.Strings(out)
	return out
}

func putJSON(ss *store.Session, mediaType string, v any) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return ss.Put(mediaType, b)
}
