package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// reconcile runs one reconcile round as the host schedules it.
func (e *env) reconcile(t *testing.T, slot int) { e.reconcileModules(t, slot, "microupsell") }

// reconcileModules runs one reconcile round of the named modules.
func (e *env) reconcileModules(t *testing.T, slot int, modules ...string) {
	t.Helper()
	s := &intake.Scheduler{DB: e.db.DB, Modules: func() []string { return modules }, Interval: time.Minute,
		Now: func() time.Time { return e.now.Add(time.Duration(slot-10) * time.Minute) }}
	if n, err := s.Enqueue(context.Background()); err != nil || n != len(modules) {
		t.Fatalf("enqueue reconcile: %d %v", n, err)
	}
	e.drain()
}

// Paymenter recomputes the price (dropping the add-on) with a renewal
// invoice already out, and its own upgrade resets the server: one reconcile
// round puts both back once, logs it, and the next round changes nothing.
func TestAddOnsSurviveThePanel(t *testing.T) {
	e := newEnv(t)
	o := e.buy(e.ramPackage(), "k")
	e.pay(o.InvoiceID)
	if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if s := e.snapshot(); s.memory != 5120 || s.price != "12.00" {
		t.Fatalf("after purchase: %+v", s)
	}
	e.reconcile(t, 1)
	if s := e.snapshot(); s.memory != 5120 || s.price != "12.00" || e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.restored'") != 0 {
		t.Fatalf("a round with nothing undone changed something: %+v", s)
	}

	// Paymenter's Service::calculatePrice() after its own upgrade: plan
	// price only, and the unpaid renewal item rewritten to it.
	if _, err := e.db.Exec("UPDATE services SET price = 10.00 WHERE id = ?", e.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	renewal, err := schema.AddInvoice(context.Background(), e.db, schema.InvoiceSpec{
		UserID: e.seeded.UserID, Currency: "EUR", Number: "INV-R1",
		Items: []schema.ItemSpec{schema.RenewalItem(e.seeded.ServiceID, decimal.RequireFromString("10.00"), 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	// ... and its UpgradeJob PATCHes the product's limits back.
	srv, _ := e.sim.Server(e.serverID)
	limits := srv.Limits
	limits.Memory = 4096
	if err := e.sim.SetServerLimits(e.serverID, limits, srv.FeatureLimits); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetStats()

	e.reconcile(t, 2)
	s := e.snapshot()
	if s.memory != 5120 || s.price != "12.00" || s.disk != 10240 {
		var jobs []struct {
			Kind, State string
			Err         *string `db:"last_error"`
		}
		_ = e.db.Select(&jobs, "SELECT kind, state, last_error FROM upsell_jobs ORDER BY id")
		t.Fatalf("not restored: %+v; jobs %+v", s, jobs)
	}
	var item string
	if err := e.db.Get(&item, "SELECT CAST(price AS CHAR) FROM invoice_items WHERE invoice_id = ?", renewal.ID); err != nil || item != "12.00" {
		t.Fatalf("renewal item %s (%v), want 12.00", item, err)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.restored'"); n != 1 {
		t.Fatalf("%d restoration log entries", n)
	}
	if n := e.sim.Requests(pterosim.RouteUpdateBuild); n != 1 {
		t.Fatalf("%d build PATCHes to restore", n)
	}

	e.reconcile(t, 3)
	after := e.snapshot()
	after.jobs-- // the round's own job
	if after != s || e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.restored'") != 1 {
		t.Fatalf("a second round changed something: %+v -> %+v", s, after)
	}
}

func (e *env) count(t testing.TB, q string) int {
	t.Helper()
	var n int
	if err := e.db.Get(&n, q); err != nil {
		t.Fatal(err)
	}
	return n
}
