package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/units"
)

// BuildsOptions are the inputs of "skilldock builds".
type BuildsOptions struct {
	Output string
	Quiet  bool
}

func newBuildsCmd(a *app) *cobra.Command {
	opts := &BuildsOptions{}
	c := &cobra.Command{
		Use:     "builds",
		Aliases: []string{"images"},
		Short:   "List local builds (never pulled artifacts)",
		Long: `List the skills built on this machine. Only tags made by "build" or "tag" of a
build are listed; artifacts that arrived by a pull, or that other tools wrote
into the store, are a cache and never appear here.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			return runBuilds(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	c.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print tags only")
	c.AddCommand(newBuildsRmCmd(a))
	return c
}

func runBuilds(ctx context.Context, a *app, opts *BuildsOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	builds, err := svc.ListBuilds(ctx)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, map[string]any{"builds": builds})
	}
	if opts.Quiet {
		for _, b := range builds {
			fmt.Fprintln(a.streams.Out, b.Tag)
		}
		return nil
	}
	t := newTable(a.streams.Out, "TAG", "NAME", "VERSION", "DIGEST", "SIZE", "DESCRIPTION")
	for _, b := range builds {
		t.row(b.Tag, b.Name, b.Version, shortDigest(b.Digest), units.Human(b.Size), truncate(b.Description, 60))
	}
	return t.flush()
}

// BuildsRmOptions are the inputs of "skilldock builds rm".
type BuildsRmOptions struct {
	Tags   []string
	Output string
}

func newBuildsRmCmd(a *app) *cobra.Command {
	opts := &BuildsRmOptions{}
	c := &cobra.Command{
		Use:     "rm TAG...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove local builds and the blobs nothing else uses",
		Long: `Remove the given local-build tags (all of them, or none if one is unknown),
then delete every blob that no remaining tag reaches. Blobs shared with another
tag or build are kept.`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Tags = args
			return runBuildsRm(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runBuildsRm(ctx context.Context, a *app, opts *BuildsRmOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	res, err := svc.DeleteBuilds(ctx, opts.Tags)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, res)
	}
	for _, t := range res.Removed {
		fmt.Fprintf(a.streams.Out, "removed %s\n", t)
	}
	fmt.Fprintf(a.streams.Out, "deleted %d blob(s), %s freed\n", res.GC.BlobsRemoved, units.Human(res.GC.BytesFreed))
	return nil
}
