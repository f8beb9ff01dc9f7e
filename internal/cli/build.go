package cli

import (
	"context"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/pack"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/units"
)

// BuildOptions are the inputs of "skilldock build".
type BuildOptions struct {
	Dir          string
	Tags         []string
	Platforms    []string
	MaxFiles     int
	MaxFileSize  string
	MaxTotalSize string
	Output       string
}

func newBuildCmd(a *app) *cobra.Command {
	opts := &BuildOptions{}
	def := pack.DefaultLimits()
	c := &cobra.Command{
		Use:   "build DIR",
		Short: "Build a skill folder into an OCI artifact in the local store",
		Long: `Build a skill folder into a reproducible OCI artifact in the local store and
tag it as a local build.

The folder is validated first (see "skilldock validate"); a skill with errors is
refused. Hidden files and folders, and anything matched by a .skillignore file
(gitignore syntax) in the skill root, are left out. The same files give the same
digest on any machine: timestamps come from SOURCE_DATE_EPOCH (default 0), and
owners, permissions (other than the executable bit) and paths do not matter.

Tags default to NAME and, when the skill declares a version, NAME:VERSION.
-t takes NAME[:TAG] or a full reference (registry.example.com/team/NAME:TAG)
and can be repeated.`,
		Example: `  skilldock build ./my-skill
  skilldock build ./my-skill -t my-skill:1.2 -t ghcr.io/acme/my-skill:1.2
  SOURCE_DATE_EPOCH=1700000000 skilldock build ./my-skill --platform linux/amd64`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return runBuild(c.Context(), a, opts)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&opts.Tags, "tag", "t", nil, "tag as NAME[:TAG] or REGISTRY/REPO[:TAG] (repeatable)")
	f.StringSliceVar(&opts.Platforms, "platform", nil, "platforms listed in the index, OS/ARCH[/VARIANT] (default linux/amd64,linux/arm64)")
	f.IntVar(&opts.MaxFiles, "max-files", def.MaxFiles, "most files a skill may hold")
	f.StringVar(&opts.MaxFileSize, "max-file-size", units.Human(def.MaxFileSize), "largest single file")
	f.StringVar(&opts.MaxTotalSize, "max-total-size", units.Human(def.MaxTotalSize), "largest total of all files")
	f.StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runBuild(ctx context.Context, a *app, opts *BuildOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	req := service.BuildRequest{Dir: absPath(opts.Dir), Tags: opts.Tags}
	if req.Limits.MaxFileSize, err = units.Parse(opts.MaxFileSize); err != nil {
		return usageError{fmt.Errorf("--max-file-size: %w", err)}
	}
	if req.Limits.MaxTotalSize, err = units.Parse(opts.MaxTotalSize); err != nil {
		return usageError{fmt.Errorf("--max-total-size: %w", err)}
	}
	if opts.MaxFiles < 1 {
		return usageError{fmt.Errorf("--max-files must be at least 1")}
	}
	req.Limits.MaxFiles = opts.MaxFiles
	for _, p := range opts.Platforms {
		pl, err := parsePlatform(p)
		if err != nil {
			return usageError{err}
		}
		req.Platforms = append(req.Platforms, pl)
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	res, err := svc.Build(ctx, req)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(a.streams.ErrOut, "warning  %s: %s\n", w.Field, w.Message)
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, res)
	}
	for _, t := range res.Tags {
		fmt.Fprintf(a.streams.Out, "%s\t%s\n", t, res.Digest)
	}
	return nil
}

func parsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return ocispec.Platform{}, fmt.Errorf("platform %q must be OS/ARCH or OS/ARCH/VARIANT, e.g. linux/arm64", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}
