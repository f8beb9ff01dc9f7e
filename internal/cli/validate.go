package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// ValidateOptions are the inputs of "skilldock validate".
type ValidateOptions struct {
	Dir    string
	Output string
}

func newValidateCmd(a *app) *cobra.Command {
	opts := &ValidateOptions{}
	c := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a skill folder against the Agent Skills specification",
		Long: `Check a skill folder against the Agent Skills specification.

Errors (exit 1) break the specification: a missing or malformed SKILL.md, a bad
name or description, oversized fields, metadata that is not a map of strings,
symlinks or special files. Warnings (exit 0) are legal but worth a look: fields
outside the specification, allowed-tools written as a list or with commas, a
SKILL.md over 500 lines. "build" runs the same checks.`,
		Example: "  skilldock validate ./my-skill\n  skilldock validate ./my-skill --output json",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return runValidate(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runValidate(ctx context.Context, a *app, opts *ValidateOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	checked, err := svc.Validate(ctx, absPath(opts.Dir))
	if err != nil {
		return err
	}
	r := checked.Report
	if format == outputJSON {
		if err := printJSON(a.streams.Out, r); err != nil {
			return err
		}
	} else {
		for _, e := range r.Errors {
			fmt.Fprintf(a.streams.Out, "error    %s: %s\n", e.Field, e.Message)
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(a.streams.Out, "warning  %s: %s\n", w.Field, w.Message)
		}
		switch {
		case !r.Valid:
			fmt.Fprintf(a.streams.Out, "%s is not a valid skill: %d error(s), %d warning(s)\n", opts.Dir, len(r.Errors), len(r.Warnings))
		default:
			fmt.Fprintf(a.streams.Out, "%s is a valid skill (%d warning(s))\n", opts.Dir, len(r.Warnings))
		}
	}
	if !r.Valid {
		return errSilent
	}
	return nil
}
