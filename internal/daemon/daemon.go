// Package daemon wires the host together: configuration, the panel's
// database and binding, the plugin supervisor with each plugin's host API,
// and the HTTP surface. `upsell serve` and `upsell demo` both run it.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/adapters/paymenter"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/builtin"
	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/host"
	"github.com/upsell-io/upsell/internal/obs"
	"github.com/upsell-io/upsell/internal/supervisor"
	"github.com/upsell-io/upsell/internal/webui"
)

// Daemon is an assembled host.
type Daemon struct {
	Config     config.Config
	Logger     *slog.Logger
	Metrics    *obs.Metrics
	DB         *sqlx.DB
	Panel      *paymenter.Binding
	Supervisor *supervisor.Supervisor
	Locks      *host.ServiceLocks
	// Ops keeps the pool rule for every plugin's operations.
	Ops *host.Operations
	// Revocations is this replica's copy of the revoked client links.
	Revocations *auth.Revocations

	// Actors names the admin each admin request's operation acts for.
	Actors *host.Actors
	// Pages wraps modules' pages in the provider's layout.
	Pages *webui.Pages
	// sessionKey signs browser sessions and their CSRF tokens.
	sessionKey []byte

	// views and changes are the connection gates of client requests.
	views, changes *connGate
}

// dialTimeout bounds opening a connection to the database when the DSN
// sets no timeout.
const dialTimeout = 5 * time.Second

// OpenDB opens the panel's database with upsell's session settings.
func OpenDB(ctx context.Context, c config.Database) (*sqlx.DB, error) {
	cfg, err := mysql.ParseDSN(c.DSN)
	if err != nil {
		return nil, fmt.Errorf("database dsn: %s", obs.Redact(err.Error()))
	}
	// DATETIMEs are naive panel-local times: read them without conversion;
	// the binding attaches the panel's zone.
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 {
		// A database host that does not answer at all (down, behind a
		// firewall that drops) fails a new connection in seconds, not
		// after the kernel's connect timeout (minutes): requests answer
		// 503 at once. A DSN's own timeout= wins.
		cfg.Timeout = dialTimeout
	}
	db, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(c.MaxOpenConns)
	db.SetMaxIdleConns(c.MaxIdleConns)
	db.SetConnMaxLifetime(c.ConnMaxLifetime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect database at %s: %w", obs.RedactDSN(c.DSN), err)
	}
	return db, nil
}

// New assembles a daemon on an open database. Plugins start with
// StartPlugins.
func New(ctx context.Context, cfg config.Config, db *sqlx.DB, logger *slog.Logger, metrics *obs.Metrics) (*Daemon, error) {
	// Take the checksum of the executable now: first-party plugins re-run
	// it, and only while it is still what the host started from.
	if _, err := supervisor.Self(); err != nil {
		return nil, err
	}
	if cfg.Security.AdminSessionTTL <= 0 {
		cfg.Security.AdminSessionTTL = time.Hour
	}
	if cfg.Security.SessionTTL <= 0 {
		// A config built in code (tests, embedders) without the loader's
		// defaults.
		cfg.Security.SessionTTL = 30 * time.Minute
	}
	binding, err := paymenter.New(ctx, db, paymenter.Config{
		AppKey:        cfg.Panel.AppKey.Reveal(),
		BaseURL:       cfg.Panel.BaseURL,
		InvoiceWriter: paymenter.InvoiceWriter(cfg.Panel.InvoiceWriter),
		API:           paymenter.APIConfig{BaseURL: cfg.Panel.APIURL, Key: cfg.Panel.APIKey.Reveal()},
	})
	if err != nil {
		return nil, fmt.Errorf("paymenter binding: %w", err)
	}
	d := &Daemon{Config: cfg, Logger: logger, Metrics: metrics, DB: db, Panel: binding, Locks: host.NewServiceLocks(db),
		Ops: host.NewOperations(logger), Actors: &host.Actors{}, Revocations: &auth.Revocations{DB: db.DB, MaxTTL: cfg.Security.LinkTTL},
	}
	d.views, d.changes = newConnGates(db.Stats().MaxOpenConnections)
	d.sessionKey = auth.SessionKey([]byte(cfg.Security.LinkSecret.Reveal()))
	if d.Pages, err = newPages(configUI{
		theme:     webui.Theme{Name: cfg.UI.Name, LogoURL: cfg.UI.LogoURL, Accent: cfg.UI.Accent},
		publicURL: cfg.HTTP.PublicURL, templateDir: cfg.UI.TemplateDir,
	}); err != nil {
		return nil, err
	}
	d.Supervisor = supervisor.New(supervisor.Options{
		PluginDir:      cfg.Plugins.Dir,
		SocketDir:      cfg.Plugins.SocketDir,
		StartTimeout:   cfg.Plugins.StartTimeout,
		MaxRestarts:    cfg.Plugins.MaxRestarts,
		RestartWindow:  cfg.Plugins.RestartWindow,
		RestartBackoff: cfg.Plugins.RestartBackoff,
		Logger:         pluginLogger(cfg.Log.Level),
		HostFor:        d.hostFor,
		OnState:        d.onPluginState,
	})
	return d, nil
}

// pluginLogger re-emits plugins' stderr (hclog JSON) as JSON lines on the
// daemon's stderr.
func pluginLogger(level string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: os.Stderr, Level: hclog.LevelFromString(level), JSONFormat: true})
}

func (d *Daemon) hostFor(name string, kind hostapi.PluginKind, prefix string) (hostapi.Host, func()) {
	svc := host.New(host.Deps{DB: d.DB, Panel: d.Panel, Router: d.route, Adapters: d.Supervisor, Locks: d.Locks, Ops: d.Ops, Actors: d.Actors, PanelName: panelName}, name, prefix)
	if kind == hostapi.KindAdapter {
		// Adapters may read the panel; they may not bill, change prices,
		// provision other services or touch tables.
		h := svc.Host()
		h.Panel, h.Provision, h.Store = host.ReadOnlyPanel(h.Panel), nil, nil
		return h, svc.Close
	}
	return svc.Host(), svc.Close
}

func (d *Daemon) onPluginState(st supervisor.Status) {
	up := 0.0
	if st.State == supervisor.Running {
		up = 1
	}
	if d.Metrics != nil {
		d.Metrics.PluginUp.WithLabelValues(st.Name, string(st.Kind)).Set(up)
		if st.State == supervisor.Restarting {
			d.Metrics.PluginRestarts.WithLabelValues(st.Name).Inc()
		}
	}
	d.Logger.Info("plugin state", "plugin", st.Name, "state", string(st.State), "pid", st.PID, "restarts", st.Restarts, "error", st.LastError)
}

// PluginSpecs lists every plugin to run: the first-party ones re-executing
// this binary, checked against the executable the host started from, then
// the third-party ones from the configuration, checked against their
// registered sha256.
func (d *Daemon) PluginSpecs() ([]supervisor.Spec, error) {
	self, err := supervisor.Self()
	if err != nil {
		return nil, err
	}
	var specs []supervisor.Spec
	for _, p := range builtin.All() {
		settings := d.Config.Plugins.Modules[p.Name]
		if p.Kind == hostapi.KindAdapter {
			settings = d.Config.Plugins.Adapters[p.Name]
		}
		specs = append(specs, supervisor.Spec{
			Name: p.Name, Kind: p.Kind, Command: self.Path, SHA256: self.SHA256, Args: []string{"plugin", "serve", p.Name},
			Builtin: true, Env: pluginEnv(), Settings: settings,
		})
	}
	for _, e := range d.Config.Plugins.External {
		specs = append(specs, supervisor.Spec{
			Name: e.Name, Kind: hostapi.PluginKind(e.Kind), Command: e.Path, SHA256: e.SHA256,
			Env: pluginEnv(), Settings: e.Settings,
		})
	}
	return specs, nil
}

// pluginEnv is the whole environment a plugin gets: no DSN, no secret, only
// what a process needs to run and count days the same way.
func pluginEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "TZ", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// StartPlugins launches every plugin and waits for their first start.
func (d *Daemon) StartPlugins(ctx context.Context) error {
	specs, err := d.PluginSpecs()
	if err != nil {
		return err
	}
	return d.Supervisor.Start(ctx, specs)
}

// route finds the adapter and credentials for a service: upsell's own
// per-server configuration first, else the server the panel links to the
// service's product.
func (d *Daemon) route(ctx context.Context, serviceID uint64) (host.Route, error) {
	b, err := d.Panel.ServerBinding(ctx, serviceID)
	if err != nil {
		return host.Route{}, err
	}
	t := host.Route{
		Adapter: d.adapterFor(b.Extension),
		Ref:     hostapi.ServerRef{ServiceID: serviceID, Endpoint: b.Host, Secret: b.APIKey, Options: map[string]string{}},
	}
	if strings.EqualFold(b.Extension, "Pelican") {
		t.Ref.Options["flavor"] = "pelican"
	}
	for _, o := range d.Config.Servers {
		if (o.ExtensionID != 0 && o.ExtensionID == b.ExtensionID) || (o.Name != "" && o.Name == b.Name) {
			if o.Adapter != "" {
				t.Adapter = o.Adapter
			}
			if o.URL != "" {
				t.Ref.Endpoint = o.URL
			}
			if o.APIKey != "" {
				t.Ref.Secret = o.APIKey.Reveal()
			}
		}
	}
	if t.Adapter == "" {
		return host.Route{}, hostapi.Errorf(hostapi.CodePrecondition, "no adapter serves %q servers", b.Extension)
	}
	return t, nil
}

// adapterFor picks the adapter whose Describe lists the panel extension.
func (d *Daemon) adapterFor(extension string) string {
	for _, st := range d.Supervisor.Statuses() {
		if st.Kind != hostapi.KindAdapter {
			continue
		}
		info, ok := d.Supervisor.AdapterInfo(st.Name)
		if !ok {
			continue
		}
		for _, p := range info.Panels {
			if strings.EqualFold(p, extension) {
				return st.Name
			}
		}
	}
	return ""
}

// Provision returns a host-owned Provision service (for the host's own use,
// such as the demo and reconcile), stamped as plugin "host".
func (d *Daemon) Provision() hostapi.Provision {
	return host.New(host.Deps{DB: d.DB, Panel: d.Panel, Router: d.route, Adapters: d.Supervisor, Locks: d.Locks}, "host", "").Host().Provision
}

// Close stops plugins and closes the database.
func (d *Daemon) Close() {
	d.Supervisor.Stop()
	d.Locks.Close()
	d.DB.Close()
}

// Audit returns the host's own audit log writer (entries stamped "host").
func (d *Daemon) Audit() hostapi.Audit {
	return host.New(host.Deps{DB: d.DB, Panel: d.Panel}, "host", "").Host().Audit
}
