package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/go-chi/chi/v5"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/service"
)

func TestStatusForEachKindOfError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{errdef.New(errdef.ErrInvalid, "x"), 400},
		{errdef.New(errdef.ErrUnsupported, "x"), 400},
		{errdef.New(errdef.ErrLimit, "x"), 400},
		{fmt.Errorf("wrapped: %w", errdef.New(errdef.ErrNotFound, "x")), 404},
		{errdef.New(errdef.ErrAlreadyExists, "x"), 409},
		{errdef.New(errdef.ErrUnauthorized, "x"), 401},
		{fmt.Errorf("pull: %w", context.DeadlineExceeded), 504},
		{&errcode.ErrorResponse{StatusCode: 503}, 502},
		{fmt.Errorf("push: %w", &errcode.ErrorResponse{StatusCode: 429}), 429},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, 502},
		{fmt.Errorf("x: %w", syscall.ECONNREFUSED), 502},
		{&http.MaxBytesError{Limit: 1}, 413},
		{errdef.New(errdef.ErrCorrupt, "x"), 500},
		{errors.New("disk on fire"), 500},
	} {
		if got := statusFor(c.err); got != c.want {
			t.Errorf("statusFor(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// TestClientErrorsKeepTheirKind is the round trip statusFor → errorFor: what
// the CLI tests with errors.Is survives the wire.
func TestClientErrorsKeepTheirKind(t *testing.T) {
	for _, kind := range []error{errdef.ErrInvalid, errdef.ErrNotFound, errdef.ErrAlreadyExists, errdef.ErrUnauthorized, context.DeadlineExceeded} {
		sent := errdef.New(kind, "what happened")
		got := errorFor(statusFor(sent), message(sent))
		if !errors.Is(got, kind) || got.Error() != "what happened" {
			t.Errorf("%v came back as %v", kind, got)
		}
	}
	if got := errorFor(500, "boom"); got.Error() != "boom" || errors.Is(got, errdef.ErrInvalid) {
		t.Errorf("500 came back as %#v", got)
	}
}

func TestErrorMessagesCarryNoCredentials(t *testing.T) {
	for _, in := range []string{
		`Get "https://bob:hunter2@registry.example/v2/": EOF`,
		`token request failed: Authorization: Bearer eyJhbGciOi.secret.sig`,
		`auth: basic aHVudGVyMg==`,
		`GET https://registry.example/token?password=hunter2&scope=x failed`,
	} {
		got := message(errors.New(in))
		for _, secret := range []string{"hunter2", "eyJhbGciOi", "aHVudGVyMg"} {
			if strings.Contains(got, secret) {
				t.Errorf("message(%q) = %q still holds a credential", in, got)
			}
		}
	}
	if got := message(errors.New("first line\n\tgoroutine 1 [running]:\nmain.main()")); got != "first line" {
		t.Errorf("a multi-line error was sent whole: %q", got)
	}
}

// TestRouterAndDocumentDescribeTheSameRoutes walks the router and the
// document: neither may have a route the other lacks.
func TestRouterAndDocumentDescribeTheSameRoutes(t *testing.T) {
	svc, err := service.New(service.Config{StorePath: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	err = chi.Walk(s.router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(s.doc, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			rt := route{path: p}
			if strings.HasSuffix(p, "/builds/{tag}") {
				rt.rest = "tag"
			}
			documented[strings.ToUpper(m)+" "+rt.chiPattern()] = true
		}
	}
	for r := range routed {
		if !documented[r] {
			t.Errorf("%s is routed but not documented", r)
		}
	}
	for r := range documented {
		if !routed[r] {
			t.Errorf("%s is documented but not routed", r)
		}
	}
	if len(routed) < 37 {
		t.Errorf("only %d routes", len(routed))
	}
}
