package host_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter"
	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/hostapitest"
	"github.com/upsell-io/upsell/internal/host"
	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/testdb"
)

type fixture struct {
	db     *testdb.DB
	seeded schema.Seeded
	deps   host.Deps
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := testdb.New(t)
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	seeded, err := schema.Seed(ctx, db, schema.SeedOptions{Timezone: "Europe/Berlin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Host(ctx, db.DB.DB); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE ext_demo_orders (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, service_id BIGINT UNSIGNED NOT NULL, amount DECIMAL(17,2) NOT NULL, idem VARCHAR(64) NOT NULL, UNIQUE KEY (idem))"); err != nil {
		t.Fatal(err)
	}
	binding, err := paymenter.New(ctx, db.DB, paymenter.Config{BaseURL: "https://panel.example"})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{db: db, seeded: seeded, deps: host.Deps{DB: db.DB, Panel: binding}}
}

func (f fixture) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	if err := f.db.Get(&n, query); err != nil {
		t.Fatal(err)
	}
	return n
}

// orderModule writes its own row and a panel invoice in one transaction,
// through the real host API over a real broker.
type orderModule struct{ host hostapi.Host }

func (m *orderModule) Describe(context.Context) (hostapi.ModuleInfo, error) {
	return hostapi.ModuleInfo{Name: "demo", TablePrefix: "ext_demo_"}, nil
}
func (m *orderModule) Configure(_ context.Context, h hostapi.Host, _ map[string]string) error {
	m.host = h
	return nil
}
func (m *orderModule) HandleEvent(context.Context, hostapi.Event) (hostapi.EventResult, error) {
	return hostapi.EventResult{}, nil
}

func (m *orderModule) HandleHTTP(ctx context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
	svc, err := m.host.Panel.Service(ctx, req.Principal.ServiceID)
	if err != nil {
		return hostapi.HTTPResponse{}, err
	}
	tx, err := m.host.Store.Begin(ctx)
	if err != nil {
		return hostapi.HTTPResponse{}, err
	}
	amount := decimal.RequireFromString("3.23")
	if _, err := m.host.Store.Exec(ctx, tx.ID(), "INSERT INTO ext_demo_orders (service_id, amount, idem) VALUES (?, ?, ?)", svc.ID, amount, req.Query["idem"][0]); err != nil {
		_ = tx.Rollback(ctx)
		return hostapi.HTTPResponse{}, err
	}
	inv, err := m.host.Panel.CreateInvoice(ctx, tx.ID(), hostapi.NewInvoice{
		UserID: svc.UserID, Currency: svc.Currency, DueAt: time.Now(),
		Items: []hostapi.InvoiceItem{{Description: "+1 GB", Price: amount, Quantity: 1, ReferenceType: `Upsell\Addon`, ReferenceID: 1}},
	})
	if err != nil {
		_ = tx.Rollback(ctx)
		return hostapi.HTTPResponse{}, err
	}
	if req.Path == "/fail-after-invoice" {
		_ = tx.Rollback(ctx)
		return hostapi.HTTPResponse{}, hostapi.Errorf(hostapi.CodeInternal, "failed after the invoice")
	}
	if req.Path == "/leave-open" {
		return hostapi.HTTPResponse{Status: 202}, nil
	}
	if _, err := m.host.Audit.Write(ctx, tx.ID(), hostapi.AuditEntry{Action: "order.created", ServiceID: svc.ID, Subject: "invoice:" + inv.Number}); err != nil {
		_ = tx.Rollback(ctx)
		return hostapi.HTTPResponse{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return hostapi.HTTPResponse{}, err
	}
	return hostapi.HTTPResponse{Status: 201, Body: []byte(inv.Number)}, nil
}

func TestModuleTransactionSpansOwnRowsAndPanelInvoice(t *testing.T) {
	f := setup(t)
	svcs := host.New(f.deps, "demo", "ext_demo_")
	m := hostapitest.InProcessModule(t, &orderModule{}, svcs.Host(), nil)
	ctx := context.Background()
	client := hostapi.Principal{Kind: hostapi.Client, UserID: f.seeded.UserID, ServiceID: f.seeded.ServiceID}

	resp, err := m.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/buy", Query: map[string][]string{"idem": {"a"}}, Principal: client})
	if err != nil || resp.Status != 201 {
		t.Fatalf("buy: %v %+v", err, resp)
	}
	if f.count(t, "SELECT COUNT(*) FROM ext_demo_orders") != 1 || f.count(t, "SELECT COUNT(*) FROM invoices") != 1 || f.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE plugin = 'demo'") != 1 {
		t.Fatal("commit did not write order, invoice and audit together")
	}

	// The same idempotency key again: a conflict, and nothing new written.
	_, err = m.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/buy", Query: map[string][]string{"idem": {"a"}}, Principal: client})
	if !errors.Is(err, hostapi.ErrConflict) {
		t.Fatalf("duplicate key: %v", err)
	}
	// A failure after the invoice was written rolls both back.
	_, err = m.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/fail-after-invoice", Query: map[string][]string{"idem": {"b"}}, Principal: client})
	if hostapi.CodeOf(err) != hostapi.CodeInternal {
		t.Fatalf("failing buy: %v", err)
	}
	if n, inv := f.count(t, "SELECT COUNT(*) FROM ext_demo_orders"), f.count(t, "SELECT COUNT(*) FROM invoices"); n != 1 || inv != 1 {
		t.Fatalf("rollback left %d orders, %d invoices", n, inv)
	}
}

func TestOpenTransactionRolledBackWhenPluginGoesAway(t *testing.T) {
	f := setup(t)
	svcs := host.New(f.deps, "demo", "ext_demo_")
	m := hostapitest.InProcessModule(t, &orderModule{}, svcs.Host(), nil)
	client := hostapi.Principal{Kind: hostapi.Client, UserID: f.seeded.UserID, ServiceID: f.seeded.ServiceID}
	if _, err := m.HandleHTTP(context.Background(), hostapi.HTTPRequest{Path: "/leave-open", Query: map[string][]string{"idem": {"c"}}, Principal: client}); err != nil {
		t.Fatal(err)
	}
	svcs.Close() // what the supervisor does when the plugin exits
	if n := f.count(t, "SELECT COUNT(*) FROM ext_demo_orders"); n != 0 {
		t.Fatalf("abandoned transaction committed %d rows", n)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM invoices"); n != 0 {
		t.Fatalf("abandoned transaction left %d invoices", n)
	}
}

func TestStoreRefusesPanelTablesAndChangesNothing(t *testing.T) {
	f := setup(t)
	store := host.New(f.deps, "demo", "ext_demo_").Host().Store
	ctx := context.Background()
	for _, q := range []string{
		"UPDATE services SET price = 0",
		"SELECT * FROM users",
		"DELETE FROM ext_demo_orders; DELETE FROM invoices",
	} {
		if _, err := store.Exec(ctx, "", q); !errors.Is(err, hostapi.ErrInvalid) {
			t.Errorf("%q: %v", q, err)
		}
	}
	var price string
	if err := f.db.Get(&price, "SELECT price FROM services WHERE id = ?", f.seeded.ServiceID); err != nil || price == "0.00" {
		t.Fatalf("service price changed to %s (%v)", price, err)
	}
	if _, err := store.Exec(ctx, "no-such-tx", "INSERT INTO ext_demo_orders (service_id, amount, idem) VALUES (1, 1, 'x')"); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("forged tx id: %v", err)
	}
	rows, err := store.Query(ctx, "", "SELECT COUNT(*) AS n FROM ext_demo_orders")
	if err != nil || rows.Len() != 1 {
		t.Fatal(rows, err)
	}
	var n int64
	if err := rows.Scan(0, &n); err != nil || n != 0 {
		t.Fatalf("rows written by refused statements: %d %v", n, err)
	}
}
