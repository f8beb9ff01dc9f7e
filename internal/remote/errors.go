package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	orasdef "oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/skilldock/skilldock/internal/errdef"
)

// classify turns registry and transport errors into skilldock's own, with a
// message that says what to do. It never includes credentials: oras-go's
// errors carry URLs and status codes only.
func (c *Client) classify(registry, what string, err error) error {
	if err == nil {
		return nil
	}
	// A credential helper's failure is the same whichever request needed
	// credentials; the request would only hide it.
	var he *helperError
	if errors.As(err, &he) {
		return he
	}
	var ue *errdef.UserError
	if errors.As(err, &ue) {
		return err
	}
	// Only the caller's own cancellation passes bare. net/http's timeouts
	// also match context.DeadlineExceeded, and need saying what timed out.
	if err == context.Canceled || err == context.DeadlineExceeded {
		return err
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return errdef.Errorf(errdef.ErrUnauthorized, "%s asks for credentials and none are saved for it; run \"skilldock login %s\" (or docker login)", registry, registry)
	}
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			if what == "login" {
				return errdef.Errorf(errdef.ErrUnauthorized, "%s refused the username or password (HTTP 401)", registry)
			}
			if c.refusedIssuedToken(resp) {
				if c.savedNone(resp.URL.Host) {
					return errdef.Errorf(errdef.ErrUnauthorized, "%s asks for credentials and none are saved for it; run \"skilldock login %s\" (or docker login)", registry, registry)
				}
				return errdef.Errorf(errdef.ErrUnauthorized, "%s denied access to %s (HTTP 401: the token it issued grants no access to this repository); check that the repository exists and that your account may read or write it", registry, what)
			}
			return errdef.Errorf(errdef.ErrUnauthorized, "%s refused the saved credentials while %s (HTTP 401); run \"skilldock login %s\"", registry, what, registry)
		case http.StatusForbidden:
			return errdef.Errorf(errdef.ErrUnauthorized, "%s denied access to %s (HTTP 403); check that your account may read or write this repository", registry, what)
		case http.StatusNotFound:
			return errdef.Errorf(errdef.ErrNotFound, "%s not found on %s", what, registry)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			return errdef.Errorf(errdef.ErrRateLimited, "%s kept answering HTTP 429 (too many requests) for %s; wait and try again", registry, what)
		}
		if resp.StatusCode >= 500 {
			return errdef.Errorf(errdef.ErrUpstream, "%s answered HTTP %d for %s: %s", registry, resp.StatusCode, what, firstError(resp))
		}
		// Any other refusal (a tag that is immutable, a manifest the
		// registry will not take) is the registry's answer, not a fault of
		// this machine.
		return errdef.Errorf(errdef.ErrUpstream, "%s refused %s with HTTP %d: %s", registry, what, resp.StatusCode, firstError(resp))
	}
	if errors.Is(err, orasdef.ErrNotFound) {
		return errdef.Errorf(errdef.ErrNotFound, "%s not found on %s", what, registry)
	}
	// Most often a registry with a certificate from a private CA; both ways
	// out are the user's to choose, so name them.
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return errdef.Errorf(errdef.ErrUpstream, "cannot verify the TLS certificate of %s: %v; if a private CA issued it, point SSL_CERT_FILE at that CA's PEM file, or use --insecure to skip verification", registry, certErr.Err)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		hint := "check the address, or use --plain-http for a registry without TLS"
		if c.opts.PlainHTTP || IsLoopback(registry) {
			hint = "check the address and that the registry is running" // already plain HTTP
		}
		return errdef.Errorf(errdef.ErrUpstream, "cannot reach %s: %v; %s", registry, opErr.Err, hint)
	}
	// A request's URL says nothing that what does not already, and an upload's
	// carries the registry's session state: hundreds of characters.
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// refusedIssuedToken reports whether a 401 came from the registry's API, not
// its token server, after the token server had issued a token: the
// credentials (or their absence) were accepted, and the token grants nothing
// on the repository. That is how distribution-based registries answer for
// another account's repository, or one that does not exist. A password the
// token server refuses fails the token request instead, under the token
// server's URL; with HTTP Basic no token is ever issued. oras-go caches the
// scheme only once a token request succeeds, under the host the request
// went to.
func (c *Client) refusedIssuedToken(resp *errcode.ErrorResponse) bool {
	if resp.URL == nil || !isAPIPath(resp.URL.Path) {
		return false
	}
	scheme, err := c.cache.GetScheme(context.Background(), resp.URL.Host)
	return err == nil && scheme == auth.SchemeBearer
}

// isAPIPath reports whether path is the distribution API's base or one of its
// repository endpoints. A token endpoint may share the host and even the
// /v2/ prefix (Quay's realm is /v2/auth), but none of these.
func isAPIPath(path string) bool {
	if path == "/v2/" {
		return true
	}
	if !strings.HasPrefix(path, "/v2/") {
		return false
	}
	for _, sep := range []string{"/manifests/", "/blobs/", "/tags/list", "/referrers/"} {
		if strings.Contains(path, sep) {
			return true
		}
	}
	return false
}

func firstError(resp *errcode.ErrorResponse) string {
	if len(resp.Errors) > 0 {
		return resp.Errors[0].Error()
	}
	return http.StatusText(resp.StatusCode)
}

// transient reports whether trying the same blob again may succeed: broken
// connections, timeouts, server errors that outlived the transport's own
// retries, and bytes that did not match their digest on either side (a
// flaky proxy). The caller's own deadline is not judged here: withRetry
// stops when its context is done, since net/http's timeouts match
// context.DeadlineExceeded too.
func transient(err error) bool {
	var final finalError
	if err == nil || errors.Is(err, context.Canceled) || errors.As(err, &final) {
		return false
	}
	if errors.Is(err, errdef.ErrCorrupt) {
		return true
	}
	var ue *errdef.UserError
	if errors.As(err, &ue) {
		return false
	}
	// A certificate that failed verification fails it again.
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			return true
		}
		// The registry hashed other bytes than were sent: a store blob
		// matches its digest by construction, so they changed on the way.
		for _, e := range resp.Errors {
			if e.Code == errcode.ErrorCodeDigestInvalid {
				return true
			}
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED)
}
