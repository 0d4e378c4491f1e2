package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// FlagConfig is the flag naming the configuration file; EnvConfig is the
// variable that does when the flag is not given.
const (
	FlagConfig = "config"
	EnvConfig  = "UPSELL_CONFIG"
)

// EnvPrefix starts every environment variable upsell reads.
const EnvPrefix = "UPSELL_"

// MaxSocketDirLen bounds Plugins.SocketDir. A unix socket path holds at most
// 103 bytes on macOS and the BSDs (107 on Linux), and go-plugin adds about 40
// (/plugin-dirNNNNNNNNNN/pluginNNNNNNNNNN) below the directory.
const MaxSocketDirLen = 60

// setting is one scalar configuration key.
type setting struct {
	// key is the viper key, the YAML path: "database.dsn".
	key string
	// def is the default; its type (string, int, time.Duration) is also the
	// flag's type.
	def   any
	usage string
	// secret settings get no flag: command lines are readable by every local
	// user (ps, /proc/PID/cmdline).
	secret bool
}

// settings lists every scalar key. It is a function because the socket
// directory's default depends on the environment.
func settings() []setting {
	return []setting{
		{key: "database.dsn", def: "", usage: "MySQL DSN of the panel database, user:password@tcp(host:3306)/paymenter?parseTime=true; prefer the environment variable, command lines are visible to local users"},
		{key: "database.max_open_conns", def: 10, usage: "maximum open database connections (the panel shares the server's max_connections)"},
		{key: "database.max_idle_conns", def: 5, usage: "maximum idle database connections"},
		{key: "database.conn_max_lifetime", def: 5 * time.Minute, usage: "recycle database connections after this long (0: never)"},
		{key: "panel.kind", def: PanelPaymenter, usage: "billing panel software (paymenter)"},
		{key: "panel.base_url", def: "", usage: "public URL of the panel, e.g. https://billing.example.com"},
		{key: "panel.app_key", def: "", usage: "the panel's Laravel APP_KEY", secret: true},
		{key: "panel.invoice_writer", def: InvoiceWriterSQL, usage: "how invoices are created: sql (write rows) or api (panel API)"},
		{key: "panel.api_url", def: "", usage: "panel API URL, for invoice_writer api"},
		{key: "panel.api_key", def: "", usage: "panel API key, for invoice_writer api", secret: true},
		{key: "http.listen", def: "127.0.0.1:8080", usage: "address the HTTP API listens on"},
		{key: "http.metrics_listen", def: "", usage: "address of a separate listener serving /metrics without a token (keep it private); empty: /metrics is on http.listen behind the admin token"},
		{key: "http.public_url", def: "", usage: "URL clients reach upsell at (through the panel's proxy); client links are built on it"},
		{key: "security.admin_token", def: "", usage: "token the panel's admin calls present", secret: true},
		{key: "security.link_secret", def: "", usage: "HMAC key signing client links", secret: true},
		{key: "security.webhook_secret", def: "", usage: "secret authenticating panel webhooks", secret: true},
		{key: "http.frame_ancestors", def: "", usage: "origins whose pages may frame the public configurator, space-separated (empty: none)"},
		{key: "security.session_ttl", def: 30 * time.Minute, usage: "how long the browser session a client link is exchanged for lasts"},
		{key: "security.admin_session_ttl", def: time.Hour, usage: "how long an admin stays signed in to the console"},
		{key: "ui.name", def: "", usage: "provider name shown on client pages"},
		{key: "ui.logo_url", def: "", usage: "https URL of the provider's logo for client pages"},
		{key: "ui.accent", def: "#1d4ed8", usage: "accent colour of client pages, #rrggbb"},
		{key: "ui.template_dir", def: "", usage: "directory with a layout.html replacing the built-in page layout"},
		{key: "security.link_ttl", def: 24 * time.Hour, usage: "how long a signed client link stays valid"},
		{key: "plugins.dir", def: "/var/lib/upsell/plugins", usage: "directory of third-party plugin binaries"},
		{key: "plugins.socket_dir", def: defaultSocketDir(), usage: "short private directory for plugin unix sockets"},
		{key: "plugins.start_timeout", def: 20 * time.Second, usage: "how long a plugin may take to start"},
		{key: "plugins.max_restarts", def: 5, usage: "restarts within restart_window before a plugin is left down"},
		{key: "plugins.restart_backoff", def: 500 * time.Millisecond, usage: "first delay before restarting a plugin (doubles each time)"},
		{key: "plugins.restart_window", def: 10 * time.Minute, usage: "period over which max_restarts is counted"},
		{key: "poller.interval", def: 30 * time.Second, usage: "how often the panel database is polled for paid invoices"},
		{key: "poller.reconcile_interval", def: 5 * time.Minute, usage: "how often modules restore what the panel undid (recomputed prices, reset servers)"},
		{key: "log.level", def: "info", usage: "log level: debug, info, warn or error"},
		{key: "log.format", def: "json", usage: "log format: json or text"},
	}
}

// defaultSocketDir is $XDG_RUNTIME_DIR/upsell when that is set and short
// (a per-user tmpfs nobody else can write), else /tmp/upsell-plugins.
func defaultSocketDir() string {
	if run := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(run) {
		if dir := filepath.Join(run, "upsell"); len(dir) <= MaxSocketDirLen {
			return dir
		}
	}
	return "/tmp/upsell-plugins"
}

// FlagName is the flag for a key: "database.max_open_conns" is
// "database-max-open-conns".
func FlagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// EnvName is the environment variable for a key: "database.dsn" is
// "UPSELL_DATABASE_DSN".
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Register defines --config and one flag per non-secret key on flags,
// typically a cobra root command's PersistentFlags.
func Register(flags *pflag.FlagSet) {
	flags.String(FlagConfig, "", "YAML configuration file (env "+EnvConfig+")")
	for _, s := range settings() {
		if s.secret {
			continue
		}
		name, usage := FlagName(s.key), s.usage+" (env "+EnvName(s.key)+")"
		switch def := s.def.(type) {
		case string:
			flags.String(name, def, usage)
		case int:
			flags.Int(name, def, usage)
		case time.Duration:
			flags.Duration(name, def, usage)
		default:
			panic(fmt.Sprintf("config: setting %s has default of unsupported type %T", s.key, def))
		}
	}
}

// Load builds the configuration from flags (which may be nil, or lack some of
// Register's flags), the environment, the configuration file and defaults,
// and checks it with Validate(ForAnyCommand). Callers then check what their
// command needs, e.g. cfg.Validate(ForServe).
func Load(flags *pflag.FlagSet) (Config, error) {
	v := viper.New()
	all := settings()
	for _, s := range all {
		v.SetDefault(s.key, s.def)
		if err := v.BindEnv(s.key, EnvName(s.key)); err != nil {
			return Config{}, fmt.Errorf("bind %s: %w", EnvName(s.key), err)
		}
		if flags == nil || s.secret {
			continue
		}
		if f := flags.Lookup(FlagName(s.key)); f != nil {
			if err := v.BindPFlag(s.key, f); err != nil {
				return Config{}, fmt.Errorf("bind --%s: %w", f.Name, err)
			}
		}
	}
	if err := checkEnvTypes(all); err != nil {
		return Config{}, err
	}

	path := configPath(flags)
	var fromFile Config
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("read config file: %w", err)
		}
		if fromFile, err = decodeFile(data); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}

	var cfg Config
	if err := v.Unmarshal(&cfg); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	// Viper lower-cases map keys; plugin names and setting names are the
	// plugin author's, so the structured sections come from the YAML as
	// written.
	cfg.Plugins.External = fromFile.Plugins.External
	cfg.Plugins.Modules = fromFile.Plugins.Modules
	cfg.Plugins.Adapters = fromFile.Plugins.Adapters
	cfg.Servers = fromFile.Servers
	cfg.File = path
	cfg.normalize()
	cfg.Warnings = warnings(path, fromFile)

	if err := cfg.Validate(ForAnyCommand); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// configPath is --config if given, else $UPSELL_CONFIG.
func configPath(flags *pflag.FlagSet) string {
	if flags != nil {
		if f := flags.Lookup(FlagConfig); f != nil && f.Changed {
			return f.Value.String()
		}
	}
	return os.Getenv(EnvConfig)
}

// decodeFile decodes the YAML strictly: an unknown key is an error with its
// line, so a misspelt setting is never silently ignored. Viper reads the same
// bytes for precedence; this pass is what catches mistakes.
func decodeFile(data []byte) (Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	return cfg, nil
}

// checkEnvTypes reports malformed numbers and durations in the environment
// by variable name; viper's decoder would only name the key.
func checkEnvTypes(all []setting) error {
	var problems []string
	for _, s := range all {
		name := EnvName(s.key)
		val, ok := os.LookupEnv(name)
		if !ok || val == "" {
			continue
		}
		switch s.def.(type) {
		case int:
			if _, err := strconv.Atoi(strings.TrimSpace(val)); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %q is not a whole number", name, val))
			}
		case time.Duration:
			if _, err := time.ParseDuration(strings.TrimSpace(val)); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %q is not a duration such as 30s, 5m or 24h", name, val))
			}
		}
	}
	if problems != nil {
		return &ValidationError{Problems: problems}
	}
	return nil
}

// normalize trims what operators commonly add by accident.
func (c *Config) normalize() {
	c.Panel.Kind = strings.ToLower(strings.TrimSpace(c.Panel.Kind))
	c.Panel.InvoiceWriter = strings.ToLower(strings.TrimSpace(c.Panel.InvoiceWriter))
	c.Panel.BaseURL = strings.TrimRight(strings.TrimSpace(c.Panel.BaseURL), "/")
	c.Panel.APIURL = strings.TrimRight(strings.TrimSpace(c.Panel.APIURL), "/")
	c.HTTP.PublicURL = strings.TrimRight(strings.TrimSpace(c.HTTP.PublicURL), "/")
	c.Log.Level = strings.ToLower(strings.TrimSpace(c.Log.Level))
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))
	if c.Plugins.Dir != "" {
		c.Plugins.Dir = filepath.Clean(c.Plugins.Dir)
	}
	if c.Plugins.SocketDir != "" {
		c.Plugins.SocketDir = filepath.Clean(c.Plugins.SocketDir)
	}
	for i := range c.Plugins.External {
		p := &c.Plugins.External[i]
		p.Kind = strings.ToLower(strings.TrimSpace(p.Kind))
		p.SHA256 = strings.ToLower(strings.TrimSpace(p.SHA256))
	}
	for i := range c.Servers {
		c.Servers[i].URL = strings.TrimRight(strings.TrimSpace(c.Servers[i].URL), "/")
	}
}

// UPSELL_ variables that are not settings but are legitimate: the config
// file's own variable, go-plugin's handshake cookie (set for plugins), and the
// test suite's.
var (
	ignoredEnvNames    = map[string]bool{EnvConfig: true, "UPSELL_PLUGIN": true}
	ignoredEnvPrefixes = []string{"UPSELL_TEST_"}
)

// warnings finds problems worth logging that should not stop the daemon.
func warnings(path string, fromFile Config) []string {
	var out []string
	if path != "" && len(fromFile.Secrets()) > 0 {
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o007 != 0 {
			out = append(out, fmt.Sprintf("config file %s holds secrets but every local user can read it (mode %04o); chmod o-rwx it", path, info.Mode().Perm()))
		}
	}
	known := make(map[string]bool)
	for _, s := range settings() {
		known[EnvName(s.key)] = true
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || known[name] || ignoredEnvNames[name] {
			continue
		}
		if slices.ContainsFunc(ignoredEnvPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		out = append(out, fmt.Sprintf("environment variable %s is not an upsell setting (misspelt?); it is ignored", name))
	}
	slices.Sort(out)
	return out
}
