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
	"errors"
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
func Run(ctx context.Context, out io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

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

	cfg := demoConfig()
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
	return walk(ctx, p, d, sim, serverID, seeded)
}

// walk is the money path as it exists today: read the service, quote, invoice,
// pay, apply and verify.
func walk(ctx context.Context, p func(string, ...any), d *daemon.Daemon, sim *pterosim.Sim, serverID int, seeded schema.Seeded) error {
	svc, err := d.Panel.Service(ctx, seeded.ServiceID)
	if err != nil {
		return err
	}
	settings, err := d.Panel.Settings(ctx)
	if err != nil {
		return err
	}
	p("4. service %d (%s): %s, %s %s every %s, expires %s (%s)", svc.ID, svc.ProductName, svc.Status, svc.Price.StringFixed(2), svc.Currency, svc.Cycle, svc.ExpiresAt.Format("2006-01-02 15:04"), settings.Timezone)

	prov := d.Provision()
	before, err := prov.Read(ctx, svc.ID)
	if err != nil {
		return fmt.Errorf("read limits through the adapter: %w", err)
	}
	p("5. current limits via the pterodactyl adapter: memory %d MiB, disk %d MiB, cpu %d%%, databases %d, backups %d, ports %d",
		before[hostapi.MemoryMiB], before[hostapi.DiskMiB], before[hostapi.CPUPercent], before[hostapi.Databases], before[hostapi.Backups], before[hostapi.Ports])

	addonPrice := decimal.RequireFromString("2.00")
	target := hostapi.Target{hostapi.MemoryMiB: before[hostapi.MemoryMiB] + 1024}
	if err := prov.CheckCapacity(ctx, svc.ID, target); err != nil {
		return fmt.Errorf("capacity: %w", err)
	}
	inv, err := d.Panel.CreateInvoice(ctx, nil, hostapi.NewInvoice{
		UserID: svc.UserID, Currency: svc.Currency, DueAt: time.Now().Add(7 * 24 * time.Hour),
		Items: []hostapi.InvoiceItem{{Description: "+1 GB RAM for " + svc.ProductName, Price: addonPrice, Quantity: 1, ReferenceType: `Upsell\Addon`, ReferenceID: svc.ID}},
	})
	if err != nil {
		return fmt.Errorf("create invoice: %w", err)
	}
	p("6. invoice %s (id %d) for %s %s written into Paymenter, numbered as Paymenter numbers it; pay at %s", inv.Number, inv.ID, inv.Total.StringFixed(2), inv.Currency, inv.PayURL)
	p("   (prorated pricing for the days left arrives with the Micro-Upsell module; this step charges the add-on's monthly price)")

	if err := payInvoice(ctx, d.DB, inv); err != nil {
		return err
	}
	paid, err := d.Panel.Invoice(ctx, inv.ID)
	if err != nil {
		return err
	}
	p("7. invoice paid through a gateway transaction: status %s, paid %s of %s", paid.Status, paid.Paid.StringFixed(2), paid.Total.StringFixed(2))
	if paid.Status != hostapi.InvoicePaid || !paid.Paid.Equal(paid.Total) {
		return errors.New("invoice is not paid in full")
	}

	applied, err := prov.Apply(ctx, svc.ID, target)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	p("8. applied through the adapter subprocess: memory %d -> %d MiB (read back from the panel's reply)", applied.Before[hostapi.MemoryMiB], applied.After[hostapi.MemoryMiB])
	newPrice := svc.Price.Add(addonPrice)
	changed, err := d.Panel.UpdateRecurringPrice(ctx, nil, hostapi.PriceChange{ServiceID: svc.ID, From: svc.Price, To: newPrice, Reason: "+1 GB RAM"})
	if err != nil {
		return fmt.Errorf("raise recurring price: %w", err)
	}
	p("9. recurring price %s -> %s %s from the next renewal", changed.From.StringFixed(2), changed.To.StringFixed(2), svc.Currency)
	data := fmt.Sprintf(`{"invoice_id":%d,"memory_before":%d,"memory_after":%d}`, inv.ID, applied.Before[hostapi.MemoryMiB], applied.After[hostapi.MemoryMiB])
	if _, err := hostWriteAudit(ctx, d, svc, data); err != nil {
		return err
	}

	// Verify the end state out of band: the simulator's own record and the
	// panel's tables.
	srv, _ := sim.Server(serverID)
	after, err := d.Panel.Service(ctx, svc.ID)
	if err != nil {
		return err
	}
	var audits int
	if err := d.DB.GetContext(ctx, &audits, "SELECT COUNT(*) FROM upsell_audit WHERE service_id = ?", svc.ID); err != nil {
		return err
	}
	ok := int64(srv.Limits.Memory) == before[hostapi.MemoryMiB]+1024 && after.Price.Equal(newPrice) && audits == 1
	p("10. end state: Pterodactyl memory %d MiB, Paymenter recurring price %s %s, %d audit entry", srv.Limits.Memory, after.Price.StringFixed(2), after.Currency, audits)
	if !ok {
		return errors.New("end state is wrong")
	}
	p("OK: paid once, applied once, price raised once.")
	return nil
}

func hostWriteAudit(ctx context.Context, d *daemon.Daemon, svc hostapi.Service, data string) (uint64, error) {
	return d.Audit().Write(ctx, "", hostapi.AuditEntry{
		Action: "addon.applied", ServiceID: svc.ID, UserID: svc.UserID, Subject: "demo",
		Message: "+1 GB RAM applied", Data: []byte(data),
	})
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

func demoConfig() config.Config {
	sockets, _ := os.MkdirTemp("", "upd")
	return config.Config{
		Panel:   config.Panel{Kind: config.PanelPaymenter, BaseURL: "https://panel.example", InvoiceWriter: config.InvoiceWriterSQL},
		Plugins: config.Plugins{SocketDir: sockets, StartTimeout: 30 * time.Second, MaxRestarts: 3, RestartBackoff: 200 * time.Millisecond, RestartWindow: 10 * time.Minute},
	}
}
