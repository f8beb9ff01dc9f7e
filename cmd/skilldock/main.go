// Command skilldock builds, ships and installs AI agent skills as OCI
// artifacts. All behaviour lives in internal/; this file only wires the
// process to the CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/skilldock/skilldock/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
