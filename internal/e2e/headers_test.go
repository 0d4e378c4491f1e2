package e2e

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
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

// TestOnlyPublicPagesMayBeFramed: with http.frame_ancestors set, the
// Build-Your-Own configurator may be embedded by those origins (and only
// those), while a page that acts for a signed-in client (the shop) and the
// JSON routes still may not be framed by anyone.
func TestOnlyPublicPagesMayBeFramed(t *testing.T) {
	e := newEnvWith(t, nil, withFrameAncestors("https://www.example.com"))
	e.ramPackage()
	seedVPS(t, e)
	framing := func(path string, header map[string]string) (csp []string, xfo string, status int) {
		req, _ := http.NewRequest("GET", e.http.URL+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Values("Content-Security-Policy"), resp.Header.Get("X-Frame-Options"), resp.StatusCode
	}

	csp, xfo, status := framing("/m/configoptions/configure", nil)
	if status != http.StatusOK || !slices.Contains(csp, "frame-ancestors https://www.example.com") || xfo != "" {
		t.Errorf("configurator: %d, CSP %q, X-Frame-Options %q; want framing by https://www.example.com only", status, csp, xfo)
	}
	if slices.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("configurator also carries frame-ancestors 'none' (a browser enforces both): %q", csp)
	}
	for _, tc := range []struct {
		name, path string
		header     map[string]string
	}{
		{"the shop (a client's page)", "/m/microupsell/shop?link=" + e.link(e.seeded.UserID, e.seeded.ServiceID, time.Hour), nil},
		{"a client's JSON", "/m/microupsell/packages", e.client("")},
	} {
		csp, xfo, _ := framing(tc.path, tc.header)
		if !slices.Contains(csp, "frame-ancestors 'none'") || xfo != "DENY" {
			t.Errorf("%s: CSP %q, X-Frame-Options %q; want framing refused", tc.name, csp, xfo)
		}
	}
}
