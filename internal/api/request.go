package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/ref"
)

// decode reads the request body as exactly one JSON value into v. Unknown
// fields are refused: a field this server does not know would otherwise be
// silently dropped, and the caller would believe it had effect.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var maxBytes *http.MaxBytesError
		switch {
		case errors.As(err, &maxBytes):
			return err
		case errors.Is(err, io.EOF):
			return errdef.New(errdef.ErrInvalid, "the request body is empty; send a JSON object (see /api/openapi.json)")
		}
		return errdef.Errorf(errdef.ErrInvalid, "the request body is not the expected JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return err
		}
		return errdef.New(errdef.ErrInvalid, "the request body holds more than one JSON value")
	}
	return nil
}

// noBody guards a route that takes no body. A body sent anyway is read up
// to the limit, so that an oversized one is a 413 as on every other route
// instead of being ignored while the route acts (a streamed body has no
// length for the guard to refuse). On a route that can succeed, a
// non-empty one is refused like an unknown field: the caller meant
// something by it that the route would silently drop. Routes that only
// answer 501 accept the contract's bodies.
func noBody(h handlerFunc, strict bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			var maxBytes *http.MaxBytesError
			if errors.As(err, &maxBytes) {
				return err
			}
			return errdef.Errorf(errdef.ErrInvalid, "reading the request body: %v", err)
		}
		if n > 0 && strict {
			return errdef.Errorf(errdef.ErrInvalid, "%s %s takes no request body; send none", r.Method, r.URL.Path)
		}
		return h(w, r)
	}
}

// checkPath refuses a path the server could read differently from the
// caller: relative (to whose working directory?), unclean ("a/../b" may
// cross a symlink) or holding NUL (truncated by the kernel). Empty is
// refused only when required.
func checkPath(field, p string, required bool) error {
	switch {
	case p == "" && !required:
		return nil
	case p == "":
		return errdef.Errorf(errdef.ErrInvalid, "%s is required: an absolute path on the server's machine", field)
	case strings.ContainsRune(p, 0):
		return errdef.Errorf(errdef.ErrInvalid, "%s must not contain NUL bytes", field)
	case !filepath.IsAbs(p):
		return errdef.Errorf(errdef.ErrInvalid, "%s %q must be an absolute path; the server does not share your working directory", field, p)
	case filepath.Clean(p) != p:
		return errdef.Errorf(errdef.ErrInvalid, "%s %q must be a clean path; send %q", field, p, filepath.Clean(p))
	}
	return nil
}

// parseRefs parses every reference with parse, so that a malformed one is a
// 400 before the façade is called.
func parseRefs(field string, parse func(string) (ref.Reference, error), refs ...string) error {
	for _, s := range refs {
		if s == "" {
			return errdef.Errorf(errdef.ErrInvalid, "%s is required", field)
		}
		if _, err := parse(s); err != nil {
			return err
		}
	}
	return nil
}

// pathParam is a path parameter, unescaped: chi matches on the escaped path
// when the request has one, so that "%2F" can stand inside a tag.
func pathParam(r *http.Request, name string) (string, error) {
	v := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return v, nil
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", errdef.Errorf(errdef.ErrInvalid, "path parameter %s is not correctly escaped", name)
	}
	return u, nil
}

// unsupported refuses a contract field skilldock has no meaning for.
func unsupported(field, why string) error {
	return errdef.Errorf(errdef.ErrUnsupported, "%s is not supported by skilldock: %s; omit it", field, why)
}

// required checks a plain string field.
func required(field, v string) error {
	if v == "" {
		return errdef.Errorf(errdef.ErrInvalid, "%s is required", field)
	}
	if strings.ContainsRune(v, 0) {
		return errdef.Errorf(errdef.ErrInvalid, "%s must not contain NUL bytes", field)
	}
	return nil
}

// oneOf checks an optional enumerated value.
func oneOf(field, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return errdef.Errorf(errdef.ErrInvalid, "%s %q must be one of %s", field, v, strings.Join(allowed, ", "))
}
