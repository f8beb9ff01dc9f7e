package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/install"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/skill"
	"github.com/skilldock/skilldock/internal/store"
)

// Client is service.API over a running "skilldock serve": each method is
// one request to the extension API, and errors come back as the kinds the
// façade would have returned, so the CLI prints and exits the same way.
type Client struct {
	base   *url.URL // scheme and host requests go to
	server string   // as given, for messages
	token  string
	http   *http.Client
}

var _ service.API = (*Client)(nil)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// NewClient returns a client for baseURL: http://HOST:PORT (https too) or
// unix:///PATH/TO/SOCKET. token, when set, is sent as a bearer token.
func NewClient(baseURL, token string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, errdef.Errorf(errdef.ErrInvalid, "server URL %q is not a URL; expected http://127.0.0.1:8080 or unix:///path/to/socket", baseURL)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	c := &Client{server: baseURL, token: token, http: &http.Client{Transport: transport}}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, errdef.Errorf(errdef.ErrInvalid, "server URL %q must be just scheme, host and port, e.g. http://127.0.0.1:8080", baseURL)
		}
		c.base = &url.URL{Scheme: u.Scheme, Host: u.Host}
	case "unix":
		socket := u.Path
		if u.Host != "" || socket == "" {
			return nil, errdef.Errorf(errdef.ErrInvalid, "server URL %q must be unix:///ABSOLUTE/PATH (three slashes)", baseURL)
		}
		transport.Proxy = nil
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}
		c.base = &url.URL{Scheme: "http", Host: "localhost"}
	default:
		return nil, errdef.Errorf(errdef.ErrInvalid, "server URL %q: scheme must be http, https or unix", baseURL)
	}
	return c, nil
}

// errorFor turns an error answer back into the error the façade returned:
// the message is the server's, the kind follows from the status. It is the
// inverse of statusFor.
func errorFor(status int, msg string) error {
	var kind error
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		kind = errdef.ErrInvalid
	case http.StatusUnauthorized, http.StatusForbidden:
		kind = errdef.ErrUnauthorized
	case http.StatusNotFound:
		kind = errdef.ErrNotFound
	case http.StatusConflict:
		kind = errdef.ErrAlreadyExists
	case http.StatusRequestEntityTooLarge:
		kind = errdef.ErrLimit
	case http.StatusNotImplemented:
		kind = errdef.ErrUnsupported
	case http.StatusGatewayTimeout:
		kind = context.DeadlineExceeded
	case http.StatusBadGateway:
		kind = errdef.ErrUpstream
	case http.StatusTooManyRequests:
		kind = errdef.ErrRateLimited
	default:
		return errors.New(msg)
	}
	return errdef.New(kind, msg)
}

// do sends one request. in, when not nil, is the JSON body; out, when not
// nil, receives the JSON answer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the answer of %s %s from %s: %w", method, path, c.server, err)
	}
	return nil
}

// send returns a successful response, or the error an unsuccessful one
// stands for.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	// path is already escaped (a name may hold "%2F").
	target := c.base.String() + path
	if q := query.Encode(); q != "" {
		target += "?" + q
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach the skilldock server at %s (is \"skilldock serve\" running?): %w", c.server, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var msg string
	if json.Unmarshal(b, &msg) != nil || msg == "" {
		msg = fmt.Sprintf("the server at %s answered %s: %s", c.server, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil, errorFor(resp.StatusCode, msg)
}

func (c *Client) Validate(ctx context.Context, dir string) (*skill.Checked, error) {
	var out skill.Checked
	if err := c.do(ctx, "POST", extPrefix+"/validate", nil, validateRequest{Dir: dir}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) Build(ctx context.Context, req service.BuildRequest) (*service.BuildResult, error) {
	// The timestamps are the caller's choice: SOURCE_DATE_EPOCH in the
	// CLI's environment, not the server's.
	if req.Epoch == nil {
		epoch, err := service.SourceDateEpoch()
		if err != nil {
			return nil, err
		}
		req.Epoch = &epoch
	}
	var out buildResponse
	if err := c.do(ctx, "POST", extPrefix+"/build", nil, req, &out); err != nil {
		return nil, err
	}
	out.BuildResult.Metadata = out.Metadata
	return out.BuildResult, nil
}

func (c *Client) ListBuilds(ctx context.Context) ([]service.LocalBuild, error) {
	var out []service.LocalBuild
	return out, c.do(ctx, "GET", extPrefix+"/builds", nil, nil, &out)
}

func (c *Client) DeleteBuilds(ctx context.Context, tags []string) (*service.DeleteResult, error) {
	var out service.DeleteResult
	if err := c.do(ctx, "POST", extPrefix+"/builds/delete", nil, deleteBuildsRequest{Tags: tags}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) Tag(ctx context.Context, src, dst string) (string, error) {
	var out tagResponse
	err := c.do(ctx, "POST", extPrefix+"/tag", nil, tagRequest{Source: src, Target: dst}, &out)
	return out.Tag, err
}

func (c *Client) Inspect(ctx context.Context, tag string) (*service.Inspection, error) {
	var out service.Inspection
	if err := c.do(ctx, "GET", extPrefix+"/inspect", url.Values{"tag": {tag}}, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) GC(ctx context.Context) (store.GCResult, error) {
	var out store.GCResult
	err := c.do(ctx, "POST", extPrefix+"/gc", nil, nil, &out)
	return out, err
}

func (c *Client) Fsck(ctx context.Context) (service.FsckReport, error) {
	var out service.FsckReport
	err := c.do(ctx, "GET", extPrefix+"/fsck", nil, nil, &out)
	return out, err
}

func (c *Client) Push(ctx context.Context, src, dst string) (*service.PushResult, error) {
	var out service.PushResult
	if err := c.do(ctx, "POST", extPrefix+"/push", nil, pushRequest{Source: src, Target: dst}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) Pull(ctx context.Context, reference string, lim service.PullLimits) (*service.PullResult, error) {
	var out service.PullResult
	if err := c.do(ctx, "POST", extPrefix+"/pull", nil, pullRequest{Reference: reference, Limits: lim}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) Content(ctx context.Context, reference string) (*service.SkillContent, error) {
	out := contentResponse{SkillContent: &service.SkillContent{}}
	if err := c.do(ctx, "GET", extPrefix+"/content", url.Values{"ref": {reference}}, nil, &out); err != nil {
		return nil, err
	}
	out.SkillContent.Reference, out.SkillContent.Digest = out.Reference, out.Digest
	return out.SkillContent, nil
}

func (c *Client) ContentFile(ctx context.Context, reference, file string, w io.Writer) error {
	resp, err := c.send(ctx, "GET", extPrefix+"/content/file", url.Values{"ref": {reference}, "path": {file}}, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("downloading %s of %s from %s: %w", file, reference, c.server, err)
	}
	return nil
}

func (c *Client) ListCache(ctx context.Context) ([]service.CacheEntry, error) {
	var out []service.CacheEntry
	return out, c.do(ctx, "GET", extPrefix+"/cache", nil, nil, &out)
}

func (c *Client) PruneCache(ctx context.Context, refs []string) (*service.PruneResult, error) {
	var out service.PruneResult
	if err := c.do(ctx, "POST", extPrefix+"/cache/prune", nil, pruneRequest{References: refs}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) Login(ctx context.Context, registry, username, password string) error {
	return c.do(ctx, "POST", extPrefix+"/login", nil, loginRequest{Registry: registry, Username: username, Password: password}, nil)
}

func (c *Client) Logout(ctx context.Context, registry string) error {
	return c.do(ctx, "POST", extPrefix+"/logout", nil, logoutRequest{Registry: registry}, nil)
}

func (c *Client) Install(ctx context.Context, req service.InstallRequest) (*service.InstallResult, error) {
	var out service.InstallResult
	if err := c.do(ctx, "POST", extPrefix+"/install", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) List(ctx context.Context, req service.ListRequest) ([]records.Install, error) {
	q := url.Values{}
	for k, v := range map[string]string{"name": req.Name, "scope": req.Scope, "client": req.Client, "project_root": req.ProjectRoot} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out []records.Install
	return out, c.do(ctx, "GET", extPrefix+"/installs", q, nil, &out)
}

func (c *Client) Info(ctx context.Context, name string) ([]records.Install, error) {
	var out []records.Install
	return out, c.do(ctx, "GET", extPrefix+"/installs/"+url.PathEscape(name), nil, nil, &out)
}

func (c *Client) Uninstall(ctx context.Context, req service.UninstallRequest) ([]install.RemoveOutcome, error) {
	var out []install.RemoveOutcome
	return out, c.do(ctx, "POST", extPrefix+"/uninstall", nil, req, &out)
}

func (c *Client) Verify(ctx context.Context, name string) ([]service.VerifyResult, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	var out []service.VerifyResult
	return out, c.do(ctx, "GET", extPrefix+"/verify", q, nil, &out)
}

func (c *Client) Clients(ctx context.Context) ([]service.ClientInfo, error) {
	var out []service.ClientInfo
	return out, c.do(ctx, "GET", extPrefix+"/clients", nil, nil, &out)
}
