package config

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/upsell-io/upsell/internal/laravelcrypt"
	"github.com/upsell-io/upsell/internal/obs/redact"
)

// Purpose says what a command needs from the configuration.
type Purpose int

// Purposes, from least to most demanding.
const (
	// ForAnyCommand requires nothing, but whatever is set must be
	// well-formed. Load always checks this.
	ForAnyCommand Purpose = iota
	// ForMigrate requires the database.
	ForMigrate
	// ForLink requires what signing a client link needs.
	ForLink
	// ForServe requires everything the daemon needs to run.
	ForServe
)

func (p Purpose) String() string {
	switch p {
	case ForAnyCommand:
		return "any command"
	case ForMigrate:
		return "migrate"
	case ForLink:
		return "link"
	case ForServe:
		return "serve"
	default:
		return "purpose(" + strconv.Itoa(int(p)) + ")"
	}
}

// MinSecretLen is the shortest admin token, link secret or webhook secret
// accepted: 32 characters is 128 bits as hex, the least for an HMAC key or a
// bearer token guarded only by its length.
const MinSecretLen = 32

// Bounds of the durations, chosen so that a missing unit (30 meaning 30ns) or
// an extra zero is caught rather than obeyed.
const (
	minLinkTTL      = time.Minute
	maxLinkTTL      = 30 * 24 * time.Hour
	minPollInterval = time.Second
)

// placeholderMarker marks values in examples/upsell.example.yaml that must be
// replaced; running with one is refused.
const placeholderMarker = "CHANGE-ME"

// pluginName is what plugin, module and adapter names may look like: they
// end up in metric labels, socket names and log lines.
var pluginName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidationError lists every problem found, so an operator fixes them all in
// one pass. Each problem starts with the key it is about (and its variable).
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Validate checks c for purpose p: what is set must be well-formed and
// consistent, and what p needs must be set. The error, a *ValidationError,
// never contains a secret.
func (c Config) Validate(p Purpose) error {
	v := &validator{}

	// Requirements of the purpose.
	need := func(key string, set bool, why string) {
		if !set {
			v.addKey(key, "required by %s; %s", p, why)
		}
	}
	if p == ForMigrate || p == ForServe || p == ForLink {
		// link reads the panel: the service must be the user's.
		need("database.dsn", c.Database.DSN != "", "set it to the panel's database, e.g. upsell:PASSWORD@tcp(127.0.0.1:3306)/paymenter?parseTime=true")
	}
	if p == ForLink || p == ForServe {
		need("security.link_secret", c.Security.LinkSecret != "", "generate one with `openssl rand -hex 32`")
		need("http.public_url", c.HTTP.PublicURL != "", "set the URL clients reach upsell at")
	}
	if p == ForServe {
		need("panel.base_url", c.Panel.BaseURL != "", "set the panel's public URL")
		need("panel.app_key", c.Panel.AppKey != "", "copy APP_KEY from the panel's .env; it decrypts the server credentials Paymenter stores")
		need("security.admin_token", c.Security.AdminToken != "", "generate one with `openssl rand -hex 32`")
	}

	// Well-formedness of whatever is set.
	c.checkDatabase(v)
	c.checkPanel(v)
	c.checkHTTP(v)
	c.checkSecurity(v)
	c.checkUI(v)
	c.checkPlugins(v)
	c.checkServers(v)
	if c.Poller.Interval < minPollInterval {
		v.addKey("poller.interval", "%s is below the minimum %s (a duration needs a unit: 30s)", c.Poller.Interval, minPollInterval)
	}
	if c.Poller.ReconcileInterval < time.Minute {
		v.addKey("poller.reconcile_interval", "%s is below the minimum 1m", c.Poller.ReconcileInterval)
	}
	// The names obs.NewLogger understands; config does not import obs,
	// which would pull the metrics stack into every user of the config.
	switch c.Log.Level {
	case "debug", "info", "warn", "warning", "error":
	default:
		v.addKey("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		v.addKey("log.format", "%q is not json or text", c.Log.Format)
	}
	return v.err()
}

func (c Config) checkDatabase(v *validator) {
	d := c.Database
	if d.DSN != "" && !v.placeholder("database.dsn", d.DSN) {
		// The driver's messages quote parameter values, never the password,
		// but run them through Redact anyway.
		if dsn, err := mysql.ParseDSN(d.DSN); err != nil {
			v.addKey("database.dsn", "not a MySQL DSN (user:password@tcp(host:3306)/database): %s", redact.Scrub(nil, err.Error()))
		} else if dsn.DBName == "" {
			v.addKey("database.dsn", "names no database; end it with /paymenter (the panel's database)")
		}
	}
	// database/sql reads 0 open connections as unlimited, which on a server
	// shared with the panel can take all of max_connections.
	// At least 2: the service locks' session keeps one for the daemon's
	// life, and every request and job needs one (ARCHITECTURE.md, the pool
	// rule).
	if d.MaxOpenConns < minOpenConns {
		v.addKey("database.max_open_conns", "must be at least %d (got %d)", minOpenConns, d.MaxOpenConns)
	}
	if d.MaxIdleConns < 0 || (d.MaxOpenConns > 0 && d.MaxIdleConns > d.MaxOpenConns) {
		v.addKey("database.max_idle_conns", "must be between 0 and max_open_conns %d (got %d)", d.MaxOpenConns, d.MaxIdleConns)
	}
	if d.ConnMaxLifetime < 0 {
		v.addKey("database.conn_max_lifetime", "must not be negative (got %s)", d.ConnMaxLifetime)
	}
}

func (c Config) checkPanel(v *validator) {
	p := c.Panel
	if p.Kind != PanelPaymenter {
		v.addKey("panel.kind", "%q is not a supported panel (paymenter)", p.Kind)
	}
	v.httpURL("panel.base_url", p.BaseURL)
	if p.AppKey != "" && !v.placeholder("panel.app_key", p.AppKey.Reveal()) {
		if _, err := laravelcrypt.ParseKey(p.AppKey.Reveal()); err != nil {
			v.addKey("panel.app_key", "not a valid APP_KEY (%v); copy the whole APP_KEY=base64:... value from the panel's .env", err)
		}
	}
	switch p.InvoiceWriter {
	case InvoiceWriterSQL:
	case InvoiceWriterAPI:
		if p.APIURL == "" {
			v.addKey("panel.api_url", "required by invoice_writer %q", InvoiceWriterAPI)
		}
		if p.APIKey == "" {
			v.addKey("panel.api_key", "required by invoice_writer %q", InvoiceWriterAPI)
		}
	default:
		v.addKey("panel.invoice_writer", "%q is not an invoice writer (sql or api)", p.InvoiceWriter)
	}
	v.httpURL("panel.api_url", p.APIURL)
	v.placeholder("panel.api_key", p.APIKey.Reveal())
}

func (c Config) checkHTTP(v *validator) {
	v.listenAddr("http.listen", c.HTTP.Listen, "127.0.0.1:8080")
	if c.HTTP.MetricsListen != "" {
		v.listenAddr("http.metrics_listen", c.HTTP.MetricsListen, "127.0.0.1:9090")
		if c.HTTP.MetricsListen == c.HTTP.Listen {
			v.addKey("http.metrics_listen", "%q is http.listen too; give the metrics a listener of their own, or leave it empty to serve /metrics on http.listen behind the admin token", c.HTTP.MetricsListen)
		}
	}
	v.httpURL("http.public_url", c.HTTP.PublicURL)
	for _, origin := range strings.Fields(c.HTTP.FrameAncestors) {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			v.addKey("http.frame_ancestors", "%q is not an origin like https://www.example.com", origin)
		}
	}
}

func (c Config) checkUI(v *validator) {
	if c.UI.LogoURL != "" {
		if u, err := url.Parse(c.UI.LogoURL); err != nil || u.Scheme != "https" || u.Host == "" {
			v.addKey("ui.logo_url", "%q is not an https URL", c.UI.LogoURL)
		}
	}
	if !accentColour.MatchString(c.UI.Accent) {
		v.addKey("ui.accent", "%q is not a colour like #1d4ed8", c.UI.Accent)
	}
	if len([]rune(c.UI.Name)) > 80 || strings.ContainsAny(c.UI.Name, "\r\n") {
		v.addKey("ui.name", "must be one line of at most 80 characters")
	}
}

var accentColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (c Config) checkSecurity(v *validator) {
	s := c.Security
	named := []struct {
		key   string
		value Secret
	}{
		{"security.admin_token", s.AdminToken},
		{"security.link_secret", s.LinkSecret},
		{"security.webhook_secret", s.WebhookSecret},
	}
	for i, n := range named {
		if n.value == "" {
			continue
		}
		if v.placeholder(n.key, n.value.Reveal()) {
			continue
		}
		if len(n.value) < MinSecretLen {
			v.addKey(n.key, "is %d characters, at least %d are required; generate one with `openssl rand -hex 32`", len(n.value), MinSecretLen)
		}
		// One leaked secret must not unlock the others.
		for _, other := range named[i+1:] {
			if other.value == n.value {
				v.addKey(other.key, "must differ from %s", n.key)
			}
		}
	}
	if s.AdminSessionTTL < time.Minute || s.AdminSessionTTL > 12*time.Hour {
		v.addKey("security.admin_session_ttl", "%s is outside 1m..12h", s.AdminSessionTTL)
	}
	if s.SessionTTL < time.Minute || s.SessionTTL > 24*time.Hour {
		v.addKey("security.session_ttl", "%s is outside 1m..24h", s.SessionTTL)
	}
	if s.LinkTTL < minLinkTTL || s.LinkTTL > maxLinkTTL {
		v.addKey("security.link_ttl", "%s is outside %s..%s (a signed link is a bearer credential)", s.LinkTTL, minLinkTTL, maxLinkTTL)
	}
}

func (c Config) checkPlugins(v *validator) {
	p := c.Plugins
	if len(p.External) > 0 && p.Dir == "" {
		v.addKey("plugins.dir", "required when plugins.external lists plugins")
	}
	switch {
	case p.SocketDir == "":
		v.addKey("plugins.socket_dir", "must be set")
	case !filepath.IsAbs(p.SocketDir):
		v.addKey("plugins.socket_dir", "%q must be an absolute path", p.SocketDir)
	case len(p.SocketDir) > MaxSocketDirLen:
		v.addKey("plugins.socket_dir", "%q is %d bytes; unix socket paths are limited to about 104 bytes, so keep it at most %d (e.g. /run/upsell)", p.SocketDir, len(p.SocketDir), MaxSocketDirLen)
	}
	if p.StartTimeout <= 0 {
		v.addKey("plugins.start_timeout", "must be positive (got %s)", p.StartTimeout)
	}
	if p.MaxRestarts < 0 {
		v.addKey("plugins.max_restarts", "must not be negative (got %d)", p.MaxRestarts)
	}
	if p.RestartBackoff <= 0 {
		v.addKey("plugins.restart_backoff", "must be positive (got %s)", p.RestartBackoff)
	}
	if p.RestartWindow <= 0 {
		v.addKey("plugins.restart_window", "must be positive (got %s)", p.RestartWindow)
	}

	seen := make(map[string]string) // name -> where it was first defined
	claim := func(where, name string) {
		if first, dup := seen[name]; dup {
			v.add("%s: plugin name %q is already used by %s", where, name, first)
			return
		}
		seen[name] = where
	}
	for i, e := range p.External {
		where := fmt.Sprintf("plugins.external[%d]", i)
		if e.Name != "" {
			where = fmt.Sprintf("plugins.external[%d] (%s)", i, e.Name)
		}
		if !pluginName.MatchString(e.Name) {
			v.add("%s.name: %q must be lower-case letters, digits, - and _ (it names metrics and sockets)", where, e.Name)
		} else {
			claim(where, e.Name)
		}
		if e.Kind != PluginKindModule && e.Kind != PluginKindAdapter {
			v.add("%s.kind: %q is not module or adapter", where, e.Kind)
		}
		switch {
		case e.Path == "":
			v.add("%s.path: must name the binary, relative to plugins.dir", where)
		case !filepath.IsLocal(e.Path):
			v.add("%s.path: %q must be relative to plugins.dir and stay inside it", where, e.Path)
		}
		if !v.placeholder(where+".sha256", e.SHA256) {
			if sum, err := hex.DecodeString(e.SHA256); err != nil || len(sum) != 32 {
				v.add("%s.sha256: must be the binary's 64-hex-digit checksum (sha256sum %s); upsell never runs an unpinned binary", where, e.Path)
			}
		}
		v.settings(where+".settings", e.Settings)
	}
	for _, section := range []struct {
		key    string
		byName map[string]map[string]string
	}{{"plugins.modules", p.Modules}, {"plugins.adapters", p.Adapters}} {
		for _, name := range slices.Sorted(maps.Keys(section.byName)) {
			if !pluginName.MatchString(name) {
				v.add("%s: %q is not a plugin name (lower-case letters, digits, - and _)", section.key, name)
			}
			v.settings(section.key+"."+name, section.byName[name])
		}
	}
}

func (c Config) checkServers(v *validator) {
	byID := make(map[uint64]int)
	byName := make(map[string]int)
	for i, s := range c.Servers {
		where := fmt.Sprintf("servers[%d]", i)
		switch {
		case s.ExtensionID != 0 && s.Name != "":
			v.add("%s: set extension_id or name, not both", where)
		case s.ExtensionID == 0 && s.Name == "":
			v.add("%s: set extension_id or name to say which panel server this overrides", where)
		case s.ExtensionID != 0:
			if first, dup := byID[s.ExtensionID]; dup {
				v.add("%s: extension_id %d is already overridden by servers[%d]", where, s.ExtensionID, first)
			}
			byID[s.ExtensionID] = i
		default:
			if first, dup := byName[s.Name]; dup {
				v.add("%s: name %q is already overridden by servers[%d]", where, s.Name, first)
			}
			byName[s.Name] = i
		}
		if !pluginName.MatchString(s.Adapter) {
			v.add("%s.adapter: %q is not an adapter name", where, s.Adapter)
		}
		if s.URL == "" {
			v.add("%s.url: must be set", where)
		} else {
			v.httpURL(where+".url", s.URL)
		}
		if s.APIKey == "" {
			v.add("%s.api_key: must be set", where)
		} else {
			v.placeholder(where+".api_key", s.APIKey.Reveal())
		}
	}
}

// validator collects problems.
type validator struct {
	problems []string
}

// minOpenConns is the smallest pool that cannot starve: the lock session
// and one connection that requests and jobs take in turn.
const minOpenConns = 2

func (v *validator) add(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// addKey reports a problem with a scalar key, naming its variable so the
// operator knows every place it can be set.
func (v *validator) addKey(key, format string, args ...any) {
	v.problems = append(v.problems, label(key)+": "+fmt.Sprintf(format, args...))
}

// label names a scalar key (section.name) with its variable; list entries
// and plugin settings have none.
func label(key string) string {
	if strings.Contains(key, "[") || strings.Count(key, ".") != 1 {
		return key
	}
	return fmt.Sprintf("%s (%s)", key, EnvName(key))
}

// placeholder reports (and returns true for) a value still holding the
// example file's CHANGE-ME marker.
func (v *validator) placeholder(key, value string) bool {
	if !strings.Contains(strings.ToUpper(value), placeholderMarker) {
		return false
	}
	v.add("%s: still the example's %s placeholder; replace it", label(key), placeholderMarker)
	return true
}

// httpURL checks that a set value is an absolute http(s) URL.
func (v *validator) httpURL(key, raw string) {
	if raw == "" || v.placeholder(key, raw) {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add("%s: %q is not an absolute http(s) URL", label(key), redactURL(raw))
	}
}

// settings checks a plugin's settings for leftover placeholders.
// listenAddr checks a host:port address to listen on.
func (v *validator) listenAddr(key, addr, example string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.addKey(key, "%q is not host:port (e.g. %s)", addr, example)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.addKey(key, "%q has no valid port", addr)
	}
}

func (v *validator) settings(where string, settings map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if k == "" {
			v.add("%s: a setting has an empty name", where)
		}
		v.placeholder(where+"."+k, settings[k])
	}
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}
