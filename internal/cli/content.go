package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/units"
)

// ContentOptions are the inputs of "skilldock content".
type ContentOptions struct {
	Reference string
	File      string
	Output    string
}

func newContentCmd(a *app) *cobra.Command {
	opts := &ContentOptions{}
	c := &cobra.Command{
		Use:   "content REFERENCE",
		Short: "Preview a skill's instructions and files without installing it",
		Long: `Show a skill's name, description, version, license, the skills it requires,
SKILL.md body and file list. REFERENCE is a local tag (a build or a cached
pull) or a registry reference, which is pulled into the cache first. --file
prints one file.`,
		Example: `  skilldock content ghcr.io/acme/my-skill:1.2
  skilldock content my-skill --file scripts/run.sh
  skilldock content my-skill --output json`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Reference = args[0]
			return runContent(c.Context(), a, opts)
		},
	}
	c.Flags().StringVar(&opts.File, "file", "", "print this file of the skill (path relative to the skill root)")
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runContent(ctx context.Context, a *app, opts *ContentOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	if opts.File != "" {
		return svc.ContentFile(ctx, opts.Reference, opts.File, a.streams.Out)
	}
	c, err := svc.Content(ctx, opts.Reference)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, c)
	}
	w := a.streams.Out
	fmt.Fprintf(w, "Name:         %s\n", printable(c.Name))
	fmt.Fprintf(w, "Description:  %s\n", printable(c.Description))
	if c.Version != "" {
		fmt.Fprintf(w, "Version:      %s\n", printable(c.Version))
	}
	if c.License != "" {
		fmt.Fprintf(w, "License:      %s\n", printable(c.License))
	}
	printList(w, "Requires:     ", c.Requires)
	fmt.Fprintf(w, "Digest:       %s\n", c.Digest)
	fmt.Fprintf(w, "Files (%d):\n", len(c.Files))
	for _, f := range c.Files {
		fmt.Fprintf(w, "  %10s  %s\n", units.Human(f.Size), printable(f.Path))
	}
	fmt.Fprintf(w, "\n%s\n", safeText(strings.TrimSpace(c.Body)))
	return nil
}
