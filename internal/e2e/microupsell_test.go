package e2e

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
)

func TestBuyPayApplyOnce(t *testing.T) {
	e := newEnv(t)
	pkg := e.ramPackage()

	// The list shows the prorated price: 2.00 x 15 / (days in this
	// month's cycle), 1.00 in a 30-day cycle, 0.97 in a 31-day one.
	r := e.do("GET", "/m/microupsell/packages", e.client(""), nil)
	var list struct {
		Packages []struct {
			DueToday          string `json:"due_today"`
			NewRecurringPrice string `json:"new_recurring_price"`
			DaysLeft          int    `json:"days_left"`
			DaysInCycle       int    `json:"days_in_cycle"`
		}
	}
	r.decode(t, &list)
	want := map[int]string{28: "1.07", 29: "1.03", 30: "1.00", 31: "0.97"}
	if q := list.Packages[0]; r.code != http.StatusOK || q.DaysLeft != 15 || q.DueToday != want[q.DaysInCycle] || q.NewRecurringPrice != "12.00" {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	dueToday := list.Packages[0].DueToday
	o := e.buy(pkg, "click-1")
	if again := e.buy(pkg, "click-1"); again.ID != o.ID {
		t.Fatalf("double click made orders %d and %d", o.ID, again.ID)
	}
	if o.State != "awaiting_payment" || o.DueToday != dueToday || o.InvoiceID == 0 {
		t.Fatalf("order %+v", o)
	}
	// The invoice item never references the service (Paymenter would renew it).
	var refType string
	if err := e.db.Get(&refType, "SELECT reference_type FROM invoice_items WHERE invoice_id = ?", o.InvoiceID); err != nil || strings.Contains(refType, "Service") {
		t.Fatalf("invoice item reference %q (%v)", refType, err)
	}

	// Unpaid: an early webhook records nothing (see intake_premature_test.go).
	if rec, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromWebhook); err != nil || rec.Paid || rec.NewJob {
		t.Fatalf("early webhook: %+v %v", rec, err)
	}
	if did, _ := e.worker.RunOnce(context.Background()); did {
		t.Fatal("a job for an unpaid invoice")
	}
	if s := e.snapshot(); s.memory != 4096 || s.price != "10.00" {
		t.Fatalf("applied before payment: %+v", s)
	}

	e.pay(o.InvoiceID)
	// Five webhooks and the poller, from several goroutines.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromWebhook); err != nil {
				t.Error(err)
			}
		}()
		if e.db.Embedded {
			wg.Wait()
		}
	}
	wg.Wait()
	if _, err := (&intake.Poller{Inbox: e.inbox, Panel: e.d.Panel, Logger: discard()}).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetStats()
	e.drain()
	// One apply without port changes: a GET for the target and the PATCH,
	// whose reply is the read-back.
	requests := 0
	for _, n := range e.sim.RequestCounts() {
		requests += n
	}
	if requests != 2 {
		t.Fatalf("%d Pterodactyl requests for one apply, want 2: %v", requests, e.sim.RequestCounts())
	}

	if got := e.order(o.ID); got.State != "applied" {
		t.Fatalf("order %+v", got)
	}
	s := e.snapshot()
	if s.memory != 5120 || s.price != "12.00" || s.jobs != 1 || s.disk != 10240 {
		t.Fatalf("end state %+v", s)
	}
	if n := e.sim.Requests(pterosim.RouteUpdateBuild); n != 1 {
		t.Fatalf("%d build PATCHes, want 1", n)
	}
	var audits int
	_ = e.db.Get(&audits, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.applied'")
	if audits != 1 {
		t.Fatalf("%d purchase log entries", audits)
	}
	// A later delivery of the same invoice is a no-op.
	if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if s2 := e.snapshot(); s2 != s || e.sim.Requests(pterosim.RouteUpdateBuild) != 1 {
		t.Fatalf("replay changed state: %+v -> %+v", s, s2)
	}
}

func TestRefusedRequestsChangeNothing(t *testing.T) {
	e := newEnv(t)
	pkg := e.ramPackage()
	disabled := e.createPackage(map[string]any{"name": "+1 DB", "resource": "databases", "amount": 1, "active": false, "monthly_prices": map[string]string{"EUR": "1.00"}})
	usdOnly := e.createPackage(map[string]any{"name": "+1 backup", "resource": "backups", "amount": 1, "monthly_prices": map[string]string{"USD": "1.00"}})
	otherProduct := e.createPackage(map[string]any{"name": "+50% CPU", "resource": "cpu_percent", "amount": 50, "product_id": 999, "monthly_prices": map[string]string{"EUR": "3.00"}})
	capped := e.createPackage(map[string]any{"name": "+10 GB disk", "resource": "disk_mib", "amount": 10240, "max_per_service": 1, "monthly_prices": map[string]string{"EUR": "1.00"}})
	e.buy(capped, "cap-1")
	before := e.snapshot()

	otherUser := e.link(e.seeded.UserID+1, e.seeded.ServiceID, time.Hour)
	expired := e.link(e.seeded.UserID, e.seeded.ServiceID, -time.Minute)
	forged := e.link(e.seeded.UserID, e.seeded.ServiceID, time.Hour) + "x"
	tests := []struct {
		name   string
		header map[string]string
		body   any
		code   int
		want   string
	}{
		{"unknown package", e.client("k1"), map[string]any{"package_id": 9999}, 404, "no package"},
		{"disabled package", e.client("k2"), map[string]any{"package_id": disabled}, 404, "not offered"},
		{"package of another product", e.client("k3"), map[string]any{"package_id": otherProduct}, 404, "not offered"},
		{"no price in the service currency", e.client("k4"), map[string]any{"package_id": usdOnly}, 409, "no price in EUR"},
		{"over the cap", e.client("k5"), map[string]any{"package_id": capped}, 409, "most of this add-on"},
		{"tampered price in the body", e.client("k6"), map[string]any{"package_id": pkg, "due_today": "0.01"}, 422, "unknown field"},
		{"no idempotency key", e.client(""), map[string]any{"package_id": pkg}, 422, "Idempotency-Key"},
		{"another user's service", map[string]string{"X-Upsell-Link": otherUser, "Idempotency-Key": "k7"}, map[string]any{"package_id": pkg}, 404, "no service"},
		{"expired link", map[string]string{"X-Upsell-Link": expired, "Idempotency-Key": "k8"}, map[string]any{"package_id": pkg}, 401, "not allowed"},
		{"forged link", map[string]string{"X-Upsell-Link": forged, "Idempotency-Key": "k9"}, map[string]any{"package_id": pkg}, 401, "not allowed"},
		{"no link", map[string]string{"Idempotency-Key": "k10"}, map[string]any{"package_id": pkg}, 401, "not allowed"},
		{"not json", e.client("k11"), []byte("package_id=1"), 422, "body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/m/microupsell/orders", tc.header, tc.body)
			if r.code != tc.code || !strings.Contains(string(r.body), tc.want) {
				t.Fatalf("%d %s, want %d containing %q", r.code, r.body, tc.code, tc.want)
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("refused request changed state: %+v -> %+v", before, after)
			}
		})
	}
	// A client link never opens admin routes.
	if r := e.do("GET", "/m/microupsell/admin/orders", e.client(""), nil); r.code != http.StatusUnauthorized {
		t.Fatalf("client reached the admin API: %d", r.code)
	}

	// An inactive service cannot buy.
	if _, err := e.db.Exec("UPDATE services SET status = 'suspended' WHERE id = ?", e.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/m/microupsell/orders", e.client("k12"), map[string]any{"package_id": pkg})
	if r.code != http.StatusConflict || !strings.Contains(string(r.body), "not active") {
		t.Fatalf("suspended service: %d %s", r.code, r.body)
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("state changed: %+v -> %+v", before, after)
	}
}

func TestOpenOrderLimitStopsInvoiceSpam(t *testing.T) {
	e := newEnv(t)
	pkg := e.ramPackage()
	for i := range 3 {
		e.buy(pkg, "spam-"+string(rune('a'+i)))
	}
	before := e.snapshot()
	r := e.do("POST", "/m/microupsell/orders", e.client("spam-d"), map[string]any{"package_id": pkg})
	if r.code != http.StatusConflict || !strings.Contains(string(r.body), "unpaid") {
		t.Fatalf("fourth open order: %d %s", r.code, r.body)
	}
	if e.snapshot() != before {
		t.Fatal("refused order wrote rows")
	}
}

func TestPaidButNotApplicableIsFlagged(t *testing.T) {
	tests := []struct {
		name   string
		tamper string
		reason string
	}{
		{"edited invoice", "UPDATE invoice_items SET price = 0.50 WHERE invoice_id = ?", "was edited"},
		{"cancelled service", "UPDATE services SET status = 'cancelled' WHERE id = (SELECT reference_id FROM invoice_items WHERE invoice_id = ? AND 0)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.buy(e.ramPackage(), "k")
			if tc.name == "cancelled service" {
				if _, err := e.db.Exec("UPDATE services SET status = 'cancelled' WHERE id = ?", e.seeded.ServiceID); err != nil {
					t.Fatal(err)
				}
				tc.reason = "cancelled: refund"
			} else if _, err := e.db.Exec(tc.tamper, o.InvoiceID); err != nil {
				t.Fatal(err)
			}
			e.pay(o.InvoiceID)
			if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromWebhook); err != nil {
				t.Fatal(err)
			}
			e.drain()
			got := e.order(o.ID)
			if got.State != "flagged" || !strings.Contains(got.Reason, tc.reason) {
				t.Fatalf("order %+v", got)
			}
			if s := e.snapshot(); s.memory != 4096 || s.price != "10.00" || e.sim.Requests(pterosim.RouteUpdateBuild) != 0 {
				t.Fatalf("flagged order applied: %+v", s)
			}
		})
	}
}

func TestAdapterOutageAppliesOnceAfterwards(t *testing.T) {
	e := newEnv(t)
	o := e.buy(e.ramPackage(), "k")
	e.pay(o.InvoiceID)
	// The panel answers 500 to every build change for a while.
	e.sim.InjectFault(pterosim.Fault{Method: "PATCH", PathPrefix: "/api/application/servers/", Status: 500, Count: 1000})
	if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromPoller); err != nil {
		t.Fatal(err)
	}
	if did, err := e.worker.RunOnce(context.Background()); !did || err != nil {
		t.Fatalf("run: %v %v", did, err)
	}
	if s := e.snapshot(); s.memory != 4096 || s.price != "10.00" {
		t.Fatalf("price or limits changed during the outage: %+v", s)
	}
	if st := e.order(o.ID).State; st != "applying" {
		t.Fatalf("order %s during the outage, want applying", st)
	}
	// The panel recovers; the job's next attempt applies it once.
	e.sim.ClearFaults()
	if _, err := e.db.Exec("UPDATE upsell_jobs SET run_after = ?", time.Now().UTC().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if got := e.order(o.ID); got.State != "applied" {
		t.Fatalf("order after recovery: %+v", got)
	}
	if s := e.snapshot(); s.memory != 5120 || s.price != "12.00" {
		t.Fatalf("after recovery: %+v", s)
	}
}

// moduleClient is the host's client of a running module.
func (e *env) moduleClient(t testing.TB, name string) *hostapi.ModuleClient {
	t.Helper()
	m, err := e.d.Supervisor.Module(name)
	if err != nil {
		t.Fatal(err)
	}
	mc, ok := m.(*hostapi.ModuleClient)
	if !ok {
		t.Fatalf("module %s is a %T", name, m)
	}
	return mc
}

// The host reuses the package list's reply for an identical request, and
// only for one: a panel price change, an admin's package change and a
// purchase each show on the next list at once.
func TestPackageListIsNeverStale(t *testing.T) {
	e := newEnv(t)
	pkg := e.createPackage(map[string]any{"name": "+1 GB RAM", "resource": "memory_mib", "amount": 1024, "max_per_service": 1,
		"monthly_prices": map[string]string{"EUR": "2.00"}})
	type listed struct {
		Recurring string `json:"recurring_price"`
		Packages  []struct {
			ID        uint64 `json:"package_id"`
			Increase  string `json:"recurring_increase"`
			NewPrice  string `json:"new_recurring_price"`
			Available bool   `json:"available"`
		} `json:"packages"`
	}
	list := func() listed {
		t.Helper()
		r := e.do("GET", "/m/microupsell/packages", e.client(""), nil)
		var l listed
		r.decode(t, &l)
		if r.code != http.StatusOK || len(l.Packages) != 1 || l.Packages[0].ID != pkg {
			t.Fatalf("list: %d %s", r.code, r.body)
		}
		return l
	}
	mc := e.moduleClient(t, "microupsell")
	first := list()
	if again := list(); !reflect.DeepEqual(again, first) || mc.MemoizedReplies() != 1 {
		t.Fatalf("the same list twice: %+v then %+v, %d replies kept; want one reply kept and reused", first, again, mc.MemoizedReplies())
	}
	if p := first.Packages[0]; first.Recurring != "10.00" || p.Increase != "2.00" || p.NewPrice != "12.00" || !p.Available {
		t.Fatalf("first list %+v", first)
	}

	if _, err := e.db.Exec("UPDATE services SET price = 11.00 WHERE id = ?", e.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	if l := list(); l.Recurring != "11.00" || l.Packages[0].NewPrice != "13.00" {
		t.Fatalf("after the panel's price change: %+v; want 11.00 -> 13.00", l)
	}
	if r := e.do("PATCH", fmt.Sprintf("/m/microupsell/admin/packages/%d", pkg), e.admin(), map[string]any{"monthly_prices": map[string]string{"EUR": "3.00"}}); r.code != http.StatusOK {
		t.Fatalf("price change: %d %s", r.code, r.body)
	}
	if l := list(); l.Packages[0].Increase != "3.00" || l.Packages[0].NewPrice != "14.00" {
		t.Fatalf("after the admin's price change: %+v; want +3.00 -> 14.00", l)
	}
	e.buy(pkg, "k1")
	if l := list(); l.Packages[0].Available {
		t.Fatalf("after buying the only one allowed: %+v; want unavailable", l)
	}
}
