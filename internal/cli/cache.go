package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/units"
)

func newCacheCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		Short: "List and prune pulled skills kept in the local store",
		Args:  exactArgs(0),
		RunE:  func(c *cobra.Command, args []string) error { return c.Help() },
	}
	c.AddCommand(newCacheLsCmd(a), newCachePruneCmd(a))
	return c
}

// CacheLsOptions are the inputs of "skilldock cache ls".
type CacheLsOptions struct{ Output string }

func newCacheLsCmd(a *app) *cobra.Command {
	opts := &CacheLsOptions{}
	c := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List pulled (cached) skills",
		Args:    exactArgs(0),
		RunE:    func(c *cobra.Command, args []string) error { return runCacheLs(c.Context(), a, opts) },
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runCacheLs(ctx context.Context, a *app, opts *CacheLsOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	entries, err := svc.ListCache(ctx)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, map[string]any{"cache": entries})
	}
	t := newTable(a.streams.Out, "REFERENCE", "NAME", "VERSION", "DIGEST", "SIZE")
	for _, e := range entries {
		t.row(e.Reference, e.Name, e.Version, shortDigest(e.Digest), units.Human(e.Size))
	}
	return t.flush()
}

// CachePruneOptions are the inputs of "skilldock cache prune".
type CachePruneOptions struct {
	References []string
	Output     string
}

func newCachePruneCmd(a *app) *cobra.Command {
	opts := &CachePruneOptions{}
	c := &cobra.Command{
		Use:   "prune [REFERENCE...]",
		Short: "Remove pulled skills (all, or those named) and their blobs; builds are never touched",
		RunE: func(c *cobra.Command, args []string) error {
			opts.References = args
			return runCachePrune(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runCachePrune(ctx context.Context, a *app, opts *CachePruneOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	res, err := svc.PruneCache(ctx, opts.References)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, res)
	}
	for _, r := range res.Removed {
		fmt.Fprintf(a.streams.Out, "removed %s\n", r)
	}
	fmt.Fprintf(a.streams.Out, "deleted %d blob(s), %s freed\n", res.GC.BlobsRemoved, units.Human(res.GC.BytesFreed))
	return nil
}
