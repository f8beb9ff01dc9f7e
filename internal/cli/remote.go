package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/units"
)

// PushOptions are the inputs of "skilldock push".
type PushOptions struct {
	Source, Target string
	Output         string
}

func newPushCmd(a *app) *cobra.Command {
	opts := &PushOptions{}
	c := &cobra.Command{
		Use:   "push [SOURCE] REFERENCE",
		Short: "Push a local build to an OCI registry",
		Long: `Push the local build tagged REFERENCE, or the artifact tagged SOURCE, to the
registry REFERENCE names. Blobs the registry already has are skipped. The digest
pushed is the digest built: the local-build marker never leaves the machine.

With one argument it must be a local build; a pulled copy is pushed only when
named explicitly as SOURCE. Credentials come from "skilldock login" or
"docker login" (~/.docker/config.json, $DOCKER_CONFIG).`,
		Example: `  skilldock build ./my-skill -t ghcr.io/acme/my-skill:1.2 && skilldock push ghcr.io/acme/my-skill:1.2
  skilldock push my-skill:1.2 127.0.0.1:5000/team/my-skill:1.2`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{fmt.Errorf("push takes REFERENCE or SOURCE REFERENCE; usage: %s", c.UseLine())}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Target = args[len(args)-1]
			if len(args) == 2 {
				opts.Source = args[0]
			}
			return runPush(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	c.Flags().BoolVarP(&a.global.Quiet, "quiet", "q", false, "no progress bars (they are shown only on a terminal anyway)")
	return c
}

func runPush(ctx context.Context, a *app, opts *PushOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	res, err := svc.Push(ctx, opts.Source, opts.Target)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, res)
	}
	fmt.Fprintf(a.streams.Out, "pushed %s\t%s\n", res.Reference, res.Digest)
	return nil
}

// PullOptions are the inputs of "skilldock pull".
type PullOptions struct {
	Reference       string
	Output          string
	MaxLayerSize    string
	MaxUncompressed string
}

func newPullCmd(a *app) *cobra.Command {
	opts := &PullOptions{}
	def := service.DefaultPullLimits()
	c := &cobra.Command{
		Use:   "pull REFERENCE",
		Short: "Pull a skill from an OCI registry into the local cache",
		Long: `Copy a skill from a registry into the local store, tagged by its full
reference. Pulled skills are a cache: "skilldock builds" never lists them;
"skilldock cache ls" does. Every blob is checked against its digest before it is
stored. Pulling by digest what the cache already holds needs no network.`,
		Example: `  skilldock pull ghcr.io/acme/my-skill:1.2
  skilldock pull 127.0.0.1:5000/team/my-skill@sha256:4f1c…`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Reference = args[0]
			return runPull(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	c.Flags().BoolVarP(&a.global.Quiet, "quiet", "q", false, "no progress bars (they are shown only on a terminal anyway)")
	c.Flags().StringVar(&opts.MaxLayerSize, "max-layer-size", units.Human(def.MaxLayerSize), "largest compressed layer accepted")
	c.Flags().StringVar(&opts.MaxUncompressed, "max-uncompressed", units.Human(def.MaxUncompressed), "largest uncompressed layer accepted")
	return c
}

func runPull(ctx context.Context, a *app, opts *PullOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	lim := service.DefaultPullLimits()
	if lim.MaxLayerSize, err = units.Parse(opts.MaxLayerSize); err != nil {
		return usageError{fmt.Errorf("--max-layer-size: %w", err)}
	}
	if lim.MaxUncompressed, err = units.Parse(opts.MaxUncompressed); err != nil {
		return usageError{fmt.Errorf("--max-uncompressed: %w", err)}
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	res, err := svc.Pull(ctx, opts.Reference, lim)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, res)
	}
	fmt.Fprintf(a.streams.Out, "pulled %s\t%s\n", res.Tag, res.Digest)
	return nil
}
