package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/upsell-io/upsell/internal/laravelcrypt"
)

// isolateEnv removes every UPSELL_ variable (and XDG_RUNTIME_DIR, which
// feeds a default) for the duration of the test, so the machine running the
// tests cannot change their outcome.
func isolateEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix) || name == "XDG_RUNTIME_DIR" {
			t.Setenv(name, "") // restores the value after the test
			os.Unsetenv(name)
		}
	}
}

// writeFile writes a config file of mode 0600 and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "upsell.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// yamlFor renders one "section.name" key as YAML; numbers stay unquoted
// because the strict decoder refuses "11" for an int.
func yamlFor(key, value string) string {
	section, name, _ := strings.Cut(key, ".")
	if _, err := strconv.Atoi(value); err != nil {
		value = strconv.Quote(value)
	}
	return fmt.Sprintf("%s:\n  %s: %s\n", section, name, value)
}

func newFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	flags := pflag.NewFlagSet("upsell", pflag.ContinueOnError)
	Register(flags)
	if err := flags.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return flags
}

func appKey(t *testing.T) string {
	t.Helper()
	k, err := laravelcrypt.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.AppKey()
}

func TestPrecedence(t *testing.T) {
	keys := []struct {
		key                  string
		def, file, env, flag string
		get                  func(Config) string
	}{
		{"database.dsn", "", "u:f@tcp(db:3306)/file", "u:e@tcp(db:3306)/env", "u:fl@tcp(db:3306)/flag",
			func(c Config) string { return c.Database.DSN }},
		{"http.listen", "127.0.0.1:8080", "127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003",
			func(c Config) string { return c.HTTP.Listen }},
		{"database.max_open_conns", "10", "11", "12", "13",
			func(c Config) string { return fmt.Sprint(c.Database.MaxOpenConns) }},
		{"security.link_ttl", "24h0m0s", "1h0m0s", "2h0m0s", "3h0m0s",
			func(c Config) string { return c.Security.LinkTTL.String() }},
		{"log.level", "info", "debug", "warn", "error",
			func(c Config) string { return c.Log.Level }},
		{"plugins.socket_dir", "/tmp/upsell-plugins", "/run/file", "/run/env", "/run/flag",
			func(c Config) string { return c.Plugins.SocketDir }},
	}
	layers := []struct {
		name            string
		file, env, flag bool
		want            func(def, file, env, flag string) string
	}{
		{"default", false, false, false, func(d, _, _, _ string) string { return d }},
		{"file beats default", true, false, false, func(_, f, _, _ string) string { return f }},
		{"env beats file", true, true, false, func(_, _, e, _ string) string { return e }},
		{"env beats default", false, true, false, func(_, _, e, _ string) string { return e }},
		{"flag beats env and file", true, true, true, func(_, _, _, fl string) string { return fl }},
		{"flag beats default", false, false, true, func(_, _, _, fl string) string { return fl }},
	}
	for _, k := range keys {
		for _, l := range layers {
			t.Run(k.key+"/"+l.name, func(t *testing.T) {
				isolateEnv(t)
				var args []string
				if l.file {
					args = append(args, "--config", writeFile(t, yamlFor(k.key, k.file)))
				}
				if l.env {
					t.Setenv(EnvName(k.key), k.env)
				}
				if l.flag {
					args = append(args, "--"+FlagName(k.key)+"="+k.flag)
				}
				cfg, err := Load(newFlags(t, args...))
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if got, want := k.get(cfg), l.want(k.def, k.file, k.env, k.flag); got != want {
					t.Errorf("%s = %q, want %q", k.key, got, want)
				}
			})
		}
	}
}

// Secrets have no flags, so their precedence is environment over file.
func TestSecretPrecedenceAndNoFlag(t *testing.T) {
	isolateEnv(t)
	fileToken := strings.Repeat("f", 32)
	envToken := strings.Repeat("e", 32)
	path := writeFile(t, yamlFor("security.admin_token", fileToken))

	cfg, err := Load(newFlags(t, "--config", path))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Security.AdminToken.Reveal() != fileToken {
		t.Errorf("from file: admin token not read")
	}
	t.Setenv("UPSELL_SECURITY_ADMIN_TOKEN", envToken)
	cfg, err = Load(newFlags(t, "--config", path))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Security.AdminToken.Reveal() != envToken {
		t.Errorf("environment does not beat the file for the admin token")
	}

	flags := newFlags(t)
	for _, name := range []string{"security-admin-token", "security-link-secret", "security-webhook-secret", "panel-app-key", "panel-api-key"} {
		if flags.Lookup(name) != nil {
			t.Errorf("secret flag --%s exists; command lines are world-readable", name)
		}
	}
	for _, name := range []string{"config", "database-dsn", "http-listen", "http-public-url", "plugins-socket-dir", "log-format"} {
		if flags.Lookup(name) == nil {
			t.Errorf("flag --%s missing", name)
		}
	}
}

func TestEnvNames(t *testing.T) {
	tests := []struct {
		key, env, flag string
		value          string
		get            func(Config) string
	}{
		{"database.dsn", "UPSELL_DATABASE_DSN", "database-dsn", "u:p@tcp(db:3306)/paymenter",
			func(c Config) string { return c.Database.DSN }},
		{"database.conn_max_lifetime", "UPSELL_DATABASE_CONN_MAX_LIFETIME", "database-conn-max-lifetime", "7m0s",
			func(c Config) string { return c.Database.ConnMaxLifetime.String() }},
		{"security.admin_token", "UPSELL_SECURITY_ADMIN_TOKEN", "security-admin-token", strings.Repeat("a", 40),
			func(c Config) string { return c.Security.AdminToken.Reveal() }},
		{"security.link_secret", "UPSELL_SECURITY_LINK_SECRET", "security-link-secret", strings.Repeat("l", 40),
			func(c Config) string { return c.Security.LinkSecret.Reveal() }},
		{"panel.invoice_writer", "UPSELL_PANEL_INVOICE_WRITER", "panel-invoice-writer", "sql",
			func(c Config) string { return c.Panel.InvoiceWriter }},
		{"http.public_url", "UPSELL_HTTP_PUBLIC_URL", "http-public-url", "https://billing.example.com/upsell",
			func(c Config) string { return c.HTTP.PublicURL }},
		{"http.metrics_listen", "UPSELL_HTTP_METRICS_LISTEN", "http-metrics-listen", "10.0.0.5:9090",
			func(c Config) string { return c.HTTP.MetricsListen }},
		{"plugins.max_restarts", "UPSELL_PLUGINS_MAX_RESTARTS", "plugins-max-restarts", "9",
			func(c Config) string { return fmt.Sprint(c.Plugins.MaxRestarts) }},
		{"poller.interval", "UPSELL_POLLER_INTERVAL", "poller-interval", "45s",
			func(c Config) string { return c.Poller.Interval.String() }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := EnvName(tt.key); got != tt.env {
				t.Errorf("EnvName = %q, want %q", got, tt.env)
			}
			if got := FlagName(tt.key); got != tt.flag {
				t.Errorf("FlagName = %q, want %q", got, tt.flag)
			}
			isolateEnv(t)
			t.Setenv(tt.env, tt.value)
			cfg, err := Load(nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tt.get(cfg); got != tt.value {
				t.Errorf("%s from %s = %q, want %q", tt.key, tt.env, got, tt.value)
			}
		})
	}
}

func TestConfigFileFromEnv(t *testing.T) {
	isolateEnv(t)
	t.Setenv(EnvConfig, writeFile(t, yamlFor("http.listen", "127.0.0.1:9999")))
	cfg, err := Load(newFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9999" || cfg.File == "" {
		t.Errorf("UPSELL_CONFIG not read: listen %q, file %q", cfg.HTTP.Listen, cfg.File)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string            // config file content; "" for none
		env  map[string]string // extra environment
		want []string          // substrings of the error
	}{
		{
			name: "unknown key in file",
			file: "security:\n  adimn_token: x\n",
			want: []string{"line 2", "adimn_token"},
		},
		{
			name: "unknown section in file",
			file: "databse:\n  dsn: x\n",
			want: []string{"databse"},
		},
		{
			name: "duration without unit in file",
			file: "poller:\n  interval: 30\n",
			want: []string{"line 2", "time.Duration"},
		},
		{
			name: "not a number in file",
			file: "database:\n  max_open_conns: many\n",
			want: []string{"line 2", "many"},
		},
		{
			name: "not a number in env",
			env:  map[string]string{"UPSELL_DATABASE_MAX_OPEN_CONNS": "many"},
			want: []string{"UPSELL_DATABASE_MAX_OPEN_CONNS", "not a whole number"},
		},
		{
			name: "duration without unit in env",
			env:  map[string]string{"UPSELL_SECURITY_LINK_TTL": "24"},
			want: []string{"UPSELL_SECURITY_LINK_TTL", "not a duration"},
		},
		{
			name: "missing config file",
			env:  map[string]string{EnvConfig: "/nonexistent/upsell.yaml"},
			want: []string{"read config file", "/nonexistent/upsell.yaml"},
		},
		{
			name: "malformed value is refused by Load",
			env:  map[string]string{"UPSELL_PANEL_INVOICE_WRITER": "csv"},
			want: []string{"panel.invoice_writer (UPSELL_PANEL_INVOICE_WRITER)", `"csv"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateEnv(t)
			if tt.file != "" {
				t.Setenv(EnvConfig, writeFile(t, tt.file))
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load(newFlags(t))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestStructuredSectionsKeepCase(t *testing.T) {
	isolateEnv(t)
	t.Setenv(EnvConfig, writeFile(t, `
plugins:
  modules:
    microupsell:
      PriceRounding: "0.01"
  external:
    - name: convoy
      kind: Adapter
      path: bin/convoy
      sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
      settings: {apiTimeout: 15s, port: 8443}
servers:
  - name: Node One
    adapter: pterodactyl
    url: https://panel.example.com/
    api_key: ptla_abc
`))
	cfg, err := Load(newFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Plugins.Modules["microupsell"]["PriceRounding"]; got != "0.01" {
		t.Errorf("module setting with upper-case name lost: %v", cfg.Plugins.Modules)
	}
	e := cfg.Plugins.External[0]
	if e.Settings["apiTimeout"] != "15s" || e.Settings["port"] != "8443" {
		t.Errorf("external settings = %v", e.Settings)
	}
	if e.Kind != PluginKindAdapter || e.SHA256 != strings.ToLower(e.SHA256) {
		t.Errorf("kind %q / sha256 %q not normalised", e.Kind, e.SHA256)
	}
	if s := cfg.Servers[0]; s.Name != "Node One" || s.URL != "https://panel.example.com" {
		t.Errorf("server override = %+v", s)
	}
}

// validServeConfig is a configuration that passes Validate(ForServe).
func validServeConfig(t *testing.T) Config {
	t.Helper()
	isolateEnv(t)
	cfg, err := Load(nil)
	if err != nil {
		t.Fatalf("Load defaults: %v", err)
	}
	cfg.Database.DSN = "upsell:pw@tcp(127.0.0.1:3306)/paymenter?parseTime=true"
	cfg.Panel.BaseURL = "https://billing.example.com"
	cfg.Panel.AppKey = Secret(appKey(t))
	cfg.HTTP.PublicURL = "https://billing.example.com/upsell"
	cfg.Security.AdminToken = Secret(strings.Repeat("a", 64))
	cfg.Security.LinkSecret = Secret(strings.Repeat("b", 64))
	cfg.Security.WebhookSecret = Secret(strings.Repeat("c", 64))
	cfg.Plugins.External = []ExternalPlugin{{
		Name: "convoy", Kind: "adapter", Path: "upsell-adapter-convoy",
		SHA256: strings.Repeat("ab", 32),
	}}
	cfg.Servers = []ServerOverride{{ExtensionID: 3, Adapter: "pterodactyl", URL: "https://panel.example.com", APIKey: "ptla_x"}}
	if err := cfg.Validate(ForServe); err != nil {
		t.Fatalf("base config invalid: %v", err)
	}
	return cfg
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		purpose Purpose
		mutate  func(*Config)
		want    []string // substrings of one problem each; none: valid
	}{
		{"valid", ForServe, func(*Config) {}, nil},
		{"separate metrics listener", ForServe, func(c *Config) { c.HTTP.MetricsListen = "10.0.0.5:9090" }, nil},
		{"short admin token", ForServe, func(c *Config) { c.Security.AdminToken = "0123456789ab" },
			[]string{"security.admin_token (UPSELL_SECURITY_ADMIN_TOKEN): is 12 characters, at least 32"}},
		{"short link secret", ForAnyCommand, func(c *Config) { c.Security.LinkSecret = "short" },
			[]string{"security.link_secret (UPSELL_SECURITY_LINK_SECRET): is 5 characters"}},
		{"same secret twice", ForServe, func(c *Config) { c.Security.LinkSecret = c.Security.AdminToken },
			[]string{"security.link_secret (UPSELL_SECURITY_LINK_SECRET): must differ from security.admin_token"}},
		{"unknown invoice writer", ForAnyCommand, func(c *Config) { c.Panel.InvoiceWriter = "csv" },
			[]string{`panel.invoice_writer (UPSELL_PANEL_INVOICE_WRITER): "csv" is not an invoice writer`}},
		{"api writer needs url and key", ForAnyCommand, func(c *Config) { c.Panel.InvoiceWriter = "api" },
			[]string{"panel.api_url (UPSELL_PANEL_API_URL): required by invoice_writer", "panel.api_key (UPSELL_PANEL_API_KEY): required by invoice_writer"}},
		{"unknown panel", ForAnyCommand, func(c *Config) { c.Panel.Kind = "whmcs" },
			[]string{`panel.kind (UPSELL_PANEL_KIND): "whmcs"`}},
		{"serve needs a DSN", ForServe, func(c *Config) { c.Database.DSN = "" },
			[]string{"database.dsn (UPSELL_DATABASE_DSN): required by serve"}},
		{"migrate needs a DSN", ForMigrate, func(c *Config) { c.Database.DSN = "" },
			[]string{"database.dsn (UPSELL_DATABASE_DSN): required by migrate"}},
		{"link needs a DSN", ForLink, func(c *Config) { c.Database.DSN = "" },
			[]string{"database.dsn (UPSELL_DATABASE_DSN): required by link"}},
		{"other commands need nothing", ForAnyCommand, func(c *Config) {
			c.Database.DSN, c.Panel.BaseURL, c.Panel.AppKey, c.HTTP.PublicURL = "", "", "", ""
			c.Security.AdminToken, c.Security.LinkSecret = "", ""
		}, nil},
		{"serve needs its secrets", ForServe, func(c *Config) {
			c.Panel.AppKey, c.Security.AdminToken, c.Security.LinkSecret = "", "", ""
		}, []string{"panel.app_key (UPSELL_PANEL_APP_KEY): required by serve", "security.admin_token (UPSELL_SECURITY_ADMIN_TOKEN): required by serve", "security.link_secret (UPSELL_SECURITY_LINK_SECRET): required by serve"}},
		{"link needs secret and public url", ForLink, func(c *Config) { c.Security.LinkSecret, c.HTTP.PublicURL = "", "" },
			[]string{"security.link_secret (UPSELL_SECURITY_LINK_SECRET): required by link", "http.public_url (UPSELL_HTTP_PUBLIC_URL): required by link"}},
		{"malformed DSN", ForAnyCommand, func(c *Config) { c.Database.DSN = "mysql://u:secretpw@db/paymenter" },
			[]string{"database.dsn (UPSELL_DATABASE_DSN): not a MySQL DSN"}},
		{"DSN without database", ForAnyCommand, func(c *Config) { c.Database.DSN = "u:p@tcp(db:3306)/" },
			[]string{"database.dsn (UPSELL_DATABASE_DSN): names no database"}},
		{"unlimited connections", ForAnyCommand, func(c *Config) { c.Database.MaxOpenConns = 0; c.Database.MaxIdleConns = 0 },
			[]string{"database.max_open_conns (UPSELL_DATABASE_MAX_OPEN_CONNS): must be at least 2"}},
		{"a pool the lock session would leave empty", ForAnyCommand, func(c *Config) { c.Database.MaxOpenConns = 1; c.Database.MaxIdleConns = 1 },
			[]string{"database.max_open_conns (UPSELL_DATABASE_MAX_OPEN_CONNS): must be at least 2 (got 1)"}},
		{"more idle than open", ForAnyCommand, func(c *Config) { c.Database.MaxIdleConns = 50 },
			[]string{"database.max_idle_conns (UPSELL_DATABASE_MAX_IDLE_CONNS)"}},
		{"bad app key", ForAnyCommand, func(c *Config) { c.Panel.AppKey = "base64:c2hvcnQ=" },
			[]string{"panel.app_key (UPSELL_PANEL_APP_KEY): not a valid APP_KEY"}},
		{"placeholder left", ForAnyCommand, func(c *Config) { c.Security.AdminToken = "CHANGE-ME" },
			[]string{"security.admin_token (UPSELL_SECURITY_ADMIN_TOKEN): still the example's CHANGE-ME placeholder"}},
		{"relative public url", ForAnyCommand, func(c *Config) { c.HTTP.PublicURL = "billing.example.com/upsell" },
			[]string{"http.public_url (UPSELL_HTTP_PUBLIC_URL): \"billing.example.com/upsell\" is not an absolute http(s) URL"}},
		{"listen without port", ForAnyCommand, func(c *Config) { c.HTTP.Listen = "127.0.0.1" },
			[]string{"http.listen (UPSELL_HTTP_LISTEN)"}},
		{"metrics listen without port", ForAnyCommand, func(c *Config) { c.HTTP.MetricsListen = "10.0.0.5" },
			[]string{`http.metrics_listen (UPSELL_HTTP_METRICS_LISTEN): "10.0.0.5" is not host:port (e.g. 127.0.0.1:9090)`}},
		{"metrics listen on the API's address", ForAnyCommand, func(c *Config) { c.HTTP.MetricsListen = c.HTTP.Listen },
			[]string{`http.metrics_listen (UPSELL_HTTP_METRICS_LISTEN): "127.0.0.1:8080" is http.listen too`}},
		{"link ttl without unit", ForAnyCommand, func(c *Config) { c.Security.LinkTTL = 24 },
			[]string{"security.link_ttl (UPSELL_SECURITY_LINK_TTL): 24ns is outside"}},
		{"poll every nanosecond", ForAnyCommand, func(c *Config) { c.Poller.Interval = 30 },
			[]string{"poller.interval (UPSELL_POLLER_INTERVAL)"}},
		{"socket dir too long", ForAnyCommand, func(c *Config) { c.Plugins.SocketDir = "/" + strings.Repeat("d", 80) },
			[]string{"plugins.socket_dir (UPSELL_PLUGINS_SOCKET_DIR): \"/ddd"}},
		{"relative socket dir", ForAnyCommand, func(c *Config) { c.Plugins.SocketDir = "run/upsell" },
			[]string{"plugins.socket_dir (UPSELL_PLUGINS_SOCKET_DIR): \"run/upsell\" must be an absolute path"}},
		{"log level", ForAnyCommand, func(c *Config) { c.Log.Level = "verbose" },
			[]string{`log.level (UPSELL_LOG_LEVEL): "verbose"`}},
		{"log format", ForAnyCommand, func(c *Config) { c.Log.Format = "xml" },
			[]string{`log.format (UPSELL_LOG_FORMAT): "xml"`}},
		{"external plugin problems", ForAnyCommand, func(c *Config) {
			c.Plugins.External = []ExternalPlugin{
				{Name: "Convoy!", Kind: "driver", Path: "/usr/bin/convoy", SHA256: "abc"},
				{Name: "dup", Kind: "module", Path: "../escape", SHA256: strings.Repeat("0", 64)},
				{Name: "dup", Kind: "module", Path: "dup", SHA256: strings.Repeat("1", 64)},
			}
		}, []string{
			`plugins.external[0] (Convoy!).name: "Convoy!" must be lower-case`,
			`plugins.external[0] (Convoy!).kind: "driver" is not module or adapter`,
			`plugins.external[0] (Convoy!).path: "/usr/bin/convoy" must be relative to plugins.dir`,
			`plugins.external[0] (Convoy!).sha256: must be the binary's 64-hex-digit checksum`,
			`plugins.external[1] (dup).path: "../escape" must be relative`,
			`plugins.external[2] (dup): plugin name "dup" is already used by plugins.external[1] (dup)`,
		}},
		{"external plugins need a dir", ForAnyCommand, func(c *Config) { c.Plugins.Dir = "" },
			[]string{"plugins.dir (UPSELL_PLUGINS_DIR): required when plugins.external lists plugins"}},
		{"module name", ForAnyCommand, func(c *Config) { c.Plugins.Modules = map[string]map[string]string{"Micro Upsell": nil} },
			[]string{`plugins.modules: "Micro Upsell" is not a plugin name`}},
		{"server override problems", ForAnyCommand, func(c *Config) {
			c.Servers = []ServerOverride{
				{ExtensionID: 1, Name: "a", Adapter: "pterodactyl", URL: "https://p", APIKey: "k"},
				{Adapter: "pterodactyl", URL: "https://p", APIKey: "k"},
				{ExtensionID: 2, Adapter: "pterodactyl", URL: "https://p", APIKey: "k"},
				{ExtensionID: 2, Adapter: "", URL: "ftp://p"},
			}
		}, []string{
			"servers[0]: set extension_id or name, not both",
			"servers[1]: set extension_id or name",
			"servers[3]: extension_id 2 is already overridden by servers[2]",
			`servers[3].adapter: "" is not an adapter name`,
			`servers[3].url: "ftp://p" is not an absolute http(s) URL`,
			"servers[3].api_key: must be set",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validServeConfig(t)
			tt.mutate(&cfg)
			err := cfg.Validate(tt.purpose)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate(%s): %v", tt.purpose, err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate(%s) = %v, want a *ValidationError", tt.purpose, err)
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(verr.Problems, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem mentions %q; got:\n%s", w, err)
				}
			}
			if len(verr.Problems) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(verr.Problems), len(tt.want), err)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	cfg := validServeConfig(t)
	secrets := map[string]string{
		"dsn password":      "dbPassw0rd-xyz",
		"app key":           cfg.Panel.AppKey.Reveal(),
		"api key":           "panel-api-key-0123456789",
		"admin token":       "admin-token-0123456789abcdef0123456789",
		"link secret":       "link-secret-0123456789abcdef0123456789",
		"webhook secret":    "webhook-secret-0123456789abcdef01234567",
		"server api key":    "ptla_server_key_0123456789",
		"external setting":  "convoy-token-0123456789",
		"module setting":    "module-password-0123456789",
		"adapter setting":   "adapter-apikey-0123456789",
		"url password":      "url-passw0rd-0123",
		"server url passwd": "server-url-passw0rd",
	}
	cfg.Database.DSN = "upsell:" + secrets["dsn password"] + "@tcp(db.internal:3306)/paymenter?parseTime=true"
	cfg.Panel.InvoiceWriter = InvoiceWriterAPI
	cfg.Panel.APIURL = "https://billing.example.com/api"
	cfg.Panel.APIKey = Secret(secrets["api key"])
	cfg.Panel.BaseURL = "https://admin:" + secrets["url password"] + "@billing.example.com"
	cfg.Security.AdminToken = Secret(secrets["admin token"])
	cfg.Security.LinkSecret = Secret(secrets["link secret"])
	cfg.Security.WebhookSecret = Secret(secrets["webhook secret"])
	cfg.Servers[0].APIKey = Secret(secrets["server api key"])
	cfg.Servers[0].URL = "https://bot:" + secrets["server url passwd"] + "@panel.example.com"
	cfg.Plugins.External[0].Settings = map[string]string{"api_token": secrets["external setting"], "region": "eu-west"}
	cfg.Plugins.Modules = map[string]map[string]string{"microupsell": {"smtp_password": secrets["module setting"]}}
	cfg.Plugins.Adapters = map[string]map[string]string{"pterodactyl": {"ApiKey": secrets["adapter setting"]}}
	if err := cfg.Validate(ForServe); err != nil {
		t.Fatalf("config invalid: %v", err)
	}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", cfg, "security", cfg.Security, "database", cfg.Database)
	redactedJSON, err := json.Marshal(cfg.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	// Secret fields marshal redacted even in a configuration that was not.
	securityJSON, err := json.Marshal(cfg.Security)
	if err != nil {
		t.Fatal(err)
	}
	redactedYAML, err := yaml.Marshal(cfg.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"String":           cfg.String(),
		"%v":               fmt.Sprintf("%v", cfg),
		"%+v":              fmt.Sprintf("%+v", cfg),
		"%#v":              fmt.Sprintf("%#v", cfg),
		"%+v of Security":  fmt.Sprintf("%+v", cfg.Security),
		"%+v of Database":  fmt.Sprintf("%+v %#v", cfg.Database, cfg.Database),
		"%#v of Security":  fmt.Sprintf("%#v", cfg.Security),
		"%s of a Secret":   fmt.Sprintf("%s %q %x", cfg.Security.AdminToken, cfg.Security.AdminToken, cfg.Security.AdminToken),
		"%+v of Servers":   fmt.Sprintf("%+v", cfg.Redacted().Servers),
		"slog":             logged.String(),
		"json of Redacted": string(redactedJSON),
		"yaml of Redacted": string(redactedYAML),
		"json of Security": string(securityJSON),
	}
	for what, out := range outputs {
		for name, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("%s output contains the %s:\n%s", what, name, out)
			}
		}
	}
	s := cfg.String()
	for _, want := range []string{
		"upsell:[redacted]@tcp(db.internal:3306)/paymenter", // DSN keeps all but the password
		"admin_token: '[redacted]'",
		"region: eu-west", // non-secret settings stay readable
		"https://admin:[redacted]@billing.example.com",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
	if cfg.Security.AdminToken.Reveal() != secrets["admin token"] {
		t.Error("Redacted modified the original")
	}
	if cfg.Plugins.Modules["microupsell"]["smtp_password"] != secrets["module setting"] {
		t.Error("Redacted modified the original's settings map")
	}

	got := cfg.Secrets()
	for name, secret := range secrets {
		if !slices.Contains(got, secret) {
			t.Errorf("Secrets() lacks the %s", name)
		}
	}
	if slices.Contains(got, "eu-west") {
		t.Error("Secrets() holds a non-secret setting")
	}
}

func TestRedactionOfEmptySecrets(t *testing.T) {
	var c Config
	if s := c.Security.AdminToken.String(); s != "" {
		t.Errorf("empty secret prints %q; want empty so 'not set' stays visible", s)
	}
	if s := Secret("x").String(); s != "[redacted]" {
		t.Errorf("secret prints %q", s)
	}
}

func TestWarnings(t *testing.T) {
	isolateEnv(t)
	path := writeFile(t, yamlFor("security.admin_token", strings.Repeat("s", 40)))
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvConfig, path)
	t.Setenv("UPSELL_SECURITY_ADMINTOKEN", "typo")
	t.Setenv("UPSELL_TEST_MYSQL_DSN", "ignored")
	cfg, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(cfg.Warnings, "\n")
	for _, want := range []string{"every local user can read it (mode 0644)", "UPSELL_SECURITY_ADMINTOKEN is not an upsell setting"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "UPSELL_TEST_MYSQL_DSN") || strings.Contains(joined, "typo") {
		t.Errorf("warnings mention an ignored variable or a value:\n%s", joined)
	}
}

func TestDefaultSocketDir(t *testing.T) {
	tests := []struct {
		xdg, want string
	}{
		{"", "/tmp/upsell-plugins"},
		{"/run/user/1000", "/run/user/1000/upsell"},
		{"relative", "/tmp/upsell-plugins"},
		{"/" + strings.Repeat("x", 70), "/tmp/upsell-plugins"},
	}
	for _, tt := range tests {
		t.Run(tt.xdg, func(t *testing.T) {
			t.Setenv("XDG_RUNTIME_DIR", tt.xdg)
			if got := defaultSocketDir(); got != tt.want {
				t.Errorf("defaultSocketDir() = %q, want %q", got, tt.want)
			}
		})
	}
}

// The shipped example must load, must be refused while its CHANGE-ME
// placeholders are in, and must validate for serve once the secrets are
// supplied the way the example recommends (the environment).
func TestExampleConfig(t *testing.T) {
	isolateEnv(t)
	path := filepath.Join("..", "..", "examples", "upsell.example.yaml")
	t.Setenv(EnvConfig, path)

	_, err := Load(nil)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("example with placeholders: Load = %v, want a *ValidationError", err)
	}
	for _, key := range []string{"database.dsn", "panel.app_key", "security.admin_token", "security.link_secret", "security.webhook_secret"} {
		if !slices.ContainsFunc(verr.Problems, func(p string) bool { return strings.HasPrefix(p, key+" ") && strings.Contains(p, "CHANGE-ME") }) {
			t.Errorf("placeholder of %s not refused", key)
		}
	}
	if len(verr.Problems) != 5 {
		t.Errorf("example has problems besides its placeholders:\n%s", err)
	}

	t.Setenv("UPSELL_DATABASE_DSN", "upsell:s3cret-pw@tcp(127.0.0.1:3306)/paymenter?parseTime=true&loc=UTC")
	t.Setenv("UPSELL_PANEL_APP_KEY", appKey(t))
	t.Setenv("UPSELL_SECURITY_ADMIN_TOKEN", strings.Repeat("a1", 32))
	t.Setenv("UPSELL_SECURITY_LINK_SECRET", strings.Repeat("b2", 32))
	t.Setenv("UPSELL_SECURITY_WEBHOOK_SECRET", strings.Repeat("c3", 32))
	cfg, err := Load(nil)
	if err != nil {
		t.Fatalf("example with secrets from the environment: %v", err)
	}
	if err := cfg.Validate(ForServe); err != nil {
		t.Fatalf("example does not validate for serve: %v", err)
	}
	if len(cfg.Plugins.External) != 1 || cfg.Plugins.External[0].SHA256 == "" {
		t.Errorf("example's external adapter missing: %+v", cfg.Plugins.External)
	}
	if len(cfg.Servers) != 1 || cfg.Servers[0].ExtensionID == 0 {
		t.Errorf("example's server override missing: %+v", cfg.Servers)
	}
	if cfg.Plugins.SocketDir != "/run/upsell" || cfg.Security.LinkTTL != 24*time.Hour {
		t.Errorf("example values not read: socket_dir %q, link_ttl %s", cfg.Plugins.SocketDir, cfg.Security.LinkTTL)
	}
}
