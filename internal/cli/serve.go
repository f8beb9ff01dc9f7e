package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/skilldock/skilldock/internal/api"
)

// ServeOptions are the inputs of "skilldock serve".
type ServeOptions struct {
	Addr       string
	Socket     string
	TokenFile  string
	AllowHosts []string
	addrSet    bool
}

func newServeCmd(a *app) *cobra.Command {
	opts := &ServeOptions{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the skills REST API (and the CLI's own API) over HTTP",
		Long: `Serve the skills REST API of ToolHive under /api/v1beta/skills, and the
extension API under /api/skilldock/v1 that every CLI command can use: run
"skilldock --server http://127.0.0.1:8080 builds" (or set SKILLDOCK_SERVER) and
the command goes through the server with the same output and exit code.
/api/openapi.json describes every route; /healthz and /readyz are probes.

The server listens on 127.0.0.1:8080 unless --addr or --socket says otherwise,
and only answers requests whose Host header names it (127.0.0.1, localhost or
[::1] on its port, or a name given with --allow-host), so a web page cannot
reach it through DNS rebinding. It sends no CORS headers, refuses cross-site
browser requests and bodies that are not application/json.

On a non-loopback address every request needs "Authorization: Bearer TOKEN":
the token is read from --token-file, or generated and printed once to standard
error. A Unix socket (--socket) is created with mode 0600 and needs no token.

SIGINT or SIGTERM stops accepting connections, lets requests in flight finish
(at most 2 minutes) and exits 0. Logs go to standard error, one line per
request, with the request's X-Request-Id.`,
		Example: `  skilldock serve
  skilldock serve --socket $XDG_RUNTIME_DIR/skilldock.sock
  skilldock serve --addr 0.0.0.0:8080 --token-file ~/.config/skilldock/token --allow-host skills.internal
  curl -s http://127.0.0.1:8080/api/v1beta/skills/builds`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			opts.addrSet = c.Flags().Changed("addr")
			return runServe(c.Context(), a, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Addr, "addr", api.DefaultAddr, "TCP address to listen on, HOST:PORT (port 0 picks a free one)")
	f.StringVar(&opts.Socket, "socket", "", "listen on this Unix socket instead (mode 0600)")
	f.StringVar(&opts.TokenFile, "token-file", "", "file holding the API token to require (default: none on loopback, generated otherwise)")
	f.StringArrayVar(&opts.AllowHosts, "allow-host", nil, "also accept this Host header, NAME or NAME:PORT (repeatable)")
	return c
}

func runServe(ctx context.Context, a *app, opts *ServeOptions) error {
	switch {
	case a.global.Server != "":
		return usageError{fmt.Errorf("serve runs a server; --server is for the commands that use one")}
	case a.global.Token != "":
		return usageError{fmt.Errorf("serve takes its token from --token-file, not --token (a command line is visible to other users)")}
	case opts.addrSet && opts.Socket != "":
		return usageError{fmt.Errorf("--addr and --socket cannot be used together")}
	}
	token := ""
	if opts.TokenFile != "" {
		var err error
		if token, err = readToken(a, opts.TokenFile); err != nil {
			return err
		}
	}
	// Many requests at once would draw progress bars over each other.
	a.global.Quiet = true
	svc, err := a.localService()
	if err != nil {
		return err
	}
	l, err := api.Listen(opts.Addr, opts.Socket)
	if err != nil {
		return err
	}
	defer l.Close()
	if token == "" && !api.IsLoopback(l.Addr()) {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		token = hex.EncodeToString(b[:])
		fmt.Fprintf(a.streams.ErrOut, "skilldock: %s is not loopback, so every request needs this token (shown once; send \"Authorization: Bearer TOKEN\", or use --token / SKILLDOCK_TOKEN):\n%s\n", l.Addr(), token)
	}
	srv, err := api.New(api.Config{
		Service:    svc,
		Ready:      func(context.Context) error { _, err := svc.Store().Index(); return err },
		Logger:     slog.New(slog.NewTextHandler(a.streams.ErrOut, nil)),
		Token:      token,
		AllowHosts: opts.AllowHosts,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.streams.ErrOut, "skilldock: listening on %s (store %s)\n", api.URL(l.Addr()), svc.Store().Root())
	return srv.Serve(ctx, l)
}

// readToken reads the token file: its first line, which must not be empty.
func readToken(a *app, path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", usageError{fmt.Errorf("--token-file: %w", err)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usageError{fmt.Errorf("--token-file: %w", err)}
	}
	token, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	token = strings.TrimSpace(token)
	if token == "" {
		return "", usageError{fmt.Errorf("--token-file %s is empty; write a long random token into it, e.g. with: openssl rand -hex 32 > %s", path, path)}
	}
	if info.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(a.streams.ErrOut, "skilldock: warning: %s is readable by other users; chmod 600 it\n", path)
	}
	return token, nil
}
