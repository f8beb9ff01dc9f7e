package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/units"
)

// GCOptions are the inputs of "skilldock gc".
type GCOptions struct{ Output string }

func newGCCmd(a *app) *cobra.Command {
	opts := &GCOptions{}
	c := &cobra.Command{
		Use:   "gc",
		Short: "Delete unreachable blobs and leftover temporary files from the store",
		Long: `Delete every blob that no tag reaches and every temporary file left by an
interrupted build or pull. It waits for builds in progress in other processes.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error { return runGC(c.Context(), a, opts) },
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runGC(ctx context.Context, a *app, opts *GCOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	res, err := svc.GC(ctx)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, res)
	}
	fmt.Fprintf(a.streams.Out, "deleted %d blob(s) (%s) and %d temporary file(s)\n", res.BlobsRemoved, units.Human(res.BytesFreed), res.TempRemoved)
	return nil
}

// FsckOptions are the inputs of "skilldock fsck".
type FsckOptions struct{ Output string }

func newFsckCmd(a *app) *cobra.Command {
	opts := &FsckOptions{}
	c := &cobra.Command{
		Use:   "fsck",
		Short: "Verify every blob and every reference in the store",
		Long: `Check that every blob's content matches its digest and that everything
index.json references, down through indexes and manifests to configs and layers,
is present with the right size. Exits 1 and names each problem found.
Unreachable blobs and leftover temporary files are reported but are not
problems: "skilldock gc" removes them.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error { return runFsck(c.Context(), a, opts) },
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runFsck(ctx context.Context, a *app, opts *FsckOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	res, err := svc.Fsck(ctx)
	if err != nil {
		return err
	}
	if format == outputJSON {
		if res.Problems == nil {
			res.Problems = []string{}
		}
		if err := printJSON(a.streams.Out, res); err != nil {
			return err
		}
	} else {
		for _, p := range res.Problems {
			fmt.Fprintf(a.streams.Out, "problem  %s\n", p)
		}
		fmt.Fprintf(a.streams.Out, "%d tag(s), %d blob(s), %d unreachable, %d temporary file(s)\n", res.Tags, res.Blobs, res.Unreachable, res.Temporary)
	}
	if !res.OK() {
		fmt.Fprintf(a.streams.ErrOut, "skilldock: the store at %s has %d problem(s)\n", res.Store, len(res.Problems))
		return errSilent
	}
	return nil
}
