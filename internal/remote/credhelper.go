package remote

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/credentials/trace"
)

// helperStore is the Docker config's credential store with the failures of
// its credential helpers (docker-credential-NAME, named by "credsStore" or
// "credHelpers") put in words. oras-go passes on only the helper's own text
// ("keychain is locked") or exec's, which name neither the program nor what
// it was asked; the fix is in the helper or the config, not the registry, so
// the message must say which.
type helperStore struct {
	credentials.Store
	config string // path of config.json, where the helper is named
}

func (s helperStore) Get(ctx context.Context, server string) (auth.Credential, error) {
	ctx, ran := traceHelper(ctx)
	cred, err := s.Store.Get(ctx, server)
	if err != nil && ran.name != "" {
		// Get does nothing after the helper: an answer that is not
		// credentials JSON is the helper's failure too.
		return auth.EmptyCredential, s.failed(ran.name, "get", server, err)
	}
	return cred, err
}

func (s helperStore) Put(ctx context.Context, server string, cred auth.Credential) error {
	ctx, ran := traceHelper(ctx)
	err := s.Store.Put(ctx, server, cred)
	if err != nil && ran.err != nil {
		return s.failed(ran.name, "save", server, err)
	}
	return err
}

func (s helperStore) Delete(ctx context.Context, server string) error {
	ctx, ran := traceHelper(ctx)
	err := s.Store.Delete(ctx, server)
	if err != nil && ran.err != nil {
		return s.failed(ran.name, "remove", server, err)
	}
	return err
}

// helperRun is what the trace saw of the one helper a store call ran.
type helperRun struct {
	name string
	err  error
}

// traceHelper notes the helper a store call runs, if any. The hooks run on
// the caller's goroutine, before the call returns.
func traceHelper(ctx context.Context) (context.Context, *helperRun) {
	ran := &helperRun{}
	return trace.WithExecutableTrace(ctx, &trace.ExecutableTrace{
		ExecuteStart: func(name, _ string) { ran.name = name },
		ExecuteDone:  func(_, _ string, err error) { ran.err = err },
	}), ran
}

func (s helperStore) failed(helper, verb, server string, err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return &helperError{err: err, msg: fmt.Sprintf(
			"credential helper %s is not on PATH; install it, or remove the \"credsStore\" or \"credHelpers\" entry of %s that names it",
			helper, s.config)}
	}
	reason, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	// With nothing on stdout the helper's words went to stderr, which it
	// shares with skilldock, just above this message.
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		reason = fmt.Sprintf("it exited with status %d", exit.ExitCode())
	}
	return &helperError{err: err, msg: fmt.Sprintf(
		"credential helper %s could not %s the credentials for %s: %s; fix the helper, or the \"credsStore\" or \"credHelpers\" entry of %s that names it",
		helper, verb, server, reason, s.config)}
}

// IsCredentialHelperError reports whether err is a credential helper's
// failure, whose message already says what to fix.
func IsCredentialHelperError(err error) bool {
	var he *helperError
	return errors.As(err, &he)
}

// helperError is a credential helper's failure, whole in one line. It has
// no errdef kind: the registry refused nothing, the machine is misconfigured.
type helperError struct {
	err error
	msg string
}

func (e *helperError) Error() string { return e.msg }
func (e *helperError) Unwrap() error { return e.err }
