package host_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
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

// apiInvoiceBinding stands for a binding that creates invoices outside the
// database transaction it is given (Paymenter's "api" invoice writer): the
// invoice is committed through its own connection at once.
type apiInvoiceBinding struct{ host.PanelBinding }

func (b apiInvoiceBinding) CreateInvoice(ctx context.Context, _ *sqlx.Tx, inv hostapi.NewInvoice) (hostapi.Invoice, error) {
	return b.PanelBinding.CreateInvoice(ctx, nil, inv)
}

func (apiInvoiceBinding) InvoicesJoinTransactions() bool { return false }

// An invoice the binding could not create inside the module's transaction
// survives the module's rollback; its owner must survive with it, or the
// payment would be ignored.
func TestInvoiceOutsideTransactionKeepsItsOwner(t *testing.T) {
	f := setup(t)
	f.deps.Panel = apiInvoiceBinding{f.deps.Panel}
	h := host.New(f.deps, "demo", "ext_demo_").Host()
	ctx := context.Background()
	svc, err := h.Panel.Service(ctx, f.seeded.ServiceID)
	if err != nil {
		t.Fatal(err)
	}
	buy := func(idem string, commit bool) {
		t.Helper()
		tx, err := h.Store.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Store.Exec(ctx, tx.ID(), "INSERT INTO ext_demo_orders (service_id, amount, idem) VALUES (?, ?, ?)", svc.ID, "3.23", idem); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Panel.CreateInvoice(ctx, tx.ID(), hostapi.NewInvoice{
			UserID: svc.UserID, Currency: svc.Currency, DueAt: time.Now(),
			Items: []hostapi.InvoiceItem{{Description: "+1 GB", Price: decimal.RequireFromString("3.23"), Quantity: 1, ReferenceType: `Upsell\Addon`, ReferenceID: 1}},
		}); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	buy("a", false) // the module fails after the invoice and rolls back
	if n := f.count(t, "SELECT COUNT(*) FROM ext_demo_orders"); n != 0 {
		t.Fatalf("rollback left %d orders", n)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM invoices"); n != 1 {
		t.Fatalf("%d invoices, want the one the binding committed", n)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_panel_invoices p JOIN invoices i ON i.id = p.invoice_id WHERE p.module = 'demo' AND p.panel = 'paymenter'"); n != 1 {
		t.Fatalf("the committed invoice has %d owner rows, want 1", n)
	}

	buy("b", true)
	if inv, owners := f.count(t, "SELECT COUNT(*) FROM invoices"), f.count(t, "SELECT COUNT(*) FROM upsell_panel_invoices"); inv != 2 || owners != 2 {
		t.Fatalf("%d invoices, %d owners after a good buy", inv, owners)
	}
}

// fakePanel records which methods reached it.
type fakePanel struct{ called []string }

func (f *fakePanel) Settings(context.Context) (hostapi.PanelSettings, error) {
	f.called = append(f.called, "Settings")
	return hostapi.PanelSettings{Panel: "fake"}, nil
}
func (f *fakePanel) Service(_ context.Context, id uint64) (hostapi.Service, error) {
	f.called = append(f.called, "Service")
	return hostapi.Service{ID: id}, nil
}
func (f *fakePanel) User(_ context.Context, id uint64) (hostapi.User, error) {
	f.called = append(f.called, "User")
	return hostapi.User{ID: id}, nil
}
func (f *fakePanel) Invoice(_ context.Context, id uint64) (hostapi.Invoice, error) {
	f.called = append(f.called, "Invoice")
	return hostapi.Invoice{ID: id}, nil
}
func (f *fakePanel) CreateInvoice(context.Context, hostapi.TxID, hostapi.NewInvoice) (hostapi.Invoice, error) {
	f.called = append(f.called, "CreateInvoice")
	return hostapi.Invoice{ID: 1}, nil
}
func (f *fakePanel) UpdateRecurringPrice(context.Context, hostapi.TxID, hostapi.PriceChange) (hostapi.PriceChanged, error) {
	f.called = append(f.called, "UpdateRecurringPrice")
	return hostapi.PriceChanged{}, nil
}
func (f *fakePanel) ExclusiveTaxRate(context.Context, uint64) (decimal.Decimal, error) {
	f.called = append(f.called, "ExclusiveTaxRate")
	return decimal.NewFromInt(19), nil
}
func (f *fakePanel) ProductPlan(_ context.Context, id uint64, _ string) (hostapi.ProductPlan, error) {
	f.called = append(f.called, "ProductPlan")
	return hostapi.ProductPlan{ID: id}, nil
}
func (f *fakePanel) CreateServiceOrder(context.Context, hostapi.TxID, hostapi.NewServiceOrder) (hostapi.ServiceOrder, error) {
	f.called = append(f.called, "CreateServiceOrder")
	return hostapi.ServiceOrder{ServiceID: 1}, nil
}

func (f *fakePanel) SetServiceProperties(context.Context, hostapi.TxID, uint64, []hostapi.ServiceProperty) error {
	f.called = append(f.called, "SetServiceProperties")
	return nil
}

func (f *fakePanel) AddCredit(context.Context, hostapi.TxID, hostapi.CreditGrant) (hostapi.CreditBalance, error) {
	f.called = append(f.called, "AddCredit")
	return hostapi.CreditBalance{}, nil
}

func (f *fakePanel) Coupon(context.Context, hostapi.TxID, string, uint64) (hostapi.Coupon, error) {
	f.called = append(f.called, "Coupon")
	return hostapi.Coupon{}, nil
}

func (f *fakePanel) ServiceWrites(_ context.Context, id uint64) (hostapi.ServiceWrites, error) {
	f.called = append(f.called, "ServiceWrites")
	return hostapi.ServiceWrites{ServiceID: id}, nil
}

func (f *fakePanel) CancelInvoice(context.Context, hostapi.TxID, uint64) error {
	f.called = append(f.called, "CancelInvoice")
	return nil
}

func TestReadOnlyPanel(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		method string
		call   func(hostapi.Panel) error
		write  bool
	}{
		{"Settings", func(p hostapi.Panel) error { _, err := p.Settings(ctx); return err }, false},
		{"Service", func(p hostapi.Panel) error { _, err := p.Service(ctx, 1); return err }, false},
		{"User", func(p hostapi.Panel) error { _, err := p.User(ctx, 1); return err }, false},
		{"Invoice", func(p hostapi.Panel) error { _, err := p.Invoice(ctx, 1); return err }, false},
		{"ExclusiveTaxRate", func(p hostapi.Panel) error { _, err := p.ExclusiveTaxRate(ctx, 1); return err }, false},
		{"ProductPlan", func(p hostapi.Panel) error { _, err := p.ProductPlan(ctx, 1, "EUR"); return err }, false},
		{"CreateInvoice", func(p hostapi.Panel) error { _, err := p.CreateInvoice(ctx, "", hostapi.NewInvoice{}); return err }, true},
		{"CreateServiceOrder", func(p hostapi.Panel) error {
			_, err := p.CreateServiceOrder(ctx, "", hostapi.NewServiceOrder{})
			return err
		}, true},
		{"UpdateRecurringPrice", func(p hostapi.Panel) error {
			_, err := p.UpdateRecurringPrice(ctx, "", hostapi.PriceChange{})
			return err
		}, true},
		{"Coupon", func(p hostapi.Panel) error { _, err := p.Coupon(ctx, "", "X", 1); return err }, false},
		{"SetServiceProperties", func(p hostapi.Panel) error { return p.SetServiceProperties(ctx, "", 1, nil) }, true},
		{"AddCredit", func(p hostapi.Panel) error { _, err := p.AddCredit(ctx, "", hostapi.CreditGrant{}); return err }, true},
		{"ServiceWrites", func(p hostapi.Panel) error { _, err := p.ServiceWrites(ctx, 1); return err }, false},
		{"CancelInvoice", func(p hostapi.Panel) error { return p.CancelInvoice(ctx, "", 1) }, true},
	}
	for _, tc := range tests {
		inner := &fakePanel{}
		err := tc.call(host.ReadOnlyPanel(inner))
		if tc.write {
			if !errors.Is(err, hostapi.ErrPermission) || len(inner.called) != 0 {
				t.Errorf("%s: %v, reached %v; want refused with permission_denied", tc.method, err, inner.called)
			}
			continue
		}
		if err != nil || len(inner.called) != 1 || inner.called[0] != tc.method {
			t.Errorf("%s: %v, reached %v; want forwarded", tc.method, err, inner.called)
		}
	}
}

// A second Lock on a held service gives up when its context ends, and
// services never wait for each other.
func TestServiceLocksHonourContextAndIsolateServices(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		name  string
		locks *host.ServiceLocks
	}{
		{"local", host.NewServiceLocks(nil)},
		{"database", host.NewServiceLocks(f.db.DB)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			within(t, 20*time.Second, func() {
				ctx := context.Background()
				unlock, err := tc.locks.Lock(ctx, 7)
				if err != nil {
					t.Error(err)
					return
				}

				short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
				start := time.Now()
				_, err = tc.locks.Lock(short, 7)
				cancel()
				if !errors.Is(err, hostapi.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
					t.Errorf("second lock on a held service: %v after %s", err, time.Since(start))
				}
				cancelled, cancel := context.WithCancel(ctx)
				cancel()
				if _, err := tc.locks.Lock(cancelled, 7); !errors.Is(err, context.Canceled) {
					t.Errorf("lock with a cancelled context: %v", err)
				}

				for id := uint64(1); id <= 130; id++ {
					if id == 7 {
						continue
					}
					short, cancel := context.WithTimeout(ctx, 2*time.Second)
					u, err := tc.locks.Lock(short, id)
					cancel()
					if err != nil {
						t.Errorf("service %d waited for service 7: %v", id, err)
						return
					}
					u()
				}

				unlock()
				unlock() // a second call is harmless
				u, err := tc.locks.Lock(ctx, 7)
				if err != nil {
					t.Errorf("lock after unlock: %v", err)
					return
				}
				u()
			})
		})
	}
}

// within runs fn, failing the test instead of hanging if it blocks. fn
// reports with t.Error, not t.Fatal: it runs on another goroutine.
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("blocked for more than %s", d)
	}
}
