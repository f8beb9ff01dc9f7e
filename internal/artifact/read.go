package artifact

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/extract"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/skill"
)

// MaxConfigSize bounds a config blob; skill configs are a few KiB.
const MaxConfigSize = 1 << 20

// MaxManifestSize bounds manifests and indexes.
const MaxManifestSize = 4 << 20

// BlobSource is what reading an artifact needs: small blobs, verified, and a
// stream for the layer. The local store satisfies it.
type BlobSource interface {
	ReadBlob(desc ocispec.Descriptor, max int64) ([]byte, error)
	OpenLayer(desc ocispec.Descriptor) (io.ReadCloser, error)
}

// Platform is one per-platform manifest of a skill.
type Platform struct {
	Platform *ocispec.Platform  `json:"platform,omitempty"`
	Manifest ocispec.Descriptor `json:"manifest"`
	Config   ocispec.Descriptor `json:"config"`
}

// Skill is a skill artifact described from its manifests and config.
type Skill struct {
	Root      ocispec.Descriptor `json:"root"` // index or manifest a tag points at
	Platforms []Platform         `json:"platforms"`
	Layer     ocispec.Descriptor `json:"layer"`
	Metadata  skill.Metadata     `json:"metadata"`
	Files     []FileEntry        `json:"files,omitempty"` // nil when the config does not list them
	Size      int64              `json:"size"`            // bytes of every distinct blob
	SkillMD   []byte             `json:"-"`               // set by callers that read the layer
	labels    map[string]string
}

// Describe reads the manifests and config of the artifact at root, accepting
// every layout the format lists: our index form, or a single manifest with
// one tar+gzip layer and an image, vendor JSON or empty config.
func Describe(src BlobSource, root ocispec.Descriptor) (*Skill, error) {
	s := &Skill{Root: root, Size: root.Size}
	switch root.MediaType {
	case ocispec.MediaTypeImageIndex:
		data, err := src.ReadBlob(root, MaxManifestSize)
		if err != nil {
			return nil, err
		}
		var idx ocispec.Index
		if err := json.Unmarshal(data, &idx); err != nil {
			return nil, errdef.Errorf(errdef.ErrCorrupt, "index %s is not valid JSON: %v", root.Digest, err)
		}
		if len(idx.Manifests) == 0 {
			return nil, errdef.Errorf(errdef.ErrUnsupported, "index %s lists no manifests", root.Digest)
		}
		for _, m := range idx.Manifests {
			if m.MediaType != ocispec.MediaTypeImageManifest {
				return nil, unsupported(root, []string{m.MediaType})
			}
			if err := s.addManifest(src, m); err != nil {
				return nil, err
			}
		}
		if s.Metadata.Requires == nil {
			s.Metadata.Requires = parseRequires(idx.Annotations[AnnotationRequires])
		}
	case ocispec.MediaTypeImageManifest:
		if err := s.addManifest(src, root); err != nil {
			return nil, err
		}
		s.Size -= root.Size // addManifest counted it
	default:
		return nil, unsupported(root, []string{root.MediaType})
	}
	return s, nil
}

// Bounds on a dependency list read from an artifact. Registry content is
// untrusted and the list is printed and recorded, so it is kept small: the
// first maxRequires distinct valid references are kept. A reference with a
// tag and a sha256 digest is at most 456 bytes (name 255, tag 128); the
// length cap spares the parser anything longer.
const (
	maxRequires   = skill.MaxRequires
	maxRequireLen = skill.MaxRequireLen
)

// parseRequires reads the requires annotation: a JSON array of references.
// A value of any other shape is ignored (nil) rather than refused: it only
// describes the skill, and a publisher's mistake there must not make the
// skill itself unreadable.
func parseRequires(raw string) []string {
	if raw == "" {
		return nil
	}
	var refs []string
	if json.Unmarshal([]byte(raw), &refs) != nil {
		return nil
	}
	return keepValidRequires(refs)
}

// keepValidRequires keeps, in order, the entries that are versioned
// registry references (which admits no control character, space or
// non-ASCII letter, so nothing kept can forge output or drive a terminal),
// each once, at most maxRequires of them. Anything else is dropped, not
// refused, for the reason parseRequires gives.
func keepValidRequires(refs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range refs {
		if len(out) == maxRequires {
			break
		}
		if len(r) > maxRequireLen || seen[r] {
			continue
		}
		if _, err := ref.ParseVersioned(r); err != nil {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	return out
}

func (s *Skill) addManifest(src BlobSource, desc ocispec.Descriptor) error {
	data, err := src.ReadBlob(desc, MaxManifestSize)
	if err != nil {
		return err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return errdef.Errorf(errdef.ErrCorrupt, "manifest %s is not valid JSON: %v", desc.Digest, err)
	}
	if len(m.Layers) != 1 || !isTarGzip(m.Layers[0].MediaType) {
		types := []string{m.Config.MediaType}
		for _, l := range m.Layers {
			types = append(types, l.MediaType)
		}
		return unsupported(desc, types)
	}
	layer := m.Layers[0]
	if s.Layer.Digest == "" {
		s.Layer = layer
		s.Size += layer.Size
	} else if s.Layer.Digest != layer.Digest {
		return errdef.Errorf(errdef.ErrUnsupported, "the platforms of %s carry different layers; a skill has one layer for every platform", s.Root.Digest)
	}
	s.Size += desc.Size + m.Config.Size
	s.Platforms = append(s.Platforms, Platform{Platform: desc.Platform, Manifest: desc, Config: m.Config})
	if s.labels == nil {
		s.labels = map[string]string{}
		if err := s.readConfig(src, m.Config); err != nil {
			return err
		}
		for k, v := range m.Annotations {
			if _, ok := s.labels[k]; !ok {
				s.labels[k] = v
			}
		}
		s.applyLabels()
		// Dependencies are an annotation of the manifest only, never a
		// config label.
		s.Metadata.Requires = parseRequires(m.Annotations[AnnotationRequires])
	}
	return nil
}

func (s *Skill) readConfig(src BlobSource, cfg ocispec.Descriptor) error {
	if cfg.MediaType == MediaTypeEmpty || cfg.Size <= 2 {
		return nil
	}
	data, err := src.ReadBlob(cfg, MaxConfigSize)
	if err != nil {
		return err
	}
	s.labels = configLabels(data)
	return nil
}

// configLabels reads the labels of a config: an image config keeps them
// under config.Labels; vendor configs are read for the same keys at the top
// level, and anything else gives none.
func configLabels(data []byte) map[string]string {
	var img struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if json.Unmarshal(data, &img) == nil && len(img.Config.Labels) > 0 {
		return img.Config.Labels
	}
	labels := map[string]string{}
	var flat map[string]any
	if json.Unmarshal(data, &flat) == nil {
		for k, v := range flat {
			if str, ok := v.(string); ok {
				labels[k] = str
			}
		}
	}
	return labels
}

// ConfigMetadata is the skill metadata a config blob's labels declare. It
// leaves the file list alone: listings call it once per build and never
// show files.
func ConfigMetadata(data []byte) skill.Metadata {
	return metadataFromLabels(configLabels(data))
}

func metadataFromLabels(l map[string]string) skill.Metadata {
	md := skill.Metadata{
		Name:          l[LabelName],
		Description:   l[LabelDescription],
		Version:       l[LabelVersion],
		License:       l[LabelLicense],
		Compatibility: l[LabelCompatibility],
	}
	if raw := l[LabelAllowedTools]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &md.AllowedTools)
	}
	return md
}

func (s *Skill) applyLabels() {
	l := s.labels
	s.Metadata = metadataFromLabels(l)
	if raw := l[LabelFileDigests]; raw != "" {
		var files []FileEntry
		if json.Unmarshal([]byte(raw), &files) == nil {
			s.Files = files
		}
	}
}

// HasMetadata reports whether the config or annotations named the skill.
func (s *Skill) HasMetadata() bool { return s.Metadata.Name != "" }

func isTarGzip(mediaType string) bool {
	return mediaType == MediaTypeLayer || strings.HasSuffix(mediaType, "tar+gzip") || strings.HasSuffix(mediaType, ".tar.gzip")
}

func unsupported(desc ocispec.Descriptor, types []string) error {
	return errdef.Errorf(errdef.ErrUnsupported, "%s is not a skill artifact: found media types %s; expected an image index or manifest with one tar+gzip layer", desc.Digest, strings.Join(types, ", "))
}

// LayerFile is one regular file found in a layer.
type LayerFile struct {
	Path string
	Size int64
}

// ScanLayer lists the regular files of a layer and returns SKILL.md's text,
// reading headers and SKILL.md only. Paths are made relative to the skill
// root when the layer roots everything under one "<name>/" folder. It reads,
// never writes; extraction with all its checks belongs to the installer.
//
// maxUncompressed caps the bytes decompressed (0 means no cap), so a gzip
// bomb fails as soon as it passes the cap instead of after filling a disk.
func ScanLayer(r io.Reader, maxSkillMD, maxUncompressed int64) ([]LayerFile, []byte, error) {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, nil, errdef.Errorf(errdef.ErrCorrupt, "layer is not gzip: %v", err)
	}
	defer gz.Close()
	var src io.Reader = gz
	if maxUncompressed > 0 {
		src = &extract.CapReader{R: gz, Left: maxUncompressed}
	}
	tr := tar.NewReader(src)
	var files []LayerFile
	found := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, extract.ErrCapReached) {
			return nil, nil, errdef.Errorf(errdef.ErrLimit, "the layer expands to more than %d MiB; the limit is set by --max-uncompressed", maxUncompressed>>20)
		}
		if err != nil {
			return nil, nil, errdef.Errorf(errdef.ErrCorrupt, "layer is not a valid tar: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		files = append(files, LayerFile{Path: name, Size: hdr.Size})
		if path.Base(name) == skill.ManifestFile && strings.Count(name, "/") <= 1 {
			if hdr.Size > maxSkillMD {
				return nil, nil, errdef.Errorf(errdef.ErrLimit, "%s in the layer is %d bytes; the limit is %d", name, hdr.Size, maxSkillMD)
			}
			b, err := io.ReadAll(io.LimitReader(tr, maxSkillMD))
			if errors.Is(err, extract.ErrCapReached) {
				return nil, nil, errdef.Errorf(errdef.ErrLimit, "the layer expands to more than %d MiB; the limit is set by --max-uncompressed", maxUncompressed>>20)
			}
			if err != nil {
				return nil, nil, errdef.Errorf(errdef.ErrCorrupt, "reading %s from the layer: %v", name, err)
			}
			found[name] = b
		}
	}
	prefix := ""
	body, ok := found[skill.ManifestFile]
	if !ok {
		var dirs []string
		for name := range found {
			dirs = append(dirs, path.Dir(name))
		}
		if len(dirs) != 1 || !allUnder(files, dirs[0]+"/") {
			return nil, nil, errdef.New(errdef.ErrUnsupported, "the layer holds no SKILL.md at its root nor inside exactly one top-level folder")
		}
		prefix = dirs[0] + "/"
		body = found[prefix+skill.ManifestFile]
	}
	for i := range files {
		files[i].Path = strings.TrimPrefix(files[i].Path, prefix)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, body, nil
}

func allUnder(files []LayerFile, prefix string) bool {
	for _, f := range files {
		if !strings.HasPrefix(f.Path, prefix) {
			return false
		}
	}
	return true
}

// FillFromSkillMD takes metadata from SKILL.md text when the config carried
// none, as artifacts pushed by generic tools do.
func (s *Skill) FillFromSkillMD(text []byte) error {
	doc, err := skill.ParseDocument(text)
	if err != nil {
		return fmt.Errorf("SKILL.md in the layer: %w", err)
	}
	md, _, _ := skill.DecodeFrontmatter(doc.Front)
	// DecodeFrontmatter keeps only valid references, once each; a SKILL.md
	// from a registry is as untrusted as an annotation, so the same cap
	// applies.
	md.Requires = keepValidRequires(md.Requires)
	if s.Metadata.Name == "" {
		// What the manifests declare outranks what SKILL.md says.
		if s.Metadata.Requires != nil {
			md.Requires = s.Metadata.Requires
		}
		s.Metadata = md
	}
	return nil
}

// ReadLayerFile streams the layer and copies the one regular file at path
// (relative to the skill root, "<name>/" prefix tolerated) to w, refusing
// files over max bytes.
func ReadLayerFile(r io.Reader, filePath string, max int64, w io.Writer) error {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return errdef.Errorf(errdef.ErrCorrupt, "layer is not gzip: %v", err)
	}
	defer gz.Close()
	want := strings.TrimPrefix(path.Clean("/"+filePath), "/")
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return errdef.Errorf(errdef.ErrNotFound, "no file %q in the skill", filePath)
		}
		if err != nil {
			return errdef.Errorf(errdef.ErrCorrupt, "layer is not a valid tar: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if name != want {
			if _, rest, ok := strings.Cut(name, "/"); !ok || rest != want {
				continue
			}
		}
		if hdr.Size > max {
			return errdef.Errorf(errdef.ErrLimit, "%s is %d bytes; the limit for showing a file is %d", filePath, hdr.Size, max)
		}
		_, err = io.Copy(w, tr)
		return err
	}
}
