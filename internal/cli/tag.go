package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// TagOptions are the inputs of "skilldock tag".
type TagOptions struct {
	Source, Target string
}

func newTagCmd(a *app) *cobra.Command {
	opts := &TagOptions{}
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give a local build another tag",
		Long: `Add TARGET as another name for the artifact tagged SOURCE. A tag of a local
build is a local build too. TARGET may be NAME[:TAG] or a full reference such as
registry.example.com/team/my-skill:1.2, ready to push.`,
		Example: "  skilldock tag my-skill my-skill:stable\n  skilldock tag my-skill:1.2 ghcr.io/acme/my-skill:1.2",
		Args:    exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Source, opts.Target = args[0], args[1]
			return runTag(c.Context(), a, opts)
		},
	}
}

func runTag(ctx context.Context, a *app, opts *TagOptions) error {
	svc, err := a.service()
	if err != nil {
		return err
	}
	target, err := svc.Tag(ctx, opts.Source, opts.Target)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.streams.Out, "tagged %s as %s\n", opts.Source, target)
	return nil
}
