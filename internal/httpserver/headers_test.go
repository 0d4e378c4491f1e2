package httpserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestSecurityHeadersOnEveryReply sends each kind of reply over a real
// connection and checks the headers the client got: the handler cannot
// drop them, overwrite them, or escape them by writing nothing.
func TestSecurityHeadersOnEveryReply(t *testing.T) {
	s, _ := newTestServer(t, "info", Options{Ready: func(context.Context) []CheckResult {
		return []CheckResult{{Name: "plugin x", OK: false, Detail: "failed"}}
	}})
	s.HandleFunc("GET /json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	s.HandleFunc("GET /error", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid"}}`))
	})
	s.HandleFunc("GET /nothing", func(http.ResponseWriter, *http.Request) {})
	s.HandleFunc("GET /loosen", func(w http.ResponseWriter, _ *http.Request) {
		// What a module could put in its reply's headers.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Referrer-Policy", "unsafe-url")
		w.Header().Set("X-Frame-Options", "ALLOWALL")
		w.Header().Del("X-Content-Type-Options")
		w.Header().Set("Content-Security-Policy", "frame-ancestors *")
		w.WriteHeader(http.StatusOK)
	})
	s.HandleFunc("GET /stream", func(w http.ResponseWriter, _ *http.Request) {
		_ = http.NewResponseController(w).Flush()
		_, _ = w.Write([]byte("chunk"))
	})
	s.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name, method, path string
		status             int
		// extraCSP is a policy the handler set, kept beside the host's.
		extraCSP string
	}{
		{"handler JSON", http.MethodGet, "/json", http.StatusOK, ""},
		{"error reply", http.MethodGet, "/error", http.StatusUnprocessableEntity, ""},
		{"unmatched path 404", http.MethodGet, "/no/such/route", http.StatusNotFound, ""},
		{"wrong method 405", http.MethodPost, "/json", http.StatusMethodNotAllowed, ""},
		{"healthz", http.MethodGet, "/healthz", http.StatusOK, ""},
		{"healthz HEAD", http.MethodHead, "/healthz", http.StatusOK, ""},
		{"readyz failing", http.MethodGet, "/readyz", http.StatusServiceUnavailable, ""},
		{"handler writes nothing", http.MethodGet, "/nothing", http.StatusOK, ""},
		{"handler tries to loosen them", http.MethodGet, "/loosen", http.StatusOK, "frame-ancestors *"},
		{"streaming flush", http.MethodGet, "/stream", http.StatusOK, ""},
		{"recovered panic 500", http.MethodGet, "/panic", http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			for name, want := range map[string]string{
				"Cache-Control":          "no-store",
				"Referrer-Policy":        "no-referrer",
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
			} {
				if got := resp.Header.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s = %q, want exactly %q", name, got, want)
				}
			}
			csp := resp.Header.Values("Content-Security-Policy")
			want := []string{"frame-ancestors 'none'"}
			if tt.extraCSP != "" {
				want = []string{tt.extraCSP, "frame-ancestors 'none'"}
			}
			if !slices.Equal(csp, want) {
				t.Errorf("Content-Security-Policy = %q, want %q", csp, want)
			}
		})
	}
}
