package errdef

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound: a tag, build, blob, installed skill or remote reference does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the target exists and the caller did not ask to replace it.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalid: input from the user (a folder, a reference, a flag value) is not acceptable.
	ErrInvalid = errors.New("invalid input")
	// ErrLimit: input is larger than a configured limit.
	ErrLimit = errors.New("limit exceeded")
	// ErrCorrupt: stored or received content does not match its digest or is malformed.
	ErrCorrupt = errors.New("corrupt content")
	// ErrUnsupported: content is well-formed but of a kind skilldock does not handle.
	ErrUnsupported = errors.New("unsupported")
	// ErrUnauthorized: the registry or server refused the credentials (or none were given).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUpstream: a registry failed or could not be reached (after retries).
	ErrUpstream = errors.New("registry failure")
	// ErrRateLimited: a registry kept answering 429 Too Many Requests.
	ErrRateLimited = errors.New("rate limited")
)

// UserError carries a one-line message meant for a person, wrapping a
// sentinel above so programs can still classify it.
type UserError struct {
	Kind error
	Msg  string
}

func (e *UserError) Error() string { return e.Msg }
func (e *UserError) Unwrap() error { return e.Kind }

// New returns an error whose text is msg and which matches kind with errors.Is.
func New(kind error, msg string) error { return &UserError{Kind: kind, Msg: msg} }

// Errorf is New with a format string.
func Errorf(kind error, format string, args ...any) error {
	return &UserError{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
