package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/builtin"
	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/daemon"
	"github.com/upsell-io/upsell/internal/httpserver"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/obs"
	"github.com/upsell-io/upsell/internal/pterosim"
	"github.com/upsell-io/upsell/internal/testdb"
)

// TestMain lets the test binary stand in for the upsell binary: the daemon
// re-executes os.Executable() as "plugin serve NAME" for first-party
// plugins, so the plugins under test are real subprocesses.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		p, ok := builtin.Lookup(os.Args[3])
		if !ok {
			os.Exit(2)
		}
		p.Serve()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const simKey = "ptla_e2eE2eE2eE2eE2e0123456789abcdef0123456789ab"

type env struct {
	t        testing.TB
	node     int
	nextPort int
	db       *testdb.DB
	d        *daemon.Daemon
	sim      *pterosim.Sim
	serverID int
	seeded   schema.Seeded
	http     *httptest.Server
	cfg      config.Config
	inbox    *intake.Inbox
	worker   *intake.Worker
	now      time.Time
}

// fifteenDaysLeft is noon in Berlin 15 calendar days after now's Berlin
// date: 15 of 30 days left whatever the hour the test runs.
func fifteenDaysLeft(now time.Time) time.Time {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	y, m, d := now.In(berlin).Date()
	return time.Date(y, m, d+15, 12, 0, 0, 0, berlin)
}

func adapterSettings(pacing map[string]string) map[string]string {
	s := map[string]string{"retry_max": "1", "retry_wait_min": "1ms", "retry_wait_max": "5ms"}
	for k, v := range pacing {
		s[k] = v
	}
	return s
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func secret() config.Secret {
	return config.Secret(fmt.Sprintf("%064d", time.Now().UnixNano()))
}

// newEnv builds a panel with one active monthly service (10.00 EUR, 15 days
// left), a Pterodactyl double holding its server, and the daemon with real
// plugin processes.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, map[string]string{"max_apply_attempts": "3"})
}

// envOption changes newEnvWith's setup.
type envOption func(*envSetup)

type envSetup struct {
	simLimit      pterosim.RateLimit
	adapterPacing map[string]string
	pool          int
	logger        *slog.Logger
	// serverDSN, when set, is the server to make the test's database on
	// instead of the shared test server.
	serverDSN string
	// panelURL is the panel's public address (panel.base_url).
	panelURL string
	// frameAncestors is http.frame_ancestors.
	frameAncestors string
	// exclusiveTax seeds the panel with tax_enabled on, tax_type exclusive
	// (the rates are the test's tax_rates rows).
	exclusiveTax bool
}

// withExclusiveTax seeds a panel that adds exclusive tax to prices; the
// test inserts the tax_rates rows.
func withExclusiveTax() envOption {
	return func(s *envSetup) { s.exclusiveTax = true }
}

// withFrameAncestors lets origins frame the public pages
// (http.frame_ancestors).
func withFrameAncestors(origins string) envOption {
	return func(s *envSetup) { s.frameAncestors = origins }
}

// withPool gives the daemon a pool of n database connections
// (database.max_open_conns) instead of the harness's 32.
func withPool(n int) envOption {
	return func(s *envSetup) { s.pool = n }
}

// withDaemonLogger gives the daemon logger instead of a discarding one.
func withDaemonLogger(logger *slog.Logger) envOption {
	return func(s *envSetup) { s.logger = logger }
}

// onServer makes the test's database on the server at dsn (a private
// testdb.Server the test may stop and start).
func onServer(dsn string) envOption {
	return func(s *envSetup) { s.serverDSN = dsn }
}

// withPanelURL makes url the panel's public address (panel.base_url), where
// invoices are paid: a browser test stands a server there.
func withPanelURL(url string) envOption {
	return func(s *envSetup) { s.panelURL = url }
}

// withPanelBudget makes the double enforce limit requests per window and
// paces the adapter to pace requests per the same window.
func withPanelBudget(limit, pace int, window time.Duration) envOption {
	return func(s *envSetup) {
		s.simLimit = pterosim.RateLimit{Limit: limit, Window: window}
		s.adapterPacing = map[string]string{"rate_limit_per_minute": strconv.Itoa(pace), "rate_limit_window": window.String()}
	}
}

// newEnvWith is newEnv with the Micro-Upsell settings given.
func newEnvWith(t testing.TB, moduleSettings map[string]string, opts ...envOption) *env {
	t.Helper()
	setup := envSetup{simLimit: pterosim.RateLimit{Disabled: true}, adapterPacing: map[string]string{"rate_limit_per_minute": "0"}, pool: 32, logger: discard(), panelURL: "https://panel.example"}
	for _, o := range opts {
		o(&setup)
	}
	ctx := context.Background()
	e := &env{t: t, now: time.Now()}
	if setup.serverDSN != "" {
		e.db = testdb.NewOn(t, setup.serverDSN)
	} else {
		e.db = testdb.New(t)
	}
	// A bounded pool, as a deployment configures (database.max_open_conns):
	// concurrency tests must queue for connections, not exhaust the server.
	// Idle as many as open: a pool that closes connections under load
	// re-prepares every statement on the next one it opens.
	e.db.SetMaxOpenConns(setup.pool)
	e.db.SetMaxIdleConns(setup.pool)
	e.sim = pterosim.New(pterosim.Config{Keys: []pterosim.APIKey{{Token: simKey}}, RateLimit: setup.simLimit})
	simSrv := httptest.NewServer(e.sim)
	t.Cleanup(simSrv.Close)
	if err := schema.Create(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	var err error
	e.seeded, err = schema.Seed(ctx, e.db, schema.SeedOptions{
		Timezone: "Europe/Berlin", ServerHost: simSrv.URL, ServerAPIKey: simKey, InvoiceNumber: 100,
		ServicePrice: decimal.RequireFromString("10.00"), Now: e.now, ExpiresAt: fifteenDaysLeft(e.now),
		TaxEnabled: setup.exclusiveTax, TaxType: "exclusive",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.node, _ = e.sim.AddNode(pterosim.Node{Name: "n1", FQDN: "n1.example", Scheme: "https", Memory: 1 << 20, Disk: 1 << 30, DaemonListen: 8080, DaemonSFTP: 2022})
	if e.serverID, err = e.addServer(e.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Host(ctx, e.db.DB.DB); err != nil {
		t.Fatal(err)
	}
	sockets, _ := os.MkdirTemp("", "upe")
	t.Cleanup(func() { os.RemoveAll(sockets) })
	e.cfg = config.Config{
		Panel:    config.Panel{Kind: "paymenter", BaseURL: setup.panelURL, InvoiceWriter: "sql"},
		Security: config.Security{AdminToken: secret(), LinkSecret: secret(), WebhookSecret: secret(), LinkTTL: time.Hour},
		Plugins: config.Plugins{SocketDir: sockets, StartTimeout: 30 * time.Second, MaxRestarts: 3, RestartBackoff: 50 * time.Millisecond, RestartWindow: time.Minute,
			Modules: map[string]map[string]string{"microupsell": moduleSettings},
			// By default the double's rate limit is off and so is the
			// adapter's pacing, which would otherwise dominate the benchmarks.
			Adapters: map[string]map[string]string{"pterodactyl": adapterSettings(setup.adapterPacing)}},
		Log:  config.Log{Level: "error"},
		HTTP: config.HTTP{FrameAncestors: setup.frameAncestors},
	}
	e.d, err = daemon.New(ctx, e.cfg, e.db.DB, setup.logger, obs.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.d.Close)
	// Every test keeps the pool rule: a host call that would take a
	// second connection while its operation holds one fails the request.
	e.d.Ops.Strict = true
	if err := e.d.StartPlugins(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"microupsell", "configoptions"} {
		info, _ := e.d.Supervisor.ModuleInfo(name)
		if _, err := migrate.Module(ctx, e.db.DB.DB, info.Name, info.Migrations); err != nil {
			t.Fatal(err)
		}
	}
	srv := httpserver.New(httpserver.Options{Logger: discard(), Metrics: obs.NewMetrics(), Ready: e.d.Ready})
	e.d.Mount(srv)
	e.http = httptest.NewServer(srv.Handler())
	t.Cleanup(e.http.Close)
	e.inbox = &intake.Inbox{DB: e.db.DB, Panel: "paymenter", Invoices: e.d.Panel}
	e.worker = &intake.Worker{DB: e.db.DB, Modules: e.d.Supervisor, Invoices: e.d.Panel, Owner: "e2e", Logger: discard(), Backoff: func(int) time.Duration { return 0 }}
	return e
}

type response struct {
	code int
	body []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *env) do(method, path string, header map[string]string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		if b, ok := body.([]byte); ok {
			rd = bytes.NewReader(b)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, e.http.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b}
}

// addServer creates the Pterodactyl server of a panel service: 4 GB, 10 GB
// disk, one port, one database, two backups.
func (e *env) addServer(serviceID uint64) (int, error) {
	if e.nextPort == 0 {
		e.nextPort = 25565
	}
	allocs, err := e.sim.AddAllocations(e.node, "10.0.0.9", e.nextPort, e.nextPort+1)
	if err != nil {
		return 0, err
	}
	e.nextPort += 2
	dbs, ports := 1, 1
	return e.sim.AddServer(pterosim.Server{
		ExternalID: strconv.FormatUint(serviceID, 10), Name: "srv " + strconv.FormatUint(serviceID, 10),
		Limits:        pterosim.Limits{Memory: 4096, Disk: 10240, IO: 500, CPU: 200, OOMDisabled: true},
		FeatureLimits: pterosim.FeatureLimits{Databases: &dbs, Allocations: &ports, Backups: 2},
		UserID:        1, NodeID: e.node, AllocationID: allocs[0], NestID: 1, EggID: 1,
	})
}

// addService adds another active service of the seeded user and product,
// with its server.
func (e *env) addService() uint64 {
	e.t.Helper()
	id, err := schema.AddService(context.Background(), e.db, schema.ServiceSpec{
		OrderID: e.seeded.OrderID, UserID: e.seeded.UserID, ProductID: e.seeded.ProductID, PlanID: e.seeded.PlanID,
		Currency: "EUR", Price: decimal.RequireFromString("10.00"), ExpiresAt: fifteenDaysLeft(e.now),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.addServer(id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// clientOf is a client link for one of the seeded user's services.
func (e *env) clientOf(serviceID uint64, key string) map[string]string {
	return map[string]string{"X-Upsell-Link": e.link(e.seeded.UserID, serviceID, time.Hour), "Idempotency-Key": key}
}

func (e *env) admin() map[string]string {
	return map[string]string{"Authorization": "Bearer " + e.cfg.Security.AdminToken.Reveal()}
}

// link is a link issued now and valid for ttl; with ttl <= 0, one issued
// an hour ago that expired -ttl ago.
func (e *env) link(userID, serviceID uint64, ttl time.Duration) string {
	l := auth.NewLink(userID, serviceID, time.Now(), ttl)
	if ttl <= 0 {
		l.Issued = l.Expires.Add(-time.Hour)
	}
	return auth.SignLink([]byte(e.cfg.Security.LinkSecret.Reveal()), l)
}

func (e *env) client(key string) map[string]string {
	h := map[string]string{"X-Upsell-Link": e.link(e.seeded.UserID, e.seeded.ServiceID, time.Hour)}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return h
}

// createPackage makes a package and returns its id.
func (e *env) createPackage(body map[string]any) uint64 {
	e.t.Helper()
	r := e.do("POST", "/m/microupsell/admin/packages", e.admin(), body)
	if r.code != http.StatusCreated {
		e.t.Fatalf("create package: %d %s", r.code, r.body)
	}
	var p struct{ ID uint64 }
	r.decode(e.t, &p)
	return p.ID
}

func (e *env) ramPackage() uint64 {
	return e.createPackage(map[string]any{"name": "+1 GB RAM", "resource": "memory_mib", "amount": 1024, "monthly_prices": map[string]string{"EUR": "2.00"}})
}

type orderOut struct {
	ID        uint64 `json:"id"`
	State     string `json:"state"`
	DueToday  string `json:"due_today"`
	InvoiceID uint64 `json:"invoice_id"`
	Reason    string `json:"reason"`
}

func (e *env) buy(pkg uint64, key string) orderOut {
	e.t.Helper()
	r := e.do("POST", "/m/microupsell/orders", e.client(key), map[string]any{"package_id": pkg})
	if r.code != http.StatusCreated && r.code != http.StatusOK {
		e.t.Fatalf("buy: %d %s", r.code, r.body)
	}
	var o orderOut
	r.decode(e.t, &o)
	return o
}

func (e *env) pay(invoiceID uint64) {
	e.t.Helper()
	var total string
	if err := e.db.Get(&total, "SELECT CAST(SUM(price * quantity) AS CHAR) FROM invoice_items WHERE invoice_id = ?", invoiceID); err != nil {
		e.t.Fatal(err)
	}
	// The panel writes its wall clock (Europe/Berlin here), as Laravel does.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Now().In(berlin).Format(time.DateTime)
	if _, err := e.db.Exec("INSERT INTO invoice_transactions (invoice_id, amount, transaction_id, status, created_at, updated_at) VALUES (?, ?, ?, 'succeeded', ?, ?)",
		invoiceID, total, "tx-"+strconv.FormatUint(invoiceID, 10), now, now); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.Exec("UPDATE invoices SET status = 'paid' WHERE id = ?", invoiceID); err != nil {
		e.t.Fatal(err)
	}
}

// drain runs jobs until none is due.
func (e *env) drain() {
	e.t.Helper()
	for {
		did, err := e.worker.RunOnce(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if !did {
			return
		}
	}
}

func (e *env) order(id uint64) orderOut {
	e.t.Helper()
	r := e.do("GET", "/m/microupsell/admin/orders/"+strconv.FormatUint(id, 10), e.admin(), nil)
	if r.code != http.StatusOK {
		e.t.Fatalf("order: %d %s", r.code, r.body)
	}
	var o orderOut
	r.decode(e.t, &o)
	return o
}

// snapshot is everything a refused request must leave as it was.
type snapshot struct {
	orders, invoices, items, jobs, audit int
	price                                string
	memory, disk                         int
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	var s snapshot
	count := func(q string) int {
		var n int
		if err := e.db.Get(&n, q); err != nil {
			e.t.Fatal(err)
		}
		return n
	}
	s.orders = count("SELECT COUNT(*) FROM ext_micro_upsell_order_addons")
	s.invoices = count("SELECT COUNT(*) FROM invoices")
	s.items = count("SELECT COUNT(*) FROM invoice_items")
	s.jobs = count("SELECT COUNT(*) FROM upsell_jobs")
	s.audit = count("SELECT COUNT(*) FROM upsell_audit")
	if err := e.db.Get(&s.price, "SELECT CAST(price AS CHAR) FROM services WHERE id = ?", e.seeded.ServiceID); err != nil {
		e.t.Fatal(err)
	}
	srv, _ := e.sim.Server(e.serverID)
	s.memory, s.disk = srv.Limits.Memory, srv.Limits.Disk
	return s
}
