package e2e

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestRepliesCarrySecurityHeaders sends each kind of reply through the
// daemon with real plugin processes: a module's JSON, a module's error, the
// host's own refusals, 404s, the probes and the scrape. Every one carries
// the security headers, whatever the module put in its reply.
func TestRepliesCarrySecurityHeaders(t *testing.T) {
	e := newEnv(t)
	e.ramPackage()
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
	}{
		{"module JSON", "GET", "/m/microupsell/packages", e.client(""), "", http.StatusOK},
		{"module error reply", "POST", "/m/microupsell/orders", e.client(""), `{"package_id": 1}`, http.StatusUnprocessableEntity},
		{"host refuses a missing link", "GET", "/m/microupsell/packages", nil, "", http.StatusUnauthorized},
		{"no such module", "GET", "/m/nosuch/packages", nil, "", http.StatusNotFound},
		{"no such module route", "GET", "/m/microupsell/nosuch", e.client(""), "", http.StatusNotFound},
		{"no such path", "GET", "/nosuch", nil, "", http.StatusNotFound},
		{"admin API", "GET", "/api/v1/admin/plugins", e.admin(), "", http.StatusOK},
		{"healthz", "GET", "/healthz", nil, "", http.StatusOK},
		{"readyz", "GET", "/readyz", nil, "", http.StatusOK},
		{"metrics without token", "GET", "/metrics", nil, "", http.StatusUnauthorized},
		{"metrics with the admin token", "GET", "/metrics", e.admin(), "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.http.URL+tt.path, bytes.NewReader([]byte(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := e.http.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
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
			if csp := resp.Header.Values("Content-Security-Policy"); !slices.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy = %q, want frame-ancestors 'none'", csp)
			}
			if scrape := strings.Contains(string(body), "go_goroutines"); scrape != (tt.name == "metrics with the admin token") {
				t.Errorf("metric text in the reply: %v", scrape)
			}
		})
	}
}
