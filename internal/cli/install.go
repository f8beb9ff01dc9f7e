package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/clients"
	"github.com/skilldock/skilldock/internal/service"
)

// InstallOptions are the inputs of "skilldock install".
type InstallOptions struct {
	service.InstallRequest
	Output string
}

func newInstallCmd(a *app) *cobra.Command {
	opts := &InstallOptions{}
	c := &cobra.Command{
		Use:   "install SOURCE",
		Short: "Install a skill where agents read it",
		Long: `Install a skill for one or more agents. SOURCE is a local build tag
(my-skill, my-skill:1.2), a registry reference (pulled through the cache; a
digest-pinned reference already cached needs no network) or a skill folder
(./my-skill, packed exactly as build would).

The skill is extracted beside its target, then swapped into place in one
rename: agents see the old version or the new one, never a mix. Installing the
same digest again changes nothing. A folder skilldock did not install is not
replaced without --force. A registry reference must end in the skill's own
name (…/team/my-skill for a skill named my-skill) unless --allow-name-mismatch.

Installing does not fetch the skills a skill requires (metadata
toolhive.requires): they are recorded, shown by info and list, and a note names
those not installed for the same agents; install them yourself.`,
		Example: `  skilldock install my-skill --client claude-code
  skilldock install ghcr.io/acme/my-skill:1.2 --client all
  skilldock install ./my-skill --scope project --client claude-code,cursor`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Source = args[0]
			return runInstall(c.Context(), a, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Clients, "client", "", `agents to install for: ids separated by commas, or "all" (default: the agents detected on this machine)`)
	f.StringVar(&opts.Scope, "scope", "user", "user (under $HOME) or project")
	f.StringVar(&opts.ProjectRoot, "project-root", "", "project folder for --scope project (default: the enclosing git repository)")
	f.BoolVar(&opts.Force, "force", false, "replace a folder skilldock did not install, or reinstall the same digest")
	f.BoolVar(&opts.AllowNameMismatch, "allow-name-mismatch", false, "install even if the skill's name differs from the repository's last path segment")
	f.StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runInstall(ctx context.Context, a *app, opts *InstallOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	req := opts.InstallRequest
	if looksLikePath(req.Source) {
		req.Source = absPath(req.Source)
	}
	req.ProjectRoot = absPath(req.ProjectRoot)
	if req.Scope == "project" && req.ProjectRoot == "" {
		// The project is the one the user stands in, even when a server
		// with another working directory does the install.
		if wd, err := os.Getwd(); err == nil {
			if root, err := clients.FindProjectRoot(wd); err == nil {
				req.ProjectRoot = root
			} else {
				return err
			}
		}
	}
	res, err := svc.Install(ctx, req)
	if err != nil {
		return err
	}
	if len(res.NotInstalled) > 0 {
		fmt.Fprintf(a.streams.ErrOut, "note: %s requires skills not installed for these agents (skilldock does not install dependencies): %s\n", res.Name, strings.Join(res.NotInstalled, ", "))
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, res)
	}
	for _, o := range res.Installs {
		fmt.Fprintf(a.streams.Out, "%s %s (%s) for %s: %s\n", o.Action, res.Name, shortDigest(res.Digest), strings.Join(o.Clients, ", "), o.Path)
	}
	return nil
}

// ListOptions are the inputs of "skilldock list".
type ListOptions struct {
	service.ListRequest
	Output string
}

func newListCmd(a *app) *cobra.Command {
	opts := &ListOptions{}
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List installed skills",
		Args:    exactArgs(0),
		RunE:    func(c *cobra.Command, args []string) error { return runList(c.Context(), a, opts) },
	}
	c.Flags().StringVar(&opts.Scope, "scope", "", "only this scope: user or project")
	c.Flags().StringVar(&opts.Client, "client", "", "only skills installed for this agent")
	c.Flags().StringVar(&opts.ProjectRoot, "project-root", "", "only skills installed in this project")
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runList(ctx context.Context, a *app, opts *ListOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	req := opts.ListRequest
	req.ProjectRoot = absPath(req.ProjectRoot)
	list, err := svc.List(ctx, req)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, map[string]any{"skills": list})
	}
	t := newTable(a.streams.Out, "NAME", "VERSION", "SCOPE", "CLIENTS", "DIGEST", "PATH")
	for _, in := range list {
		t.row(in.Name, in.Version, in.Scope, strings.Join(in.Clients, ","), shortDigest(in.Digest), in.Path)
	}
	return t.flush()
}

// InfoOptions are the inputs of "skilldock info".
type InfoOptions struct {
	Name   string
	Output string
}

func newInfoCmd(a *app) *cobra.Command {
	opts := &InfoOptions{}
	c := &cobra.Command{
		Use:   "info NAME",
		Short: "Show where a skill is installed, from what, and its files",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			return runInfo(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runInfo(ctx context.Context, a *app, opts *InfoOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	list, err := svc.Info(ctx, opts.Name)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, map[string]any{"installs": list})
	}
	w := a.streams.Out
	for i, in := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Name:         %s\n", printable(in.Name))
		if in.Version != "" {
			fmt.Fprintf(w, "Version:      %s\n", printable(in.Version))
		}
		fmt.Fprintf(w, "Description:  %s\n", printable(in.Description))
		fmt.Fprintf(w, "Scope:        %s\n", in.Scope)
		if in.ProjectRoot != "" {
			fmt.Fprintf(w, "Project:      %s\n", in.ProjectRoot)
		}
		fmt.Fprintf(w, "Clients:      %s\n", strings.Join(in.Clients, ", "))
		fmt.Fprintf(w, "Path:         %s\n", printable(in.Path))
		fmt.Fprintf(w, "Source:       %s\n", printable(in.Source))
		fmt.Fprintf(w, "Digest:       %s\n", in.Digest)
		fmt.Fprintf(w, "Installed:    %s\n", in.InstalledAt.Format("2006-01-02 15:04:05 MST"))
		printList(w, "Requires:     ", in.Requires)
		fmt.Fprintf(w, "Files (%d):\n", len(in.Files))
		for _, f := range in.Files {
			fmt.Fprintf(w, "  %s  %10d  %s\n", f.SHA256[:12], f.Size, printable(f.Path))
		}
	}
	return nil
}

// UninstallOptions are the inputs of "skilldock uninstall".
type UninstallOptions struct {
	service.UninstallRequest
	Output string
}

func newUninstallCmd(a *app) *cobra.Command {
	opts := &UninstallOptions{}
	c := &cobra.Command{
		Use:   "uninstall NAME",
		Short: "Remove an installed skill (only what skilldock installed)",
		Long: `Remove a skill's folders that skilldock installed. With --client, only those
agents are dropped; a folder shared with other agents stays for them. Folders
holding files skilldock did not write are kept unless --force. Symbolic links,
folders outside the agents' skills folders and the home folder are refused.`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			return runUninstall(c.Context(), a, opts)
		},
	}
	c.Flags().StringVar(&opts.Scope, "scope", "", "only this scope: user or project (default: both)")
	c.Flags().StringVar(&opts.Clients, "client", "", "only for these agents (comma-separated)")
	c.Flags().StringVar(&opts.ProjectRoot, "project-root", "", "only the install in this project")
	c.Flags().BoolVar(&opts.Force, "force", false, "also delete files in the folder that skilldock did not install")
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runUninstall(ctx context.Context, a *app, opts *UninstallOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	req := opts.UninstallRequest
	req.ProjectRoot = absPath(req.ProjectRoot)
	out, err := svc.Uninstall(ctx, req)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, map[string]any{"uninstalled": out})
	}
	for _, o := range out {
		if o.Removed {
			fmt.Fprintf(a.streams.Out, "removed %s\n", o.Path)
		} else {
			fmt.Fprintf(a.streams.Out, "kept %s for %s\n", o.Path, strings.Join(o.Clients, ", "))
		}
	}
	return nil
}

// VerifyOptions are the inputs of "skilldock verify".
type VerifyOptions struct {
	Name   string
	Output string
}

func newVerifyCmd(a *app) *cobra.Command {
	opts := &VerifyOptions{}
	c := &cobra.Command{
		Use:   "verify [NAME]",
		Short: "Check installed skills for modified, missing and extra files",
		Long: `Compare every installed file with the digest recorded when it was installed,
and report modified, missing and extra files per skill. Exits 1 when anything
drifted.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("verify takes at most one NAME; usage: %s", c.UseLine())}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			return runVerify(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runVerify(ctx context.Context, a *app, opts *VerifyOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	results, err := svc.Verify(ctx, opts.Name)
	if err != nil {
		return err
	}
	drifted := 0
	for _, r := range results {
		if !r.Clean() {
			drifted++
		}
	}
	if format == outputJSON {
		if err := printJSON(a.streams.Out, map[string]any{"skills": results, "drifted": drifted}); err != nil {
			return err
		}
	} else {
		w := a.streams.Out
		for _, r := range results {
			if r.Clean() {
				fmt.Fprintf(w, "ok        %s  %s\n", printable(r.Name), printable(r.Path))
				continue
			}
			if r.Gone {
				fmt.Fprintf(w, "gone      %s  %s\n", printable(r.Name), printable(r.Path))
				continue
			}
			fmt.Fprintf(w, "drifted   %s  %s\n", printable(r.Name), printable(r.Path))
			for _, p := range r.Modified {
				fmt.Fprintf(w, "  modified  %s\n", printable(p))
			}
			for _, p := range r.Missing {
				fmt.Fprintf(w, "  missing   %s\n", printable(p))
			}
			for _, p := range r.Extra {
				fmt.Fprintf(w, "  extra     %s\n", printable(p))
			}
		}
	}
	if drifted > 0 {
		fmt.Fprintf(a.streams.ErrOut, "skilldock: %d installed skill folder(s) drifted; reinstall with --force to restore them\n", drifted)
		return errSilent
	}
	return nil
}

// ClientsOptions are the inputs of "skilldock clients".
type ClientsOptions struct{ Output string }

func newClientsCmd(a *app) *cobra.Command {
	opts := &ClientsOptions{}
	c := &cobra.Command{
		Use:   "clients",
		Short: "List the agents skilldock installs for, marking those detected here",
		Long: `List the agents skilldock knows and where each reads skills. An agent is
detected when its configuration folder exists. Add agents or override paths in
$XDG_CONFIG_HOME/skilldock/clients.yaml (same format as the built-in table).`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error { return runClients(c.Context(), a, opts) },
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runClients(ctx context.Context, a *app, opts *ClientsOptions) error {
	format, err := parseOutput(opts.Output)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	list, err := svc.Clients(ctx)
	if err != nil {
		return err
	}
	if format == outputJSON {
		return printJSON(a.streams.Out, map[string]any{"clients": list})
	}
	t := newTable(a.streams.Out, "ID", "NAME", "DETECTED", "USER SCOPE", "PROJECT SCOPE")
	for _, c := range list {
		det := "no"
		if c.Detected {
			det = "yes"
		}
		t.row(c.ID, c.Name, det, c.UserDir, c.Project)
	}
	return t.flush()
}
