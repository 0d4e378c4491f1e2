package daemon_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/daemon"
	"github.com/upsell-io/upsell/internal/httpserver"
	"github.com/upsell-io/upsell/internal/obs"
	"github.com/upsell-io/upsell/internal/supervisor"
)

const adminToken = "admin-token-0123456789abcdef0123456789"

// httpDaemon is a daemon with what its HTTP servers need and nothing else:
// the metrics route touches neither the database nor a plugin.
func httpDaemon(t *testing.T, metricsListen string) *daemon.Daemon {
	t.Helper()
	metrics := obs.NewMetrics()
	// A plugin's gauge, as the supervisor's state callback sets it.
	metrics.PluginUp.WithLabelValues("microupsell", "module").Set(1)
	sup := supervisor.New(supervisor.Options{})
	t.Cleanup(sup.Stop)
	return &daemon.Daemon{
		Config: config.Config{
			HTTP:     config.HTTP{Listen: "127.0.0.1:8080", MetricsListen: metricsListen},
			Security: config.Security{AdminToken: adminToken},
		},
		Logger:     slog.New(slog.DiscardHandler),
		Metrics:    metrics,
		Supervisor: sup,
	}
}

// get fetches path from srv with the Authorization header given ("" for
// none) and returns the status and body.
func get(t *testing.T, srv *httpserver.Server, path, authorization string) (int, string) {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// hasMetricText reports whether body holds what only a scrape contains.
func hasMetricText(body string) bool {
	return strings.Contains(body, "upsell_plugin_up") || strings.Contains(body, "go_goroutines")
}

func TestMetricsBehindAdminTokenWithoutOwnListener(t *testing.T) {
	api, metrics := httpDaemon(t, "").HTTPServers()
	if metrics != nil {
		t.Fatal("a metrics server without http.metrics_listen")
	}
	tests := []struct {
		name          string
		authorization string
		status        int
		metricText    bool
	}{
		{"no token", "", http.StatusUnauthorized, false},
		{"wrong token", "Bearer " + strings.Repeat("x", len(adminToken)), http.StatusUnauthorized, false},
		{"token without Bearer", adminToken, http.StatusUnauthorized, false},
		{"admin token", "Bearer " + adminToken, http.StatusOK, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, api, "/metrics", tt.authorization)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if hasMetricText(body) != tt.metricText {
				t.Errorf("metric text in the reply: %v, want %v:\n%.300s", hasMetricText(body), tt.metricText, body)
			}
			if tt.metricText && !strings.Contains(body, `upsell_plugin_up{kind="module",plugin="microupsell"} 1`) {
				t.Errorf("scrape lacks the plugin gauge:\n%.300s", body)
			}
		})
	}
}

func TestMetricsOnlyOnTheirOwnListener(t *testing.T) {
	api, metrics := httpDaemon(t, "127.0.0.1:9090").HTTPServers()
	if metrics == nil {
		t.Fatal("no metrics server for http.metrics_listen")
	}
	tests := []struct {
		name          string
		srv           *httpserver.Server
		authorization string
		status        int
		metricText    bool
	}{
		{"metrics listener, no token", metrics, "", http.StatusOK, true},
		{"API listener, no token", api, "", http.StatusNotFound, false},
		{"API listener, admin token", api, "Bearer " + adminToken, http.StatusNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, tt.srv, "/metrics", tt.authorization)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if hasMetricText(body) != tt.metricText {
				t.Errorf("metric text in the reply: %v, want %v:\n%.300s", hasMetricText(body), tt.metricText, body)
			}
		})
	}
	// The metrics listener serves the scrape and the probes, not the API.
	if status, _ := get(t, metrics, "/api/v1/admin/plugins", "Bearer "+adminToken); status != http.StatusNotFound {
		t.Errorf("admin API on the metrics listener: %d, want 404", status)
	}
	if status, body := get(t, metrics, "/healthz", ""); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz on the metrics listener: %d %q", status, body)
	}
}
