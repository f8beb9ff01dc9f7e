package remote

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/skilldock/skilldock/internal/ref"
)

// Options configure how registries are reached.
type Options struct {
	// PlainHTTP forces http:// for every registry. Loopback registries use
	// plain HTTP whatever this says.
	PlainHTTP bool
	// Insecure skips TLS certificate verification. Only when asked.
	Insecure bool
	// Credentials overrides the Docker config credential store (tests).
	Credentials credentials.Store
	// Timeout bounds connecting, waiting for response headers, and any
	// pause of a body in either direction; bodies stream for as long as they
	// make progress.
	Timeout time.Duration
	// Attempts is how many times one request, or one blob transfer, is tried
	// before giving up.
	Attempts int
	// Progress, when set, is told about every blob moved.
	Progress Progress
	// UserAgent names the client to registries.
	UserAgent string
}

// Client talks to registries. It is safe for concurrent use.
type Client struct {
	opts   Options
	http   *http.Client
	cache  auth.Cache
	creds  credentials.Store
	lookup auth.CredentialFunc // creds, as the auth client asks them

	// noneSaved notes, per registry host, whether the credentials last
	// looked up for it were none. A 401 after a token was issued means
	// "log in" or "denied" depending on it, and the lookup that got the
	// token is the one to ask: running a helper again would repeat its
	// prompt, and run once more for every blob that failed.
	mu        sync.Mutex
	noneSaved map[string]bool
}

// New builds a client; credentials come from the Docker config
// (~/.docker/config.json or $DOCKER_CONFIG/config.json) and its helpers.
func New(opts Options) (*Client, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Attempts == 0 {
		opts.Attempts = 4
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "skilldock"
	}
	creds := opts.Credentials
	if creds == nil {
		ds, err := credentials.NewStoreFromDocker(credentials.StoreOptions{AllowPlaintextPut: true, DetectDefaultNativeStore: true})
		if err != nil {
			return nil, err
		}
		creds = helperStore{Store: ds, config: ds.ConfigPath()}
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		ExpectContinueTimeout: time.Second,
		// The system pool honours SSL_CERT_FILE and SSL_CERT_DIR, so a custom
		// CA needs no flag of its own.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: opts.Insecure, MinVersion: tls.VersionTLS12},
	}
	return &Client{
		opts: opts,
		// Outermost first: notes for withRetry, retries of whole requests,
		// a deadline on bodies that stop moving, the network.
		http: &http.Client{Transport: noteTransport{next: &retry.Transport{
			Base:   stallGuard{base: base, idle: opts.Timeout},
			Policy: transportPolicy(opts.Attempts),
		}}},
		cache:     auth.NewCache(),
		creds:     creds,
		lookup:    credentials.Credential(creds),
		noneSaved: map[string]bool{},
	}, nil
}

// repository returns a handle on one repository of a registry.
func (c *Client) repository(r ref.Reference) (*remote.Repository, error) {
	repo, err := remote.NewRepository(r.Registry + "/" + r.Repository)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = c.opts.PlainHTTP || IsLoopback(r.Registry)
	repo.Client = c.authClient()
	return repo, nil
}

func (c *Client) authClient() *auth.Client {
	h := http.Header{}
	h.Set("User-Agent", c.opts.UserAgent)
	return &auth.Client{
		Client:     c.http,
		Header:     h,
		Cache:      c.cache,
		Credential: c.credential,
	}
}

// credential looks up the saved credentials for host and notes whether
// there were none. A lookup that failed is no evidence either way.
func (c *Client) credential(ctx context.Context, host string) (auth.Credential, error) {
	cred, err := c.lookup(ctx, host)
	c.mu.Lock()
	c.noneSaved[host] = err == nil && cred == auth.EmptyCredential
	c.mu.Unlock()
	return cred, err
}

// savedNone reports whether the last lookup of credentials for host, the one
// behind its latest token, found none saved.
func (c *Client) savedNone(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.noneSaved[host]
}

// IsLoopback reports whether host[:port] names this machine: 127.0.0.0/8,
// ::1 or localhost. Those registries are reached over plain HTTP.
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
