// Package httpserver is the daemon's HTTP server scaffolding: health and
// readiness probes, per-route Prometheus metrics, and the middleware every
// route gets.
//
// Routes use Go 1.22 ServeMux patterns ("GET /api/offers/{id}"). Each request
// gets, outermost first:
//
//   - the security headers on whatever reply goes out, set as the header is
//     sent so no handler can forget or overwrite them: Cache-Control
//     no-store, Referrer-Policy no-referrer, X-Content-Type-Options nosniff,
//     X-Frame-Options DENY and a Content-Security-Policy frame-ancestors
//     'none' (see headers.go);
//   - a request id: the client's X-Request-Id when it is sane, a fresh one
//     otherwise, echoed in the response and available as RequestID(ctx);
//   - one JSON access log line: method, route pattern, path, status,
//     duration, bytes, request id. Never the query string: client links
//     carry their signed token there. Probe and scrape requests log at debug;
//   - per-route metrics, labelled by pattern, never by raw path, so clients
//     cannot create time series;
//   - panic recovery: the panic is logged with its stack and the client gets
//     a 500 JSON error; the server keeps serving.
//
// /healthz answers 200 "ok" while the process runs (liveness). /readyz runs
// the caller's checks and answers 200 with them all, or 503 with the failing
// ones (readiness); it also answers 503 once shutdown has begun, so a load
// balancer drains the instance before it stops. /metrics (MetricsPath) is
// not served by New: the scrape names plugins, routes and rates, so the
// caller serves it on a private listener or behind a token.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/upsell-io/upsell/internal/obs"
)

// Server timeouts. ReadHeaderTimeout bounds slow-loris clients; the write
// timeout leaves room for handlers that call a provisioning API.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10

	// DefaultShutdownTimeout is how long Run waits for in-flight requests.
	DefaultShutdownTimeout = 15 * time.Second
	// DefaultReadyTimeout bounds one run of the readiness checks: a probe
	// that hangs is as bad as one that fails.
	DefaultReadyTimeout = 5 * time.Second

	// MetricsPath is the route Prometheus scrapes.
	MetricsPath = "GET /metrics"
)

// CheckResult is the outcome of one readiness check.
type CheckResult struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Options configure a Server.
type Options struct {
	// Listen is the address Run listens on, e.g. "127.0.0.1:8080".
	Listen string
	// Logger receives access and error logs; nil discards them.
	Logger *slog.Logger
	// Metrics records per-route metrics; nil disables them. New does not
	// serve them: the caller mounts Metrics.Handler() on MetricsPath, on a
	// private listener or behind a token.
	Metrics *obs.Metrics
	// Ready runs the readiness checks; nil means always ready. It gets a
	// context bounded by ReadyTimeout.
	Ready func(ctx context.Context) []CheckResult
	// ReadyTimeout bounds Ready; 0 means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown; 0 means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Server is the daemon's HTTP server. Create it with New, add routes with
// Handle, then Run it.
type Server struct {
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	handler  http.Handler
	draining atomic.Bool
}

// New returns a server with /healthz and /readyz. It does not serve
// /metrics: where the scrape is served, and to whom, is the caller's choice
// (MetricsPath), made once for the whole process.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	s.handler = withSecurityHeaders(s.withRequestID(s.withAccessLog(s.withRecovery(s.mux))))

	s.Handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.Handle("GET /readyz", http.HandlerFunc(s.readyz))
	return s
}

// Handle registers h for a ServeMux pattern ("POST /api/links",
// "GET /api/offers/{id}"). Like ServeMux.Handle it panics on an invalid or
// conflicting pattern: that is a programming error. It may be called while
// the server runs.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, recordRoute(h))
}

// HandleFunc registers f for a pattern; see Handle.
func (s *Server) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(f))
}

// Handler returns the routes wrapped in the middleware, for tests and for
// serving on a listener of the caller's.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on Options.Listen and serves until ctx is cancelled, then shuts
// down gracefully. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("http: listen on %s: %w", s.opts.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled, then stops accepting, marks the
// server not ready, and waits up to ShutdownTimeout for in-flight requests.
// It closes ln. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// Requests keep the values of ctx but not its cancellation: in-flight
		// requests must be allowed to finish during graceful shutdown.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("http server listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		// Serve only returns early on a listener failure.
		return fmt.Errorf("http: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	s.draining.Store(true)
	s.log.Info("http server shutting down", "timeout", s.opts.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// In-flight requests outlived the timeout: cut them off.
		closeErr := srv.Close()
		return errors.Join(fmt.Errorf("http: graceful shutdown: %w", err), closeErr)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: serve: %w", err)
	}
	s.log.Info("http server stopped")
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyResponse is /readyz's body.
type readyResponse struct {
	Status string        `json:"status"`
	Checks []CheckResult `json:"checks"`
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, readyResponse{
			Status: "not ready",
			Checks: []CheckResult{{Name: "server", OK: false, Detail: "shutting down"}},
		})
		return
	}
	checks := []CheckResult{}
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.ReadyTimeout)
		checks = append(checks, s.opts.Ready(ctx)...)
		cancel()
	}
	var failing []CheckResult
	for _, c := range checks {
		if !c.OK {
			failing = append(failing, c)
		}
	}
	if len(failing) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, readyResponse{Status: "not ready", Checks: failing})
		return
	}
	writeJSON(w, http.StatusOK, readyResponse{Status: "ready", Checks: checks})
}

// writeJSON writes v as the response. Encoding these fixed types cannot fail;
// a write error means the client went away, which is nobody's to handle.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
