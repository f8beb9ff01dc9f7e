package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/units"
)

// InspectOptions are the inputs of "skilldock inspect".
type InspectOptions struct {
	Tag    string
	Output string
}

func newInspectCmd(a *app) *cobra.Command {
	opts := &InspectOptions{}
	c := &cobra.Command{
		Use:     "inspect TAG",
		Short:   "Show a stored artifact's metadata, platforms, digests and files",
		Example: "  skilldock inspect my-skill\n  skilldock inspect my-skill:1.2 --output json",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Tag = args[0]
			return runInspect(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runInspect(ctx context.Context, a *app, opts *InspectOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	in, err := svc.Inspect(ctx, opts.Tag)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, in)
	}
	w := a.streams.Out
	md := in.Metadata
	kind := "pulled (cache)"
	if in.LocalBuild {
		kind = "local build"
	}
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-14s %s\n", k+":", printable(v))
		}
	}
	field("Tag", in.Tag)
	field("Kind", kind)
	field("Name", md.Name)
	field("Version", md.Version)
	field("Description", md.Description)
	field("License", md.License)
	field("Compatibility", md.Compatibility)
	field("Allowed tools", strings.Join(md.AllowedTools, " "))
	printList(w, fmt.Sprintf("%-14s ", "Requires:"), md.Requires)
	field("Digest", in.Digest)
	field("Media type", in.MediaType)
	field("Size", units.Human(in.Size))
	field("Layer", fmt.Sprintf("%s (%s)", in.Layer.Digest, units.Human(in.Layer.Size)))
	fmt.Fprintln(w, "Platforms:")
	for _, p := range in.Platforms {
		name := "(none)"
		if p.Platform != nil {
			name = p.Platform.OS + "/" + p.Platform.Architecture
			if p.Platform.Variant != "" {
				name += "/" + p.Platform.Variant
			}
		}
		fmt.Fprintf(w, "  %-14s manifest %s  config %s\n", name, p.Manifest.Digest, p.Config.Digest)
	}
	fmt.Fprintf(w, "Files (%d):\n", len(in.Files))
	t := newTable(w, "  SIZE", "MODE", "PATH")
	for _, f := range in.Files {
		mode := "0644"
		if f.Executable {
			mode = "0755"
		}
		t.row("  "+units.Human(f.Size), mode, f.Path)
	}
	return t.flush()
}
