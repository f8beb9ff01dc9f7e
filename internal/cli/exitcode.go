package cli

import (
	"context"
	"errors"
)

// Exit codes: 0 success, 1 failure, 2 usage error.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// usageError marks a mistake in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// errSilent means the command already printed why it failed.
var errSilent = errors.New("")

// ExitCode maps an error to the process exit code. It is the only place that
// decides one.
func ExitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &u):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return 130
	}
	return ExitFail
}
