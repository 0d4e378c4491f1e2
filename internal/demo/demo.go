// Package demo runs upsell end to end with nothing installed but Go: an
// embedded MySQL-compatible engine holding Paymenter's tables with a seeded
// customer, product, Pterodactyl-bound server and an active monthly service
// mid-cycle; a Pterodactyl Application API simulator on loopback; and the real
// host with its real plugin subprocesses. It prints each step with its
// amounts and fails if the end state is wrong.
//
// Everything here is demo-only: `upsell serve` never links the embedded
// engine into its path.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/daemon"
	"github.com/upsell-io/upsell/internal/embeddedsql"
	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/obs"
	"github.com/upsell-io/upsell/internal/pterosim"
)

const (
	simAPIKey = "ptla_demoDemoDemoDemo0123456789abcdef0123456789ab"
	timezone  = "Europe/Berlin"
)

// Run executes the demo, printing to out. It returns an error when any step
// fails or the end state is not what was paid for.
func Run(ctx context.Context, out io.Writer, opts Options) error {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
		if opts.Serve {
			opts.Listen = "127.0.0.1:8080"
		}
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	base := "http://" + ln.Addr().String()

	p("== upsell demo: embedded database, Pterodactyl simulator, real plugin processes ==")
	sqlSrv, err := embeddedsql.Start()
	if err != nil {
		return err
	}
	defer sqlSrv.Close()
	db, err := openDemoDB(ctx, sqlSrv)
	if err != nil {
		return err
	}
	defer db.Close()

	sim := pterosim.New(pterosim.Config{Flavor: pterosim.Pterodactyl, Keys: []pterosim.APIKey{{Token: simAPIKey}}})
	simURL, stopSim, err := serveLoopback(sim)
	if err != nil {
		return err
	}
	defer stopSim()

	if err := schema.Create(ctx, db); err != nil {
		return fmt.Errorf("create paymenter tables: %w", err)
	}
	seeded, err := schema.Seed(ctx, db, schema.SeedOptions{
		Timezone: timezone, DefaultCurrency: "EUR", InvoiceNumber: 1041, InvoiceNumberPadding: 5,
		ServerHost: simURL, ServerAPIKey: simAPIKey,
		ServicePrice: decimal.RequireFromString("10.00"),
	})
	if err != nil {
		return fmt.Errorf("seed paymenter: %w", err)
	}
	serverID, err := seedServer(sim, seeded.ServiceID)
	if err != nil {
		return err
	}
	p("1. Paymenter tables seeded: user %d, product %d bound to Pterodactyl server extension %d, service %d", seeded.UserID, seeded.ProductID, seeded.ServerID, seeded.ServiceID)
	p("   Pterodactyl simulator at %s holds server %d (external_id %d)", simURL, serverID, seeded.ServiceID)

	res, err := migrate.Host(ctx, db.DB)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p("2. upsell migrate: %d host migrations applied; Paymenter's tables untouched", len(res.Applied))

	cfg := demoConfig(base)
	logger := obs.NewLogger(os.Stderr, "warn", "json")
	d, err := daemon.New(ctx, cfg, db, logger, obs.NewMetrics())
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.StartPlugins(ctx); err != nil {
		return err
	}
	for _, st := range d.Supervisor.Statuses() {
		p("3. plugin %-12s %-7s v%-6s %s, pid %d (its own process)", st.Name, st.Kind, st.Version, st.State, st.PID)
		if st.State != "running" {
			return fmt.Errorf("plugin %s is %s: %s", st.Name, st.State, st.LastError)
		}
	}
	for _, name := range []string{"microupsell", "configoptions"} {
		info, _ := d.Supervisor.ModuleInfo(name)
		mres, err := migrate.Module(ctx, db.DB, info.Name, info.Migrations)
		if err != nil {
			return fmt.Errorf("module migrations: %w", err)
		}
		p("   module migrations: %d applied for %s, tracked apart", len(mres.Applied), info.Name)
	}

	panel := &demoPanel{d: d, db: db, userID: seeded.UserID, service: seeded.ServiceID,
		secret: []byte(cfg.Security.LinkSecret.Reveal()), ttl: cfg.Security.LinkTTL}
	stopHTTP := serveDaemon(ctx, ln, d, logger, panel)
	defer stopHTTP()
	intakeCtx, stopIntake := context.WithCancel(ctx)
	wg := d.RunIntake(intakeCtx, 1)
	defer wg.Wait()
	defer stopIntake()
	w := &walker{p: p, d: d, sim: sim, serverID: serverID, seeded: seeded, base: base, cfg: cfg, http: &http.Client{Timeout: 60 * time.Second}}
	if err := w.run(ctx); err != nil {
		return err
	}
	if !opts.Serve {
		return nil
	}
	return w.serve(ctx, panel)
}

// Options are the demo's flags.
type Options struct {
	// Serve keeps the daemon up after the walk, for a browser.
	Serve bool
	// Listen is the address to serve on (default a free loopback port).
	Listen string
}

// payInvoice records a succeeded gateway transaction and marks the invoice
// paid, as Paymenter's addPayment and its listener do.
func payInvoice(ctx context.Context, db *sqlx.DB, inv hostapi.Invoice) error {
	now := time.Now().UTC()
	if _, err := db.ExecContext(ctx, `INSERT INTO invoice_transactions (invoice_id, amount, transaction_id, status, created_at, updated_at) VALUES (?, ?, ?, 'succeeded', ?, ?)`,
		inv.ID, inv.Total.StringFixed(2), "demo-"+strconv.FormatUint(inv.ID, 10), now, now); err != nil {
		return fmt.Errorf("record payment: %w", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE invoices SET status = 'paid', updated_at = ? WHERE id = ?`, now, inv.ID); err != nil {
		return fmt.Errorf("mark paid: %w", err)
	}
	return nil
}

func openDemoDB(ctx context.Context, srv *embeddedsql.Server) (*sqlx.DB, error) {
	admin, err := sqlx.Open("mysql", srv.DSN(""))
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	var lastErr error
	for range 100 {
		if lastErr = admin.PingContext(ctx); lastErr == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lastErr != nil {
		return nil, fmt.Errorf("embedded engine: %w", lastErr)
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE paymenter"); err != nil {
		return nil, err
	}
	return daemon.OpenDB(ctx, config.Database{DSN: srv.DSN("paymenter"), MaxOpenConns: 8, MaxIdleConns: 8})
}

// seedServer creates the node, ports and server the service is bound to,
// with the product's limits (memory 4096, disk 10240, ...).
func seedServer(sim *pterosim.Sim, serviceID uint64) (int, error) {
	node, err := sim.AddNode(pterosim.Node{Name: "node-1", FQDN: "node1.example", Scheme: "https", Memory: 65536, Disk: 1048576, DaemonListen: 8080, DaemonSFTP: 2022})
	if err != nil {
		return 0, err
	}
	allocs, err := sim.AddAllocations(node, "10.0.0.5", 25565, 25566, 25567, 25568)
	if err != nil {
		return 0, err
	}
	dbs := 1
	ports := 1
	return sim.AddServer(pterosim.Server{
		ExternalID: strconv.FormatUint(serviceID, 10), Name: "Minecraft #" + strconv.FormatUint(serviceID, 10),
		Limits:        pterosim.Limits{Memory: 4096, Swap: 0, Disk: 10240, IO: 500, CPU: 200, OOMDisabled: true},
		FeatureLimits: pterosim.FeatureLimits{Databases: &dbs, Allocations: &ports, Backups: 2},
		UserID:        1, NodeID: node, AllocationID: allocs[0], NestID: 1, EggID: 1,
	})
}

func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

func demoConfig(base string) config.Config {
	sockets, _ := os.MkdirTemp("", "upd")
	return config.Config{
		// The demo's stand-in panel is served beside the daemon.
		Panel: config.Panel{Kind: config.PanelPaymenter, BaseURL: base + panelPath, InvoiceWriter: config.InvoiceWriterSQL},
		HTTP:  config.HTTP{PublicURL: base},
		UI:    config.UI{Name: "Demo Hosting", Accent: "#1d4ed8"},
		Security: config.Security{
			AdminToken: config.Secret(randomHex()), LinkSecret: config.Secret(randomHex()), WebhookSecret: config.Secret(randomHex()),
			LinkTTL: time.Hour, SessionTTL: 30 * time.Minute,
		},
		Poller:  config.Poller{Interval: time.Second},
		Log:     config.Log{Level: "warn", Format: "json"},
		Plugins: config.Plugins{SocketDir: sockets, StartTimeout: 30 * time.Second, MaxRestarts: 3, RestartBackoff: 200 * time.Millisecond, RestartWindow: 10 * time.Minute},
	}
}
