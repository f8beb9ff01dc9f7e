package service

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/skill"
)

// maxSkillMD bounds how much of SKILL.md is read when an artifact's config
// carries no metadata.
const maxSkillMD = 4 << 20

// Inspection is everything known about a tag in the store.
type Inspection struct {
	Tag        string               `json:"tag"`
	LocalBuild bool                 `json:"localBuild"`
	Digest     string               `json:"digest"`
	MediaType  string               `json:"mediaType"`
	Metadata   skill.Metadata       `json:"metadata"`
	Platforms  []artifact.Platform  `json:"platforms"`
	Layer      ocispec.Descriptor   `json:"layer"`
	Files      []artifact.FileEntry `json:"files"`
	Size       int64                `json:"size"`
}

// Inspect describes a tag of the store: metadata, platforms, digests and
// files with their sizes.
func (s *Service) Inspect(_ context.Context, tag string) (*Inspection, error) {
	t, err := s.store.Resolve(tag)
	if err != nil {
		return nil, errdef.Errorf(errdef.ErrNotFound, "no tag %q in the store; run \"skilldock builds\" to list builds", tag)
	}
	sk, err := artifact.Describe(s.store, t.Descriptor)
	if err != nil {
		return nil, err
	}
	files := sk.Files
	if files == nil || !sk.HasMetadata() {
		// Artifacts made by other tools list no sizes in their config: read
		// the layer's headers (and SKILL.md) instead.
		rc, err := s.store.OpenLayer(sk.Layer)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		lf, text, err := artifact.ScanLayer(rc, maxSkillMD, 0)
		if err != nil {
			return nil, err
		}
		if !sk.HasMetadata() {
			if err := sk.FillFromSkillMD(text); err != nil {
				return nil, err
			}
		}
		if files == nil {
			for _, f := range lf {
				files = append(files, artifact.FileEntry{Path: f.Path, Size: f.Size})
			}
		}
	}
	return &Inspection{
		Tag: t.Name, LocalBuild: t.LocalBuild, Digest: t.Descriptor.Digest.String(), MediaType: t.Descriptor.MediaType,
		Metadata: sk.Metadata, Platforms: sk.Platforms, Layer: sk.Layer, Files: files, Size: sk.Size,
	}, nil
}
