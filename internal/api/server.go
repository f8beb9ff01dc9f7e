package api

import (
	"context"
	_ "embed"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/service"
)

// Defaults of Config.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultMaxBodyBytes    = 1 << 20
	DefaultShortTimeout    = 30 * time.Second
	DefaultLongTimeout     = 15 * time.Minute
	DefaultShutdownTimeout = 2 * time.Minute
	readHeaderTimeout      = 10 * time.Second
	idleTimeout            = 2 * time.Minute
)

// Config is what a server needs.
type Config struct {
	// Service is the façade every request calls; one value serves all
	// requests, so it must be safe for concurrent use (*service.Service is).
	Service service.API
	// Ready reports whether the server can do its work; /readyz answers
	// 503 while it fails. Nil means always ready.
	Ready func(context.Context) error
	// Logger receives one structured line per request; nil discards.
	Logger *slog.Logger
	// Token, when set, is required as "Authorization: Bearer TOKEN" on every
	// request but the health probes. Serve refuses a non-loopback TCP
	// listener without one.
	Token string
	// AllowHosts are Host header values accepted besides the loopback names
	// of the bound port.
	AllowHosts []string
	// Zero values take the defaults above.
	MaxBodyBytes    int64
	ShortTimeout    time.Duration
	LongTimeout     time.Duration
	ShutdownTimeout time.Duration
}

// Server serves the API for one façade.
type Server struct {
	cfg Config
	svc service.API
	log *slog.Logger
	doc []byte // the OpenAPI document, embedded
}

// New checks the configuration.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil {
		return nil, errors.New("api: no service")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ShortTimeout <= 0 {
		cfg.ShortTimeout = DefaultShortTimeout
	}
	if cfg.LongTimeout <= 0 {
		cfg.LongTimeout = DefaultLongTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	return &Server{cfg: cfg, svc: cfg.Service, log: cfg.Logger, doc: openAPIJSON}, nil
}

//go:generate go test -run TestEmbeddedOpenAPIDocumentIsUpToDate -count=1 . -args -update-openapi

// openAPIJSON is the OpenAPI document, the same for every server: it
// depends on the route table alone. It is generated from that table at
// development time (go generate ./internal/api), not at run time, so that
// the binary does not link the generator; TestEmbeddedOpenAPIDocumentIsUpToDate
// fails when the table and the file part.
//
//go:embed openapi.json
var openAPIJSON []byte

// Handler is the server's handler for a listener bound to addr: the Host
// check depends on the bound port, and is off for a Unix socket.
func (s *Server) Handler(addr net.Addr) http.Handler {
	return s.observe(s.guard(newHostPolicy(addr, s.cfg.AllowHosts), s.router()))
}

// router routes the table, each route under its timeout.
func (s *Server) router() chi.Router {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errdef.Errorf(errNoRoute, "no endpoint %s %s; /api/openapi.json lists them", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errdef.Errorf(errMethod, "%s is not allowed on %s; /api/openapi.json lists the methods", r.Method, r.URL.Path))
	})
	for _, rt := range s.routes() {
		d := s.cfg.ShortTimeout
		if rt.long {
			d = s.cfg.LongTimeout
		}
		h := rt.handle
		if rt.body == nil && rt.method != http.MethodGet {
			h = noBody(h, rt.status != 0)
		}
		r.Method(rt.method, rt.chiPattern(), endpoint(rt.path, d, h))
	}
	return r
}

// HTTPServer is the http.Server that Serve runs for a listener bound to
// addr. Its write timeout covers the short routes; the long ones extend
// their own deadlines. There is no whole-request read timeout: net/http
// would cancel a long route's context when it fired, so each route moves
// the read deadline itself.
func (s *Server) HTTPServer(addr net.Addr) *http.Server {
	return &http.Server{
		Handler:           s.Handler(addr),
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      s.cfg.ShortTimeout + 10*time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve answers requests on l until ctx ends, then stops accepting, lets
// the requests in flight finish (for at most ShutdownTimeout, after which
// their contexts are cancelled) and returns nil.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if tcp, ok := l.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && s.cfg.Token == "" {
		return errdef.Errorf(errdef.ErrInvalid, "refusing to serve on %s without a token: anyone on the network could use it", l.Addr())
	}
	// Requests outlive the signal that ends ctx: they get the grace period.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := s.HTTPServer(l.Addr())
	srv.BaseContext = func(net.Listener) context.Context { return base }
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down; waiting for requests in flight", "grace", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("requests still running after the grace period; cancelling them", "error", err.Error())
		cancelBase()
		_ = srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("stopped")
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, healthStatus{Status: "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			return errdef.Errorf(errNotReady, "not ready: %s", message(err))
		}
	}
	writeJSON(w, http.StatusOK, healthStatus{Status: "ready"})
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(s.doc)
	return err
}
