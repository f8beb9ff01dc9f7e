package service

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/pack"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/skill"
	"github.com/skilldock/skilldock/internal/store"
)

// BuildRequest asks for a skill folder to be built into the store.
type BuildRequest struct {
	Dir       string
	Tags      []string // NAME[:TAG] or REGISTRY/REPO[:TAG]; empty means the defaults
	Platforms []ocispec.Platform
	Limits    pack.Limits
	// Epoch fixes every timestamp; nil means SOURCE_DATE_EPOCH or else Unix 0.
	Epoch *time.Time
}

// BuildResult is a finished build.
type BuildResult struct {
	Tags     []string       `json:"tags"`
	Digest   string         `json:"digest"`
	Size     int64          `json:"size"`
	Name     string         `json:"name"`
	Version  string         `json:"version,omitempty"`
	Warnings []skill.Issue  `json:"warnings"`
	Files    int            `json:"files"`
	Metadata skill.Metadata `json:"-"`
}

// Validate checks a folder against the Agent Skills specification. It needs
// no store, so it is also a plain function.
func (s *Service) Validate(ctx context.Context, dir string) (*skill.Checked, error) {
	return Validate(ctx, dir)
}

// Validate checks a folder against the Agent Skills specification. It stops
// with ctx's error once ctx ends, however large the folder.
func Validate(ctx context.Context, dir string) (*skill.Checked, error) {
	return skill.CheckContext(ctx, dir)
}

// Build validates, packs and tags a skill folder. Tags are written only after
// every blob is stored, in one index update, so a build that fails or is
// killed leaves no tag behind.
func (s *Service) Build(ctx context.Context, req BuildRequest) (*BuildResult, error) {
	epoch, err := buildEpoch(req.Epoch)
	if err != nil {
		return nil, err
	}
	c, err := skill.CheckContext(ctx, req.Dir)
	if err != nil {
		return nil, err
	}
	if !c.Report.Valid {
		e := c.Report.Errors[0]
		more := ""
		if n := len(c.Report.Errors) - 1; n > 0 {
			more = fmt.Sprintf(" (and %d more; run \"skilldock validate %s\")", n, req.Dir)
		}
		return nil, errdef.Errorf(errdef.ErrInvalid, "%s: %s%s", e.Field, e.Message, more)
	}
	tags, err := buildTags(req.Tags, c.Metadata)
	if err != nil {
		return nil, err
	}
	limits := req.Limits
	if limits == (pack.Limits{}) {
		limits = pack.DefaultLimits()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ss, err := s.store.Begin()
	if err != nil {
		return nil, err
	}
	defer ss.Close()
	res, err := pack.Build(ss, c, pack.Options{Epoch: epoch, Platforms: req.Platforms, Limits: limits})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tagged := res.Index
	tagged.Annotations = listingHints(res)
	err = s.store.UpdateIndex(func(idx *ocispec.Index) error {
		for _, t := range tags {
			store.SetTag(idx, t, tagged, true)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &BuildResult{
		Tags: tags, Digest: res.Index.Digest.String(), Size: res.Size,
		Name: c.Metadata.Name, Version: c.Metadata.Version, Warnings: c.Report.Warnings,
		Files: len(res.Files), Metadata: c.Metadata,
	}, nil
}

func buildEpoch(given *time.Time) (time.Time, error) {
	if given != nil {
		return given.UTC(), nil
	}
	return SourceDateEpoch()
}

// SourceDateEpoch is the build epoch the environment asks for:
// SOURCE_DATE_EPOCH when set, else Unix time 0.
func SourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, errdef.Errorf(errdef.ErrInvalid, "SOURCE_DATE_EPOCH=%q is not a non-negative number of seconds; unset it or set e.g. SOURCE_DATE_EPOCH=1700000000", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// buildTags turns -t values into canonical tag names; with none given the
// defaults are NAME and, when the skill declares a version, NAME:VERSION.
func buildTags(given []string, md skill.Metadata) ([]string, error) {
	if len(given) == 0 {
		given = []string{md.Name}
		if md.Version != "" {
			if _, err := ref.ParseLocal(md.Name + ":" + md.Version); err == nil {
				given = append(given, md.Name+":"+md.Version)
			}
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range given {
		r, err := ref.ParseLocal(t)
		if err != nil {
			return nil, err
		}
		if name := r.String(); !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

// Listing hints stamped on a build's tag in index.json.
const (
	hintConfig     = store.HintPrefix + "config"
	hintConfigSize = store.HintPrefix + "config-size"
	hintSize       = store.HintPrefix + "size"
)

func listingHints(res *pack.Result) map[string]string {
	return map[string]string{
		hintConfig:     res.Config.Digest.String(),
		hintConfigSize: strconv.FormatInt(res.Config.Size, 10),
		hintSize:       strconv.FormatInt(res.Size, 10),
	}
}
