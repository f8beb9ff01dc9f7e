package service

import (
	"context"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/skill"
)

// maxShownFile bounds "content --file".
const maxShownFile = 50 << 20

// FileEntry is one file of a skill as the API shows it.
type FileEntry struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// SkillContent is a skill's metadata, SKILL.md body and files: the shape of
// the API's /content response.
type SkillContent struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Version     string      `json:"version,omitempty"`
	License     string      `json:"license,omitempty"`
	Body        string      `json:"body"`
	Files       []FileEntry `json:"files"`
	// Requires is not in ToolHive's SkillContent; its schema allows
	// properties it does not name, and it is left out when empty, so the
	// response of a skill without dependencies is exactly the contract's.
	Requires  []string `json:"requires,omitempty"`
	Reference string   `json:"-"`
	Digest    string   `json:"-"`
}

// resolveContent finds the artifact a reference names: a tag of the store
// first (a local build or a cached pull), else a pull into the cache.
func (s *Service) resolveContent(ctx context.Context, reference string) (ocispec.Descriptor, string, error) {
	if t, err := s.store.Resolve(reference); err == nil {
		return t.Descriptor, t.Name, nil
	}
	if !ref.IsRemote(reference) {
		if _, err := ref.ParseLocal(reference); err != nil {
			return ocispec.Descriptor{}, "", err
		}
		return ocispec.Descriptor{}, "", errdef.Errorf(errdef.ErrNotFound, "no local build or cached skill %q; run \"skilldock builds\" to list builds, or give a registry reference", reference)
	}
	res, err := s.Pull(ctx, reference, PullLimits{})
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	t, err := s.store.Resolve(res.Tag)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	return t.Descriptor, t.Name, nil
}

// Content shows a skill without installing it.
func (s *Service) Content(ctx context.Context, reference string) (*SkillContent, error) {
	root, name, err := s.resolveContent(ctx, reference)
	if err != nil {
		return nil, err
	}
	sk, err := s.describeFull(root, DefaultPullLimits().MaxUncompressed)
	if err != nil {
		return nil, err
	}
	body := string(sk.SkillMD)
	if doc, err := skill.ParseDocument(sk.SkillMD); err == nil {
		body = doc.Body
	}
	c := &SkillContent{
		Name: sk.Metadata.Name, Description: sk.Metadata.Description, Version: sk.Metadata.Version,
		License: sk.Metadata.License, Body: body, Files: []FileEntry{}, Requires: sk.Metadata.Requires,
		Reference: name, Digest: root.Digest.String(),
	}
	for _, f := range sk.Files {
		c.Files = append(c.Files, FileEntry{Path: f.Path, Size: f.Size})
	}
	return c, nil
}

// ContentFile writes one file of a skill to w.
func (s *Service) ContentFile(ctx context.Context, reference, file string, w io.Writer) error {
	root, _, err := s.resolveContent(ctx, reference)
	if err != nil {
		return err
	}
	sk, err := artifact.Describe(s.store, root)
	if err != nil {
		return err
	}
	rc, err := s.store.OpenLayer(sk.Layer)
	if err != nil {
		return err
	}
	defer rc.Close()
	return artifact.ReadLayerFile(rc, file, maxShownFile, w)
}
