package obs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/obs/redact"
)

// logOne logs one record through a redacting JSON handler with secrets and
// returns it decoded.
func logOne(t *testing.T, secrets *redact.SecretSet, log func(*slog.Logger)) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	log(slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil), secrets)))
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log output is not one JSON object: %v\n%s", err, buf.String())
	}
	return rec
}

// lookup walks a decoded JSON record along a path of keys.
func lookup(rec map[string]any, path ...string) any {
	var cur any = rec
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func TestRedactionByKey(t *testing.T) {
	tests := []struct {
		key   string
		value any
		want  any
	}{
		{"token", "abc123", RedactedText},
		{"admin_token", "abc123", RedactedText},
		{"link_secret", "abc123", RedactedText},
		{"password", "hunter2", RedactedText},
		{"DB_PASSWORD", "hunter2", RedactedText},
		{"api_key", "k", RedactedText},
		{"apiKey", "k", RedactedText},
		{"X-Api-Key", "k", RedactedText},
		{"app_key", "base64:xyz", RedactedText},
		{"hmac_key", "k", RedactedText},
		{"key", "k", RedactedText},
		{"Authorization", "Bearer abc", RedactedText},
		{"cookie", "session=1", RedactedText},
		{"otp_token", 123456, RedactedText}, // numbers under a secret key too
		{"token_valid", false, false},       // a bool leaks nothing
		{"webhook_secret", "", ""},          // "not set" stays visible
		{"idempotency_key", "inv-42", "inv-42"},
		{"plugin", "microupsell", "microupsell"},
		{"monkey_count", 3, float64(3)},
		{"dsn", "upsell:hunter22@tcp(db:3306)/paymenter?parseTime=true", "upsell:[redacted]@tcp(db:3306)/paymenter?parseTime=true"},
		{"database_dsn", "upsell@tcp(db:3306)/paymenter", "upsell@tcp(db:3306)/paymenter"},
		{"dsn", "not a dsn at all", RedactedText},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			rec := logOne(t, nil, func(l *slog.Logger) { l.Info("m", tt.key, tt.value) })
			if got := rec[tt.key]; got != tt.want {
				t.Errorf("%s=%v logged as %v, want %v", tt.key, tt.value, got, tt.want)
			}
		})
	}
}

func TestRedactionInGroupsAndWith(t *testing.T) {
	rec := logOne(t, nil, func(l *slog.Logger) {
		l.With("api_key", "with-secret", "node", "n1").
			WithGroup("credentials").
			Info("m", "user", "bob", slog.Group("inner", "x", "y"))
	})
	if got := rec["api_key"]; got != RedactedText {
		t.Errorf("With attr api_key = %v", got)
	}
	if got := rec["node"]; got != "n1" {
		t.Errorf("With attr node = %v", got)
	}
	if got := lookup(rec, "credentials", "user"); got != RedactedText {
		t.Errorf("attr in a secret-named group = %v, want redacted", got)
	}
	if got := lookup(rec, "credentials", "inner", "x"); got != RedactedText {
		t.Errorf("nested attr in a secret-named group = %v, want redacted", got)
	}

	rec = logOne(t, nil, func(l *slog.Logger) {
		l.Info("m", slog.Group("server", "name", "node-1", "api_key", "ptla_x"))
	})
	if lookup(rec, "server", "name") != "node-1" || lookup(rec, "server", "api_key") != RedactedText {
		t.Errorf("group attrs = %v", rec["server"])
	}
}

type secretConfig struct{ Token string }

func (c secretConfig) LogValue() slog.Value { return slog.StringValue("token=" + c.Token) }

func TestRedactionByRegisteredValue(t *testing.T) {
	secrets := &redact.SecretSet{}
	const adminToken = "f00dfeed0123456789abcdef"
	const longer = "f00dfeed0123456789abcdef-and-more"
	secrets.Register(adminToken)
	secrets.Register(longer)
	secrets.Register("root") // too short: would blank ordinary words

	rec := logOne(t, secrets, func(l *slog.Logger) {
		l.With("preset", "was "+adminToken).Error("request with "+adminToken+" failed",
			"detail", "header carried "+longer,
			"err", fmt.Errorf("call https://api/?key=%s: %w", adminToken, errors.New("401")),
			"resolved", secretConfig{Token: adminToken},
			"rootfs", "rootfs is fine",
		)
	})
	raw, _ := json.Marshal(rec)
	if strings.Contains(string(raw), "f00dfeed") {
		t.Fatalf("registered secret in output: %s", raw)
	}
	for key, want := range map[string]string{
		"msg":      "request with [redacted] failed",
		"preset":   "was [redacted]",
		"detail":   "header carried [redacted]", // the longer secret is cut whole
		"err":      "call https://api/?key=[redacted]: 401",
		"resolved": "token=[redacted]",
		"rootfs":   "rootfs is fine",
	} {
		if got := rec[key]; got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

func TestRedactionOfPatterns(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GET https://bot:pa55word@panel.example.com/api failed", "GET https://bot:[redacted]@panel.example.com/api failed"},
		{"mysql://u:p@db/x", "mysql://u:[redacted]@db/x"},
		{"Authorization: Bearer ptla_abcDEF123.xyz", "Authorization: Bearer [redacted]"},
		{"a basic plan for https://example.com/x", "a basic plan for https://example.com/x"},
	}
	for _, tt := range tests {
		rec := logOne(t, nil, func(l *slog.Logger) { l.Info(tt.in, "s", tt.in) })
		if rec["msg"] != tt.want || rec["s"] != tt.want {
			t.Errorf("%q logged as msg %q / attr %q, want %q", tt.in, rec["msg"], rec["s"], tt.want)
		}
	}
}

// RegisterSecret and Redact use the process-wide set NewLogger logs through.
func TestNewLoggerUsesRegisteredSecrets(t *testing.T) {
	const secret = "process-wide-secret-9d8c7b"
	RegisterSecret(secret)
	if got := Redact("x " + secret + " y"); got != "x [redacted] y" {
		t.Errorf("Redact = %q", got)
	}
	var buf bytes.Buffer
	NewLogger(&buf, "debug", "").Debug("m", "v", secret, "password", "pw")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("default format is not JSON: %v: %s", err, buf.String())
	}
	if rec["v"] != RedactedText || rec["password"] != RedactedText || rec["level"] != "DEBUG" {
		t.Errorf("record = %v", rec)
	}
}

func TestNewLoggerLevelsAndFormats(t *testing.T) {
	tests := []struct {
		level, format string
		debugShown    bool
		json          bool
	}{
		{"debug", "json", true, true},
		{"info", "json", false, true},
		{"WARNING", "text", false, false},
		{"", "", false, true},
		{"nonsense", "nonsense", false, true}, // falls back rather than losing logs
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			l := NewLogger(&buf, tt.level, tt.format)
			l.Debug("debug line")
			l.Error("error line", "token", "t0ken")
			out := buf.String()
			if strings.Contains(out, "debug line") != tt.debugShown {
				t.Errorf("debug shown = %v, want %v:\n%s", !tt.debugShown, tt.debugShown, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if json.Valid([]byte(lines[len(lines)-1])) != tt.json {
				t.Errorf("JSON output = %v, want %v:\n%s", !tt.json, tt.json, out)
			}
			if strings.Contains(out, "t0ken") {
				t.Errorf("secret in output:\n%s", out)
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"debug", slog.LevelDebug, false},
		{"INFO", slog.LevelInfo, false},
		{"", slog.LevelInfo, false},
		{"warn", slog.LevelWarn, false},
		{"warning", slog.LevelWarn, false},
		{"error", slog.LevelError, false},
		{"loud", slog.LevelInfo, true},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"u:p4ss@tcp(db:3306)/paymenter", "u:[redacted]@tcp(db:3306)/paymenter"},
		{"u:p@ss:w/rd@tcp(db:3306)/paymenter?parseTime=true", "u:[redacted]@tcp(db:3306)/paymenter?parseTime=true"},
		{"u@unix(/run/mysqld/mysqld.sock)/paymenter", "u@unix(/run/mysqld/mysqld.sock)/paymenter"},
		{"garbage", RedactedText},
	}
	for _, tt := range tests {
		if got := RedactDSN(tt.in); got != tt.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMetricsExposed(t *testing.T) {
	m := NewMetrics()
	// Vectors appear in the exposition once they have a child.
	m.ObserveHTTP("GET /healthz", http.StatusOK, 3*time.Millisecond)
	m.SetPluginUp("microupsell", "module", true)
	m.PluginRestarts.WithLabelValues("microupsell").Inc()
	m.Jobs.WithLabelValues("poll", "ok").Inc()
	m.InvoicesApplied.WithLabelValues("microupsell").Inc()
	m.ProvisionRequests.WithLabelValues("pterodactyl", "ok").Inc()

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		`upsell_http_requests_total{code="200",route="GET /healthz"} 1`,
		`upsell_http_request_duration_seconds_bucket{route="GET /healthz",le="0.005"} 1`,
		`upsell_plugin_up{kind="module",plugin="microupsell"} 1`,
		`upsell_plugin_restarts_total{plugin="microupsell"} 1`,
		`upsell_jobs_total{kind="poll",result="ok"} 1`,
		`upsell_invoices_applied_total{module="microupsell"} 1`,
		`upsell_provision_requests_total{adapter="pterodactyl",result="ok"} 1`,
		"go_goroutines",
		"process_start_time_seconds", // the process collector (Linux)
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// Two Metrics must not collide: each has its own registry.
func TestMetricsIndependentRegistries(t *testing.T) {
	a, b := NewMetrics(), NewMetrics()
	a.Jobs.WithLabelValues("poll", "ok").Inc()
	families, err := b.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "upsell_jobs_total" {
			t.Error("a's job counter shows in b's registry")
		}
	}
}
