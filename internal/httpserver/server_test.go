package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/upsell-io/upsell/internal/obs"
)

// logBuffer is a bytes.Buffer safe for the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records decodes the JSON log lines.
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, rec)
	}
	return out
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// accessLines returns the access log records.
func (b *logBuffer) accessLines(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, rec := range b.records(t) {
		if rec["msg"] == "http request" {
			out = append(out, rec)
		}
	}
	return out
}

func newTestServer(t *testing.T, level string, opts Options) (*Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Logger = obs.NewLogger(logs, level, "json")
	return New(opts), logs
}

// serve runs one request through the full middleware chain synchronously,
// so that the access log line is written when it returns.
func serve(s *Server, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestHealthz(t *testing.T) {
	s, _ := newTestServer(t, "info", Options{})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := serve(s, method, "/healthz", nil)
		if rec.Code != http.StatusOK {
			t.Errorf("%s /healthz = %d", method, rec.Code)
		}
		if method == http.MethodGet && rec.Body.String() != "ok\n" {
			t.Errorf("GET /healthz body %q", rec.Body.String())
		}
	}
	if rec := serve(s, http.MethodPost, "/healthz", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", rec.Code)
	}
}

func TestReadyz(t *testing.T) {
	ok := func(name string) CheckResult { return CheckResult{Name: name, OK: true} }
	tests := []struct {
		name       string
		ready      func(context.Context) []CheckResult
		wantStatus int
		wantBody   readyResponse
	}{
		{
			name:       "no checks",
			wantStatus: http.StatusOK,
			wantBody:   readyResponse{Status: "ready", Checks: []CheckResult{}},
		},
		{
			name: "all ok",
			ready: func(context.Context) []CheckResult {
				return []CheckResult{ok("database"), ok("plugin microupsell")}
			},
			wantStatus: http.StatusOK,
			wantBody:   readyResponse{Status: "ready", Checks: []CheckResult{ok("database"), ok("plugin microupsell")}},
		},
		{
			name: "a plugin gave up",
			ready: func(context.Context) []CheckResult {
				return []CheckResult{
					ok("database"),
					{Name: "plugin microupsell", OK: false, Detail: "gave up after 5 restarts"},
				}
			},
			wantStatus: http.StatusServiceUnavailable,
			wantBody: readyResponse{Status: "not ready", Checks: []CheckResult{
				{Name: "plugin microupsell", OK: false, Detail: "gave up after 5 restarts"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, "info", Options{Ready: tt.ready})
			rec := serve(s, http.MethodGet, "/readyz", nil)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got readyResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body.String(), err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.wantBody)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("body %s, want %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestReadyChecksGetABoundedContext(t *testing.T) {
	var hadDeadline bool
	s, _ := newTestServer(t, "info", Options{Ready: func(ctx context.Context) []CheckResult {
		_, hadDeadline = ctx.Deadline()
		return nil
	}})
	serve(s, http.MethodGet, "/readyz", nil)
	if !hadDeadline {
		t.Error("Ready's context has no deadline; a hanging check would hang the probe")
	}
}

func TestMetricsPerRoute(t *testing.T) {
	m := obs.NewMetrics()
	s, _ := newTestServer(t, "info", Options{Metrics: m})
	s.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	// New records metrics but never serves them unasked.
	if rec := serve(s, http.MethodGet, "/metrics", nil); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "upsell_") {
		t.Fatalf("/metrics served without being mounted: %d %s", rec.Code, rec.Body)
	}
	s.Handle(MetricsPath, m.Handler())
	serve(s, http.MethodGet, "/healthz", nil)
	serve(s, http.MethodGet, "/items/1", nil)
	serve(s, http.MethodGet, "/items/2", nil)
	serve(s, http.MethodGet, "/no/such/path", nil)

	rec := serve(s, http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`upsell_http_requests_total{code="200",route="GET /healthz"} 1`,
		`upsell_http_requests_total{code="418",route="GET /items/{id}"} 2`, // by pattern, not path
		`upsell_http_requests_total{code="404",route="unmatched"} 2`,       // with the /metrics before mounting
		`upsell_http_request_duration_seconds_count{route="GET /items/{id}"} 2`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "/items/1") {
		t.Error("a raw path became a label value")
	}

}

func TestRequestID(t *testing.T) {
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{"echoed", "3f2c6a1e-7b44-4d2e-9a51-0c8e1f6b2d77", true},
		{"generated when absent", "", false},
		{"replaced when it could forge log lines", "abc\" injected=1", false},
		{"replaced when too long", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := newTestServer(t, "info", Options{})
			var seen string
			s.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
				seen = RequestID(r.Context())
			})
			header := http.Header{}
			if tt.incoming != "" {
				header.Set(RequestIDHeader, tt.incoming)
			}
			rec := serve(s, http.MethodGet, "/whoami", header)
			got := rec.Header().Get(RequestIDHeader)
			if tt.keep && got != tt.incoming {
				t.Errorf("response id %q, want the incoming %q", got, tt.incoming)
			}
			if !tt.keep && !generated.MatchString(got) {
				t.Errorf("response id %q is not a generated id", got)
			}
			if seen != got {
				t.Errorf("RequestID(ctx) = %q, response header %q", seen, got)
			}
			lines := logs.accessLines(t)
			if len(lines) != 1 || lines[0]["request_id"] != got {
				t.Errorf("access log %v does not carry request id %q", lines, got)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	s, logs := newTestServer(t, "info", Options{})
	s.HandleFunc("GET /links/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	})
	serve(s, http.MethodGet, "/links/42?token=SIGNED-LINK-TOKEN&sig=abc", nil)
	serve(s, http.MethodGet, "/healthz", nil) // debug level: not logged at info

	lines := logs.accessLines(t)
	if len(lines) != 1 {
		t.Fatalf("got %d access lines, want 1 (probes log at debug):\n%s", len(lines), logs)
	}
	line := lines[0]
	for key, want := range map[string]any{
		"method": "GET",
		"route":  "GET /links/{id}",
		"path":   "/links/42",
		"status": float64(200),
		"bytes":  float64(5),
		"level":  "INFO",
	} {
		if line[key] != want {
			t.Errorf("%s = %v, want %v", key, line[key], want)
		}
	}
	if _, ok := line["duration"].(float64); !ok {
		t.Errorf("duration = %v, want a number", line["duration"])
	}
	if out := logs.String(); strings.Contains(out, "SIGNED-LINK-TOKEN") || strings.Contains(out, "sig=") {
		t.Errorf("the query string reached the log:\n%s", out)
	}

	debugServer, debugLogs := newTestServer(t, "debug", Options{})
	serve(debugServer, http.MethodGet, "/healthz", nil)
	if lines := debugLogs.accessLines(t); len(lines) != 1 || lines[0]["level"] != "DEBUG" {
		t.Errorf("probe access line at debug = %v", lines)
	}
}

func TestPanicRecovery(t *testing.T) {
	s, logs := newTestServer(t, "info", Options{Metrics: obs.NewMetrics()})
	s.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) {
		panic("nil map somewhere")
	})

	rec := serve(s, http.MethodGet, "/boom", http.Header{RequestIDHeader: {"req-1"}})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	var body errorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("500 body %q is not JSON: %v", rec.Body.String(), err)
	}
	if body.Error != "internal server error" || body.RequestID != "req-1" {
		t.Errorf("500 body = %+v", body)
	}
	if strings.Contains(rec.Body.String(), "nil map") {
		t.Error("the panic value reached the client")
	}

	var panicLine, accessLine map[string]any
	for _, r := range logs.records(t) {
		switch r["msg"] {
		case "http handler panicked":
			panicLine = r
		case "http request":
			accessLine = r
		}
	}
	if panicLine == nil || panicLine["panic"] != "nil map somewhere" || !strings.Contains(panicLine["stack"].(string), "server_test.go") {
		t.Errorf("panic log line = %v", panicLine)
	}
	if accessLine == nil || accessLine["status"] != float64(500) || accessLine["route"] != "GET /boom" {
		t.Errorf("access line = %v", accessLine)
	}

	if rec := serve(s, http.MethodGet, "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("after a panic /healthz = %d", rec.Code)
	}
}

// A panic after the response started cannot become a 500: the connection is
// cut so the client never takes a truncated body for a whole one, and the
// server goes on serving.
func TestPanicAfterWriteAbortsAndServerKeepsServing(t *testing.T) {
	s, _ := newTestServer(t, "info", Options{})
	s.HandleFunc("GET /half", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 100)))
		http.NewResponseController(w).Flush()
		panic("after write")
	})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/half")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("client read a complete response from a handler that panicked mid-body")
	}

	resp, err = http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatalf("server stopped serving after a panic: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	logs := &logBuffer{}
	draining := make(chan struct{})
	s := New(Options{Logger: slog.New(&notifyHandler{
		Handler: slog.NewJSONHandler(logs, nil), msg: "http server shutting down", ch: draining,
	})})
	entered := make(chan struct{})
	release := make(chan struct{})
	s.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = w.Write([]byte("done"))
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{string(b), err}
	}()

	<-entered
	cancel() // shutdown begins with a request in flight
	<-draining
	// Readiness flips before the in-flight request finishes.
	if rec := serve(s, http.MethodGet, "/readyz", nil); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "shutting down") {
		t.Errorf("/readyz while draining = %d %s", rec.Code, rec.Body.String())
	}
	close(release)

	if r := <-slow; r.err != nil || r.body != "done" {
		t.Errorf("in-flight request: body %q, err %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v after a clean shutdown", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
	if !strings.Contains(logs.String(), "http server stopped") {
		t.Errorf("no stop line in logs:\n%s", logs)
	}
}

func TestRunListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := New(Options{Listen: ln.Addr().String(), Logger: slog.New(slog.DiscardHandler)})
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Errorf("Run on a taken port = %v", err)
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	// Find a free port, then let Run listen on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	started := make(chan struct{})
	logs := &logBuffer{}
	handler := &notifyHandler{Handler: slog.NewJSONHandler(logs, nil), msg: "http server listening", ch: started}
	s := New(Options{Listen: addr, Logger: slog.New(handler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-started

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// notifyHandler closes ch when a record with message msg is logged.
type notifyHandler struct {
	slog.Handler
	msg  string
	ch   chan struct{}
	once sync.Once
}

func (h *notifyHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.ch) })
	}
	return h.Handler.Handle(ctx, r)
}
