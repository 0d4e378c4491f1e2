// Package config is the daemon's configuration.
//
// Every scalar setting has one key (database.dsn) and is read, highest
// precedence first, from
//
//  1. a command-line flag: --database-dsn (dots and underscores become dashes),
//  2. an environment variable: UPSELL_DATABASE_DSN,
//  3. the YAML file named by --config or UPSELL_CONFIG,
//  4. the built-in default.
//
// Lists and maps (plugins.external, plugins.modules, plugins.adapters,
// servers) come from the file only: they do not fit in a flag or a variable.
// There is no implicit search path: the daemon runs with the file its unit
// names, or none.
//
// Pure secrets (admin token, link and webhook secrets, APP_KEY, API keys) have
// no flags, because any local user can read a process's command line; set
// them in the file (mode 0600) or the environment (a systemd EnvironmentFile).
// They are held in the Secret type, whose every printed form is "[redacted]";
// Config.String, Redacted and LogValue also hide the DSN password and any
// plugin setting whose name looks secret, so a Config can be logged whole.
//
// Load refuses a file with unknown keys (a misspelt admin_token must not be
// silently ignored) and any value that is set but malformed. What must be set
// depends on the command, so Validate takes a Purpose: `upsell migrate` needs
// only a DSN, `upsell serve` needs everything.
package config

import (
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/upsell-io/upsell/internal/obs/redact"
)

// Config is the daemon's configuration. Build it with Load.
type Config struct {
	Database Database         `yaml:"database" mapstructure:"database"`
	Panel    Panel            `yaml:"panel" mapstructure:"panel"`
	HTTP     HTTP             `yaml:"http" mapstructure:"http"`
	Security Security         `yaml:"security" mapstructure:"security"`
	Plugins  Plugins          `yaml:"plugins" mapstructure:"plugins"`
	Servers  []ServerOverride `yaml:"servers,omitempty" mapstructure:"-"`
	Poller   Poller           `yaml:"poller" mapstructure:"poller"`
	Log      Log              `yaml:"log" mapstructure:"log"`
	UI       UI               `yaml:"ui" mapstructure:"ui"`

	// File is the configuration file that was read; empty when none was.
	File string `yaml:"-" mapstructure:"-"`
	// Warnings are problems worth logging that do not stop the daemon: a
	// config file others can read, an UPSELL_ variable nobody reads.
	Warnings []string `yaml:"-" mapstructure:"-"`
}

// Database is the connection to the panel's MySQL/MariaDB database, which
// upsell shares with Paymenter.
type Database struct {
	// DSN is a go-sql-driver/mysql DSN:
	// user:password@tcp(host:3306)/paymenter?parseTime=true.
	DSN             string        `yaml:"dsn" mapstructure:"dsn"`
	MaxOpenConns    int           `yaml:"max_open_conns" mapstructure:"max_open_conns"`
	MaxIdleConns    int           `yaml:"max_idle_conns" mapstructure:"max_idle_conns"`
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime" mapstructure:"conn_max_lifetime"`
}

// String shows the settings with the DSN's password redacted.
func (d Database) String() string {
	return fmt.Sprintf("{DSN:%s MaxOpenConns:%d MaxIdleConns:%d ConnMaxLifetime:%s}",
		redact.DSN(d.DSN), d.MaxOpenConns, d.MaxIdleConns, d.ConnMaxLifetime)
}

// GoString keeps %#v from printing the DSN's password.
func (d Database) GoString() string { return d.String() }

// LogValue keeps slog from printing the DSN's password.
func (d Database) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("dsn", redact.DSN(d.DSN)),
		slog.Int("max_open_conns", d.MaxOpenConns),
		slog.Int("max_idle_conns", d.MaxIdleConns),
		slog.Duration("conn_max_lifetime", d.ConnMaxLifetime))
}

// Panel says which billing panel upsell sits next to and how it writes
// invoices into it.
type Panel struct {
	// Kind is the panel software; only "paymenter" exists today.
	Kind string `yaml:"kind" mapstructure:"kind"`
	// BaseURL is the panel's public URL, used to build links to it.
	BaseURL string `yaml:"base_url" mapstructure:"base_url"`
	// AppKey is the panel's Laravel APP_KEY ("base64:..."), needed to read
	// the settings Paymenter stores encrypted (server credentials).
	AppKey Secret `yaml:"app_key" mapstructure:"app_key"`
	// InvoiceWriter is how upsell creates invoices: "sql" writes the rows
	// directly, "api" goes through the panel's API (APIURL, APIKey).
	InvoiceWriter string `yaml:"invoice_writer" mapstructure:"invoice_writer"`
	APIURL        string `yaml:"api_url" mapstructure:"api_url"`
	APIKey        Secret `yaml:"api_key" mapstructure:"api_key"`
}

// Accepted values of Panel.Kind, Panel.InvoiceWriter and ExternalPlugin.Kind.
const (
	PanelPaymenter    = "paymenter"
	InvoiceWriterSQL  = "sql"
	InvoiceWriterAPI  = "api"
	PluginKindModule  = "module"
	PluginKindAdapter = "adapter"
)

// HTTP is upsell's own HTTP API.
type HTTP struct {
	// Listen is the address to serve on. The default is loopback only: the
	// panel's web server proxies to it.
	Listen string `yaml:"listen" mapstructure:"listen"`
	// PublicURL is how clients' browsers reach upsell (through the proxy);
	// client links are built on it.
	PublicURL string `yaml:"public_url" mapstructure:"public_url"`
	// MetricsListen, when set, is a listener of its own serving /metrics
	// (and the probes) without a token, for a scraper on a private address;
	// Listen then does not serve /metrics at all. When empty, Listen serves
	// /metrics to requests bearing the admin token.
	MetricsListen string `yaml:"metrics_listen" mapstructure:"metrics_listen"`
	// FrameAncestors are the origins (space-separated, e.g.
	// "https://www.example.com") whose pages may embed upsell's public
	// pages (the Build-Your-Own configurator) in a frame. Empty: nobody
	// may; pages that act for a signed-in client are never framed.
	FrameAncestors string `yaml:"frame_ancestors" mapstructure:"frame_ancestors"`
}

// Security holds the shared secrets and link lifetime.
type Security struct {
	// AdminToken authenticates the panel's admin calls to upsell.
	AdminToken Secret `yaml:"admin_token" mapstructure:"admin_token"`
	// LinkSecret is the HMAC key signing client links.
	LinkSecret Secret `yaml:"link_secret" mapstructure:"link_secret"`
	// WebhookSecret authenticates the panel's webhooks; empty disables the
	// webhook endpoint (the poller still finds paid invoices).
	WebhookSecret Secret `yaml:"webhook_secret" mapstructure:"webhook_secret"`
	// LinkTTL is how long a signed client link stays valid.
	LinkTTL time.Duration `yaml:"link_ttl" mapstructure:"link_ttl"`
	// SessionTTL is how long the browser session a link is exchanged for
	// lasts (never beyond the link's own expiry).
	SessionTTL time.Duration `yaml:"session_ttl" mapstructure:"session_ttl"`
	// AdminSessionTTL is how long an admin stays signed in to the console.
	AdminSessionTTL time.Duration `yaml:"admin_session_ttl" mapstructure:"admin_session_ttl"`
}

// Plugins configures the plugin subprocesses.
type Plugins struct {
	// Dir holds third-party plugin binaries; ExternalPlugin.Path is relative
	// to it.
	Dir string `yaml:"dir" mapstructure:"dir"`
	// SocketDir is where go-plugin creates its unix sockets. It must be
	// short (see MaxSocketDirLen) and private to the daemon's user: the
	// supervisor creates it 0700.
	SocketDir      string        `yaml:"socket_dir" mapstructure:"socket_dir"`
	StartTimeout   time.Duration `yaml:"start_timeout" mapstructure:"start_timeout"`
	MaxRestarts    int           `yaml:"max_restarts" mapstructure:"max_restarts"`
	RestartBackoff time.Duration `yaml:"restart_backoff" mapstructure:"restart_backoff"`
	// RestartWindow is the period MaxRestarts is counted over.
	RestartWindow time.Duration `yaml:"restart_window" mapstructure:"restart_window"`

	// External are third-party plugin binaries, pinned by checksum.
	External []ExternalPlugin `yaml:"external,omitempty" mapstructure:"-"`
	// Modules are the settings of first-party modules, by module name.
	Modules map[string]map[string]string `yaml:"modules,omitempty" mapstructure:"-"`
	// Adapters are the settings of first-party adapters, by adapter name.
	Adapters map[string]map[string]string `yaml:"adapters,omitempty" mapstructure:"-"`
}

// ExternalPlugin is a third-party plugin binary.
type ExternalPlugin struct {
	// Name identifies the plugin in logs, metrics and /readyz.
	Name string `yaml:"name"`
	// Kind is "module" or "adapter".
	Kind string `yaml:"kind"`
	// Path is the binary, relative to Plugins.Dir.
	Path string `yaml:"path"`
	// SHA256 is the binary's hex checksum (sha256sum), checked at every
	// launch so a replaced binary is never run.
	SHA256 string `yaml:"sha256"`
	// Settings are passed to the plugin when it is configured.
	Settings map[string]string `yaml:"settings,omitempty"`
}

// ServerOverride gives upsell its own credentials for one panel server,
// overriding what the panel's server binding says (for instance an API key
// with more rights than the panel's).
type ServerOverride struct {
	// ExtensionID or Name (exactly one) selects the panel's server entry.
	ExtensionID uint64 `yaml:"extension_id,omitempty"`
	Name        string `yaml:"name,omitempty"`
	// Adapter is the adapter that talks to this server (e.g. pterodactyl).
	Adapter string `yaml:"adapter"`
	URL     string `yaml:"url"`
	APIKey  Secret `yaml:"api_key"`
}

// Poller finds paid invoices by polling the panel's database.
type Poller struct {
	Interval time.Duration `yaml:"interval" mapstructure:"interval"`
	// ReconcileInterval is how often modules check that what they sold is
	// still in place (the panel may recompute prices or reset servers).
	ReconcileInterval time.Duration `yaml:"reconcile_interval" mapstructure:"reconcile_interval"`
}

// UI themes the pages clients see: the provider's name and logo in the
// header, the accent colour, and optionally a layout of their own.
type UI struct {
	// Name is the provider's name in every page's header and title.
	Name string `yaml:"name" mapstructure:"name"`
	// LogoURL is an https image shown beside the name (allowed by the
	// pages' Content-Security-Policy).
	LogoURL string `yaml:"logo_url" mapstructure:"logo_url"`
	// Accent is the accent colour, #rrggbb; it must keep 4.5:1 contrast
	// with white text (WCAG AA), which the daemon checks.
	Accent string `yaml:"accent" mapstructure:"accent"`
	// TemplateDir may hold layout.html, replacing the built-in layout.
	TemplateDir string `yaml:"template_dir" mapstructure:"template_dir"`
}

// Log configures the daemon's logs.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level" mapstructure:"level"`
	// Format is json (for log collectors) or text (for a terminal).
	Format string `yaml:"format" mapstructure:"format"`
}

// Secret is a string that must never be printed. Its String, GoString,
// MarshalText and LogValue all return "[redacted]" (empty stays empty, so
// "not set" remains visible); Reveal returns the value for the one place
// that uses it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return redact.Text
}

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string { return s.mask() }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `"` + s.mask() + `"` }

// MarshalText keeps encoders (JSON, YAML) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// Redacted returns a copy of c that is safe to show: secrets are
// "[redacted]", as are the DSN's password, passwords in URLs and plugin
// settings whose names look secret (redact.IsSecretKey). The copy shares
// nothing with c.
func (c Config) Redacted() Config {
	r := c
	r.Database.DSN = redact.DSN(c.Database.DSN)
	r.Panel.BaseURL = redactURL(c.Panel.BaseURL)
	r.Panel.AppKey = Secret(c.Panel.AppKey.mask())
	r.Panel.APIURL = redactURL(c.Panel.APIURL)
	r.Panel.APIKey = Secret(c.Panel.APIKey.mask())
	r.HTTP.PublicURL = redactURL(c.HTTP.PublicURL)
	r.Security.AdminToken = Secret(c.Security.AdminToken.mask())
	r.Security.LinkSecret = Secret(c.Security.LinkSecret.mask())
	r.Security.WebhookSecret = Secret(c.Security.WebhookSecret.mask())

	r.Plugins.External = nil
	for _, p := range c.Plugins.External {
		p.Settings = redactSettings(p.Settings)
		r.Plugins.External = append(r.Plugins.External, p)
	}
	r.Plugins.Modules = redactSettingsByName(c.Plugins.Modules)
	r.Plugins.Adapters = redactSettingsByName(c.Plugins.Adapters)

	r.Servers = nil
	for _, s := range c.Servers {
		s.URL = redactURL(s.URL)
		s.APIKey = Secret(s.APIKey.mask())
		r.Servers = append(r.Servers, s)
	}
	r.Warnings = append([]string(nil), c.Warnings...)
	return r
}

// Secrets returns every secret value in c (secrets, the DSN password, URL
// passwords, secret-looking plugin settings), for obs.RegisterSecret: a
// secret that reaches a log line under an innocent key is still cut out.
func (c Config) Secrets() []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	add(redact.DSNPassword(c.Database.DSN))
	for _, u := range []string{c.Panel.BaseURL, c.Panel.APIURL, c.HTTP.PublicURL} {
		add(urlPassword(u))
	}
	for _, s := range []Secret{c.Panel.AppKey, c.Panel.APIKey, c.Security.AdminToken, c.Security.LinkSecret, c.Security.WebhookSecret} {
		add(s.Reveal())
	}
	for _, p := range c.Plugins.External {
		for k, v := range p.Settings {
			if redact.IsSecretKey(k) {
				add(v)
			}
		}
	}
	for _, byName := range []map[string]map[string]string{c.Plugins.Modules, c.Plugins.Adapters} {
		for _, settings := range byName {
			for k, v := range settings {
				if redact.IsSecretKey(k) {
					add(v)
				}
			}
		}
	}
	for _, s := range c.Servers {
		add(s.APIKey.Reveal())
		add(urlPassword(s.URL))
	}
	return out
}

// String renders the redacted configuration as YAML, for showing operators
// the effective configuration.
func (c Config) String() string {
	out, err := yaml.Marshal(c.Redacted())
	if err != nil {
		// Cannot happen for these types; never fall back to %v of c.
		return "config: " + err.Error()
	}
	return string(out)
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return c.String() }

// LogValue logs the redacted configuration as nested groups.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(
		slog.Any("database", c.Database),
		slog.Group("panel",
			slog.String("kind", r.Panel.Kind),
			slog.String("base_url", r.Panel.BaseURL),
			slog.Bool("app_key_set", c.Panel.AppKey != ""),
			slog.String("invoice_writer", r.Panel.InvoiceWriter),
			slog.String("api_url", r.Panel.APIURL),
			slog.Bool("api_key_set", c.Panel.APIKey != "")),
		slog.Group("http",
			slog.String("listen", r.HTTP.Listen),
			slog.String("public_url", r.HTTP.PublicURL),
			slog.String("metrics_listen", r.HTTP.MetricsListen)),
		slog.Group("security",
			slog.Bool("admin_token_set", c.Security.AdminToken != ""),
			slog.Bool("link_secret_set", c.Security.LinkSecret != ""),
			slog.Bool("webhook_secret_set", c.Security.WebhookSecret != ""),
			slog.Duration("link_ttl", r.Security.LinkTTL)),
		slog.Group("plugins",
			slog.String("dir", r.Plugins.Dir),
			slog.String("socket_dir", r.Plugins.SocketDir),
			slog.Int("external", len(r.Plugins.External)),
			slog.Any("modules", sortedKeys(r.Plugins.Modules)),
			slog.Any("adapters", sortedKeys(r.Plugins.Adapters))),
		slog.Int("servers", len(r.Servers)),
		slog.Duration("poller_interval", r.Poller.Interval),
		slog.Duration("reconcile_interval", r.Poller.ReconcileInterval),
		slog.String("log_level", r.Log.Level),
		slog.String("file", r.File),
	)
}

func redactSettings(settings map[string]string) map[string]string {
	if settings == nil {
		return nil
	}
	out := make(map[string]string, len(settings))
	for k, v := range settings {
		if redact.IsSecretKey(k) && v != "" {
			v = redact.Text
		} else {
			v = redact.Scrub(nil, v)
		}
		out[k] = v
	}
	return out
}

func redactSettingsByName(byName map[string]map[string]string) map[string]map[string]string {
	if byName == nil {
		return nil
	}
	out := make(map[string]map[string]string, len(byName))
	for name, settings := range byName {
		out[name] = redactSettings(settings)
	}
	return out
}

func sortedKeys(m map[string]map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// redactURL hides the password of a URL with user info; anything that does
// not parse goes through redact.Scrub, which finds scheme://user:pass@ too.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return redact.Scrub(nil, raw)
	}
	if _, has := u.User.Password(); !has {
		return raw
	}
	// url.URL.Redacted writes "xxxxx"; say it the way the rest of upsell does.
	return strings.Replace(u.Redacted(), ":xxxxx@", ":"+redact.Text+"@", 1)
}

// urlPassword is the password in a URL's user info, or "".
func urlPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}
