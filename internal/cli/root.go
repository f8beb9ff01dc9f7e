package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/api"
	"github.com/skilldock/skilldock/internal/remote"
	"github.com/skilldock/skilldock/internal/service"
)

// Version is set at build time with -ldflags.
var Version = "dev"

// globalOptions are flags every command shares.
type globalOptions struct {
	Store     string
	PlainHTTP bool
	Insecure  bool
	Quiet     bool
	Server    string // URL of a "skilldock serve"; empty means $SKILLDOCK_SERVER
	Token     string // its API token; empty means $SKILLDOCK_TOKEN
}

// server is the URL of the server the CLI is a client of, or "".
func (g globalOptions) server() string {
	if g.Server != "" {
		return g.Server
	}
	return os.Getenv("SKILLDOCK_SERVER")
}

// app carries what commands need: streams, global flags and a lazily opened
// service, so "--help" and usage errors never touch the store.
type app struct {
	streams Streams
	global  globalOptions
	svc     service.API
}

// service returns the façade: in process, or the HTTP client of a running
// "skilldock serve" when --server or SKILLDOCK_SERVER is set.
func (a *app) service() (service.API, error) {
	if a.svc != nil {
		return a.svc, nil
	}
	if a.global.Store != "" && a.global.Server != "" {
		return nil, usageError{fmt.Errorf("--store cannot be used with --server: the server uses its own store")}
	}
	// An explicit --store means this machine's store, whatever
	// SKILLDOCK_SERVER says.
	if server := a.global.server(); server != "" && a.global.Store == "" {
		token := a.global.Token
		if token == "" {
			token = os.Getenv("SKILLDOCK_TOKEN")
		}
		c, err := api.NewClient(server, token)
		if err != nil {
			return nil, usageError{err}
		}
		a.svc = c
		return c, nil
	}
	svc, err := a.localService()
	if err != nil {
		return nil, err
	}
	a.svc = svc
	return svc, nil
}

// localService opens the façade in this process.
func (a *app) localService() (*service.Service, error) {
	path := a.global.Store
	if path == "" {
		path = os.Getenv("SKILLDOCK_STORE")
	}
	svc, err := service.New(service.Config{StorePath: path, Remote: remote.Options{
		PlainHTTP: a.global.PlainHTTP,
		Insecure:  a.global.Insecure,
		Progress:  newProgress(a.streams.ErrOut, a.global.Quiet),
		UserAgent: "skilldock/" + Version,
	}})
	if err != nil {
		return nil, err
	}
	return svc, nil
}

// NewRoot builds the command tree.
func NewRoot(streams Streams) *cobra.Command {
	a := &app{streams: streams}
	root := &cobra.Command{
		Use:   "skilldock",
		Short: "Build, ship and install AI agent skills as OCI artifacts",
		Long: `skilldock builds skill folders (a SKILL.md plus scripts, references and assets)
into reproducible OCI artifacts in a local store, ships them through any OCI
registry, and installs them where AI agents read them. "skilldock serve" offers
the same operations as a REST API, and --server runs any command through one.

The store is an OCI image layout at $XDG_DATA_HOME/skilldock/store
(~/.local/share/skilldock/store); --store or SKILLDOCK_STORE picks another.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.PersistentFlags().StringVar(&a.global.Store, "store", "", "path of the local OCI store (default $SKILLDOCK_STORE or ~/.local/share/skilldock/store)")
	pf := root.PersistentFlags()
	pf.BoolVar(&a.global.PlainHTTP, "plain-http", false, "use plain HTTP for registries (loopback registries always do)")
	pf.BoolVar(&a.global.Insecure, "insecure", false, "skip TLS certificate verification for registries")
	pf.StringVar(&a.global.Server, "server", "", "run commands through a \"skilldock serve\" at this URL: http://HOST:PORT or unix:///PATH (default $SKILLDOCK_SERVER)")
	pf.StringVar(&a.global.Token, "token", "", "API token for --server (default $SKILLDOCK_TOKEN)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w; run \"%s --help\" for usage", err, c.CommandPath())}
	})
	root.AddGroup(&cobra.Group{ID: "build", Title: "Build and manage local builds:"})
	for _, c := range []*cobra.Command{
		newValidateCmd(a), newBuildCmd(a), newBuildsCmd(a), newTagCmd(a), newInspectCmd(a),
		newGCCmd(a), newFsckCmd(a),
	} {
		c.GroupID = "build"
		root.AddCommand(c)
	}
	root.AddGroup(&cobra.Group{ID: "registry", Title: "Registries and the pull cache:"})
	for _, c := range []*cobra.Command{
		newPushCmd(a), newPullCmd(a), newContentCmd(a), newCacheCmd(a), newLoginCmd(a), newLogoutCmd(a),
	} {
		c.GroupID = "registry"
		root.AddCommand(c)
	}
	root.AddGroup(&cobra.Group{ID: "install", Title: "Install into agents:"})
	for _, c := range []*cobra.Command{
		newInstallCmd(a), newListCmd(a), newInfoCmd(a), newUninstallCmd(a), newVerifyCmd(a), newClientsCmd(a),
	} {
		c.GroupID = "install"
		root.AddCommand(c)
	}
	root.AddGroup(&cobra.Group{ID: "server", Title: "Serve the API:"})
	serve := newServeCmd(a)
	serve.GroupID = "server"
	root.AddCommand(serve)
	return root
}

// Main runs the CLI and returns the exit code.
func Main(ctx context.Context, args []string, streams Streams) int {
	root := NewRoot(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	// cobra reports unknown commands and arguments as plain errors.
	if msg := err.Error(); strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") {
		err = usageError{err}
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintln(streams.ErrOut, "skilldock: "+firstLine(err.Error()))
	}
	return ExitCode(err)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// exactArgs is cobra.ExactArgs reporting a usage error with the usage line.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%q takes %d argument(s), got %d; usage: %s", c.CommandPath(), n, len(args), c.UseLine())}
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{fmt.Errorf("%q needs at least %d argument(s); usage: %s", c.CommandPath(), n, c.UseLine())}
		}
		return nil
	}
}
