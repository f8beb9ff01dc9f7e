package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// LoginOptions are the inputs of "skilldock login".
type LoginOptions struct {
	Registry      string
	Username      string
	Password      string
	PasswordStdin bool
}

func newLoginCmd(a *app) *cobra.Command {
	opts := &LoginOptions{}
	c := &cobra.Command{
		Use:   "login REGISTRY",
		Short: "Save credentials for a registry in the Docker config",
		Long: `Check a username and password (or token) against REGISTRY and save them where
docker saves them: ~/.docker/config.json or $DOCKER_CONFIG/config.json, or the
credential helper that config names. "docker login" credentials work here too.
Prefer --password-stdin; a password given with -p ends up in shell history.`,
		Example: "  echo \"$TOKEN\" | skilldock login ghcr.io -u me --password-stdin",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Registry = args[0]
			return runLogin(c.Context(), a, opts)
		},
	}
	c.Flags().StringVarP(&opts.Username, "username", "u", "", "user name")
	c.Flags().StringVarP(&opts.Password, "password", "p", "", "password or token (prefer --password-stdin)")
	c.Flags().BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password or token from standard input")
	return c
}

func runLogin(ctx context.Context, a *app, opts *LoginOptions) error {
	if opts.PasswordStdin && opts.Password != "" {
		return usageError{fmt.Errorf("--password and --password-stdin cannot be used together")}
	}
	tty := isTerminal(a.streams.In)
	if opts.Username == "" {
		if !tty {
			return usageError{fmt.Errorf("no username; pass -u USER")}
		}
		fmt.Fprint(a.streams.ErrOut, "Username: ")
		line, err := bufio.NewReader(a.streams.In).ReadString('\n')
		if err != nil && err != io.EOF {
			return err
		}
		opts.Username = strings.TrimSpace(line)
	}
	password := opts.Password
	switch {
	case opts.PasswordStdin:
		b, err := io.ReadAll(io.LimitReader(a.streams.In, 64<<10))
		if err != nil {
			return err
		}
		password = strings.TrimRight(string(b), "\r\n")
	case password == "" && tty:
		fmt.Fprint(a.streams.ErrOut, "Password: ")
		b, err := term.ReadPassword(int(a.streams.In.(*os.File).Fd()))
		fmt.Fprintln(a.streams.ErrOut)
		if err != nil {
			return err
		}
		password = string(b)
	case password == "":
		return usageError{fmt.Errorf("no password; pipe it in with --password-stdin")}
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	if err := svc.Login(ctx, opts.Registry, opts.Username, password); err != nil {
		return err
	}
	fmt.Fprintf(a.streams.Out, "Login succeeded for %s\n", opts.Registry)
	return nil
}

func newLogoutCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logout REGISTRY",
		Short: "Remove saved credentials for a registry",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			svc, err := a.service()
			if err != nil {
				return err
			}
			if err := svc.Logout(c.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.streams.Out, "Removed credentials for %s\n", args[0])
			return nil
		},
	}
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
