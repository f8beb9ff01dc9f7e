package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"unicode/utf8"

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
		return auth.EmptyCredential, s.failed(ran, "get", server, err)
	}
	return cred, err
}

func (s helperStore) Put(ctx context.Context, server string, cred auth.Credential) error {
	ctx, ran := traceHelper(ctx)
	err := s.Store.Put(ctx, server, cred)
	if err != nil && ran.err != nil {
		return s.failed(ran, "save", server, err)
	}
	return err
}

func (s helperStore) Delete(ctx context.Context, server string) error {
	ctx, ran := traceHelper(ctx)
	err := s.Store.Delete(ctx, server)
	if err != nil && ran.err != nil {
		// Nothing saved is the protocol's answer, not a failure: removing
		// what is not there succeeds, as it does in config.json.
		if err.Error() == helperNotFound {
			return nil
		}
		return s.failed(ran, "remove", server, err)
	}
	return err
}

// helperNotFound is the whole of a helper's stdout, with exit 1, when it
// holds nothing for the server: docker-credential-helpers' ErrCredentialsNotFound,
// which oras-go also matches exactly on get.
const helperNotFound = "credentials not found in native keychain"

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

func (s helperStore) failed(ran *helperRun, verb, server string, err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return &helperError{err: err, msg: fmt.Sprintf(
			"credential helper %s is not on PATH; install it, or remove the \"credsStore\" or \"credHelpers\" entry of %s that names it",
			ran.name, s.config)}
	}
	return &helperError{err: err, msg: fmt.Sprintf(
		"credential helper %s could not %s the credentials for %s: %s; fix the helper, or the \"credsStore\" or \"credHelpers\" entry of %s that names it",
		ran.name, verb, server, helperReason(ran, err), s.config)}
}

// maxHelperReason bounds how much of a helper's answer a message repeats.
const maxHelperReason = 200

// helperReason is what skilldock can safely repeat of why a helper failed:
// the first line of its stdout, which the protocol makes its error message.
// That stdout is also where credentials go, so a helper that misbehaves may
// print them there. The message reaches stderr, API response bodies and the
// server's log, so anything that may hold a credential (JSON, or the word
// "secret" the protocol names the password with) is replaced by how the
// helper ended.
func helperReason(ran *helperRun, err error) string {
	fallback := "it gave no answer skilldock could read"
	var exit *exec.ExitError
	if errors.As(ran.err, &exit) {
		if exit.Exited() {
			fallback = fmt.Sprintf("it exited with status %d", exit.ExitCode())
		} else {
			fallback = "it ended with " + exit.String() // "signal: killed"
		}
	}
	// With nothing on stdout oras-go returns exec's own error: the helper's
	// words, if any, went to stderr, which it shares with skilldock, just
	// above this message.
	if errors.As(err, &exit) {
		return fallback
	}
	reason, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	reason = strings.TrimSpace(reason)
	if reason == "" || mayHoldCredentials(reason) {
		return fallback
	}
	if len(reason) > maxHelperReason {
		cut := maxHelperReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut] + "…"
	}
	return reason
}

// mayHoldCredentials reports whether a helper's line looks like JSON, or a
// piece of it, or names the protocol's "Secret". Error messages of real
// helpers ("keychain is locked", "exit status 1") are plain words.
func mayHoldCredentials(line string) bool {
	return json.Valid([]byte(line)) || strings.ContainsAny(line, "{}[]") || strings.Contains(line, `":`) ||
		strings.Contains(strings.ToLower(line), "secret")
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
