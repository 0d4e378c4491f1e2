package e2e

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// changeAnswer is the part of a change answer the tests read.
type changeAnswer struct {
	ChangeID       uint64 `json:"change_id"`
	State          string `json:"state"`
	CycleDelta     string `json:"cycle_delta"`
	RecurringDelta string `json:"recurring_delta"`
	RecurringAfter string `json:"recurring_price_after"`
	DueToday       string `json:"due_today"`
	Credit         string `json:"credit"`
	DaysLeft       int    `json:"days_left"`
	DaysInCycle    int    `json:"days_in_cycle"`
	InvoiceID      uint64 `json:"invoice_id"`
	Reason         string `json:"reason"`
}

// changeFixture is the seeded service (10.00 a month, 15 days left, its
// server at 4096 MiB) sold with a preset "Extra RAM" option at 4 GB x
// 2.00: it renews at 18.00.
type changeFixture struct {
	*env
	ram uint64
}

func newChangeFixture(t *testing.T) changeFixture {
	e := newEnv(t)
	g := e.createGroup(t, map[string]any{
		"name": "Game server extras", "mode": "preset", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "Extra RAM", "type": "quantity", "provisioning_key": "ram_gb", "min": 1, "max": 16, "step": 1, "unit": "GB",
				"unit_prices": map[string]string{"monthly": "2.00", "hourly": "0.0030"}},
		},
	})
	f := changeFixture{env: e, ram: g.option(t, "Extra RAM")}
	now := time.Now().UTC()
	if _, err := e.db.Exec(`INSERT INTO ext_configoptions_selections (service_id, option_id, quantity, locked_price, locked_hourly, cycle_type, cycle_period, cycle_unit, custom_build, created_at, updated_at)
VALUES (?, ?, 4, 8.00, 0.0120, 'recurring', 1, 'month', 0, ?, ?)`, e.seeded.ServiceID, f.ram, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec("UPDATE services SET price = 18.00 WHERE id = ?", e.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	return f
}

// state is everything a change may write.
type changeState struct {
	changes, invoices, credits, audit int
	price, credit                     string
	quantity                          int64
	memory                            int
}

func (f changeFixture) state(t *testing.T) changeState {
	t.Helper()
	var s changeState
	s.changes = f.count(t, "SELECT COUNT(*) FROM ext_configoptions_changes")
	s.invoices = f.count(t, "SELECT COUNT(*) FROM invoices")
	s.credits = f.count(t, "SELECT COUNT(*) FROM credits")
	s.audit = f.count(t, "SELECT COUNT(*) FROM upsell_audit")
	if err := f.db.Get(&s.price, "SELECT CAST(price AS CHAR) FROM services WHERE id = ?", f.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Get(&s.credit, "SELECT CAST(CAST(COALESCE(SUM(amount), 0) AS DECIMAL(17,2)) AS CHAR) FROM credits WHERE user_id = ?", f.seeded.UserID); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Get(&s.quantity, "SELECT quantity FROM ext_configoptions_selections WHERE service_id = ? AND option_id = ?", f.seeded.ServiceID, f.ram); err != nil {
		t.Fatal(err)
	}
	srv, _ := f.sim.Server(f.serverID)
	s.memory = srv.Limits.Memory
	return s
}

func (f changeFixture) change(t *testing.T, key string, gb int) (int, changeAnswer) {
	t.Helper()
	r := f.do("POST", "/m/configoptions/change", f.client(key), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": gb}}})
	var a changeAnswer
	if r.code == http.StatusCreated || r.code == http.StatusOK {
		r.decode(t, &a)
	} else {
		t.Logf("change: %d %s", r.code, r.body)
	}
	return r.code, a
}

// monthSpan is the length in days of the monthly cycle that ends at the
// seeded service's expiry: from the same day of the month before (the last
// day of that month when it is shorter) to the expiry.
func (f changeFixture) monthSpan(t *testing.T) int {
	t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	exp := fifteenDaysLeft(f.now).In(berlin)
	y, m, d := exp.Date()
	first := time.Date(y, m-1, 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	start := time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(start).Hours() / 24)
}

// paidTwice delivers an invoice's payment by webhook twice and by the
// poller, and runs the jobs each time.
func (f changeFixture) paidTwice(t *testing.T, invoiceID uint64) {
	t.Helper()
	for range 2 {
		if _, err := f.inbox.RecordPaid(context.Background(), invoiceID, intake.FromWebhook); err != nil {
			t.Fatal(err)
		}
		if _, err := (&intake.Poller{Inbox: f.inbox, Panel: f.d.Panel, Logger: discard()}).Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.drain()
	}
}

// TestOptionChangeUpgradeAndDowngrade changes the RAM of a running service
// up (invoiced, applied once on payment however often it is delivered) and
// down (applied at once, the unused days credited), with the figures
// worked by hand for every length the current month can have.
func TestOptionChangeUpgradeAndDowngrade(t *testing.T) {
	f := newChangeFixture(t)
	span := f.monthSpan(t)
	// Upgrade 4 GB -> 8 GB: +4 x 2.00 = +8.00 a month; 15 days left of the
	// month: 8.00 x 15/span, rounded once.
	upDue := map[int]string{28: "4.29", 29: "4.14", 30: "4.00", 31: "3.87"}[span] // 4.2857.., 4.1379.., 4.00, 3.8709..
	// Downgrade 8 GB -> 2 GB: -6 x 2.00 = -12.00 a month: 12.00 x 15/span
	// owed to the client.
	downCredit := map[int]string{28: "6.43", 29: "6.21", 30: "6.00", 31: "5.81"}[span] // 6.4285.., 6.2068.., 6.00, 5.8064..

	// The quote writes nothing.
	before := f.state(t)
	r := f.do("POST", "/m/configoptions/change/quote", f.client(""), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}})
	var q changeAnswer
	r.decode(t, &q)
	if r.code != http.StatusOK || q.DueToday != upDue || q.CycleDelta != "8.00" || q.RecurringAfter != "26.00" || q.DaysLeft != 15 || q.DaysInCycle != span {
		t.Fatalf("quote: %d %+v; want %s due, +8.00, 26.00 after, 15 of %d days", r.code, q, upDue, span)
	}
	if after := f.state(t); after != before {
		t.Fatalf("the quote wrote: %+v -> %+v", before, after)
	}

	code, up := f.change(t, "up-1", 8)
	if code != http.StatusCreated || up.State != "awaiting_payment" || up.DueToday != upDue || up.InvoiceID == 0 {
		t.Fatalf("upgrade: %d %+v", code, up)
	}
	var itemType, itemPrice string
	if err := f.db.QueryRow("SELECT reference_type, CAST(price AS CHAR) FROM invoice_items WHERE invoice_id = ?", up.InvoiceID).Scan(&itemType, &itemPrice); err != nil {
		t.Fatal(err)
	}
	if itemType != `Upsell\OptionChange` || itemPrice != upDue {
		t.Fatalf("invoice item %s at %s; want Upsell\\OptionChange (not a renewal) at %s", itemType, itemPrice, upDue)
	}
	// A double click answers the same change; another change waits.
	mid := f.state(t)
	if code, again := f.change(t, "up-1", 8); code != http.StatusOK || again.ChangeID != up.ChangeID {
		t.Fatalf("replay: %d %+v", code, again)
	}
	if code, _ := f.change(t, "up-2", 10); code != http.StatusConflict {
		t.Fatalf("a second open change: %d, want 409", code)
	}
	if after := f.state(t); after != mid {
		t.Fatalf("replay or refused change wrote: %+v -> %+v", mid, after)
	}
	// Nothing moves before payment.
	if mid.price != "18.00" || mid.memory != 4096 || mid.quantity != 4 {
		t.Fatalf("before payment: %+v", mid)
	}

	builds := f.sim.Requests(pterosim.RouteUpdateBuild)
	f.pay(up.InvoiceID)
	f.paidTwice(t, up.InvoiceID)
	s := f.state(t)
	if s.price != "26.00" || s.memory != 8192 || s.quantity != 8 {
		t.Fatalf("after payment: %+v; want 26.00, 8192 MiB, 8 GB", s)
	}
	if n := f.sim.Requests(pterosim.RouteUpdateBuild) - builds; n != 1 {
		t.Fatalf("build PATCHes: %d, want 1", n)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'configoptions.change_applied'"); n != 1 {
		t.Fatalf("applied log entries: %d, want 1", n)
	}
	var memProp, locked string
	if err := f.db.Get(&memProp, "SELECT value FROM properties WHERE model_type = 'App\\\\Models\\\\Service' AND model_id = ? AND `key` = 'memory'", f.seeded.ServiceID); err != nil || memProp != "8192" {
		t.Fatalf("memory property %q (%v); want 8192 for Paymenter's own re-provisioning", memProp, err)
	}
	if err := f.db.Get(&locked, "SELECT CAST(locked_price AS CHAR) FROM ext_configoptions_selections WHERE service_id = ? AND option_id = ?", f.seeded.ServiceID, f.ram); err != nil || locked != "16.00" {
		t.Fatalf("locked price %s (%v); want 16.00", locked, err)
	}

	// Downgrade 8 -> 2 GB: nothing to pay, applied at once, credited.
	builds = f.sim.Requests(pterosim.RouteUpdateBuild)
	code, down := f.change(t, "down-1", 2)
	if code != http.StatusCreated || down.State != "applied" || down.DueToday != "-"+downCredit || down.Credit != downCredit || down.InvoiceID != 0 {
		t.Fatalf("downgrade: %d %+v; want applied, -%s due, %s credited, no invoice", code, down, downCredit, downCredit)
	}
	s = f.state(t)
	if s.price != "14.00" || s.memory != 2048 || s.quantity != 2 || s.credit != downCredit || s.credits != 1 {
		t.Fatalf("after downgrade: %+v; want 14.00, 2048 MiB, 2 GB, %s credit in one row", s, downCredit)
	}
	if n := f.sim.Requests(pterosim.RouteUpdateBuild) - builds; n != 1 {
		t.Fatalf("build PATCHes: %d, want 1", n)
	}
	// The reconcile round finds nothing left to do.
	f.reconcileModules(t, 1, "configoptions")
	if after := f.state(t); after.price != "14.00" || after.memory != 2048 || after.credit != downCredit {
		t.Fatalf("reconcile moved things: %+v", after)
	}
}

// TestOptionChangeRefusals: each bad request gets a clear error and changes
// nothing: no change row, invoice, credit, price, selection or limit.
func TestOptionChangeRefusals(t *testing.T) {
	f := newChangeFixture(t)
	before := f.state(t)
	forged := f.link(f.seeded.UserID, f.seeded.ServiceID, time.Hour)
	forged = forged[:len(forged)-2] + "xx"
	cases := []struct {
		name   string
		header map[string]string
		body   any
		want   int
	}{
		{"above the maximum", f.client("k1"), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 17}}}, http.StatusUnprocessableEntity},
		{"below the minimum", f.client("k2"), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 0}}}, http.StatusUnprocessableEntity},
		{"negative", f.client("k3"), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": -4}}}, http.StatusUnprocessableEntity},
		{"a price in the body", f.client("k4"), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}, "due_today": "0.01"}, http.StatusUnprocessableEntity},
		{"an unknown option", f.client("k5"), map[string]any{"choices": []map[string]any{{"option_id": 999999, "quantity": 8}}}, http.StatusUnprocessableEntity},
		{"nothing changes", f.client("k6"), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 4}}}, http.StatusUnprocessableEntity},
		{"no choices", f.client("k7"), map[string]any{"choices": []map[string]any{}}, http.StatusUnprocessableEntity},
		{"no idempotency key", f.client(""), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}}, http.StatusUnprocessableEntity},
		{"a user's link", withKey(f.userLink(), "k8"), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}}, http.StatusUnauthorized},
		{"a forged link", map[string]string{"X-Upsell-Link": forged, "Idempotency-Key": "k9"}, map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}}, http.StatusUnauthorized},
		{"no link", map[string]string{"Idempotency-Key": "k10"}, map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do("POST", "/m/configoptions/change", tc.header, tc.body)
			if r.code != tc.want {
				t.Fatalf("%d %s; want %d", r.code, r.body, tc.want)
			}
			if after := f.state(t); after != before {
				t.Fatalf("refused request wrote: %+v -> %+v", before, after)
			}
		})
	}

	// Another service of another user: its link opens only that service, so
	// the seeded service's selections cannot be reached with it.
	other := f.addService()
	r := f.do("POST", "/m/configoptions/change", f.clientOf(other, "k11"), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}})
	if r.code == http.StatusCreated || r.code == http.StatusOK {
		// The other service holds no RAM option yet: adding one is a new
		// change of that service, never of the seeded one.
		var a changeAnswer
		r.decode(t, &a)
		var svc uint64
		if err := f.db.Get(&svc, "SELECT service_id FROM ext_configoptions_changes WHERE id = ?", a.ChangeID); err != nil || svc != other {
			t.Fatalf("change %d is of service %d (%v), want %d", a.ChangeID, svc, err, other)
		}
	}
	if after := f.state(t); after.price != before.price || after.memory != before.memory || after.quantity != before.quantity {
		t.Fatalf("another service's link changed the seeded service: %+v -> %+v", before, after)
	}
}

// TestOptionChangeCancelled: a client withdraws an unpaid upgrade and makes
// another; paying the withdrawn invoice later flags it for a refund and
// applies nothing.
func TestOptionChangeCancelled(t *testing.T) {
	f := newChangeFixture(t)
	_, up := f.change(t, "up-1", 8)
	if r := f.do("POST", "/m/configoptions/change/cancel", f.client(""), nil); r.code != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.code, r.body)
	}
	if r := f.do("POST", "/m/configoptions/change/cancel", f.client(""), nil); r.code != http.StatusNotFound {
		t.Fatalf("cancel again: %d %s; want 404", r.code, r.body)
	}
	code, next := f.change(t, "up-2", 6)
	if code != http.StatusCreated || next.State != "awaiting_payment" {
		t.Fatalf("a new change after cancelling: %d %+v", code, next)
	}
	before := f.state(t)
	f.pay(up.InvoiceID)
	f.paidTwice(t, up.InvoiceID)
	if after := f.state(t); after.price != before.price || after.memory != before.memory || after.quantity != before.quantity {
		t.Fatalf("a cancelled change was applied: %+v -> %+v", before, after)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM ext_configoptions_changes WHERE state = 'flagged' AND reason LIKE '%refund%' AND id = "+strconv.FormatUint(up.ChangeID, 10)); n != 1 {
		t.Fatalf("the late payment is not flagged for a refund")
	}
	f.pay(next.InvoiceID)
	f.paidTwice(t, next.InvoiceID)
	if s := f.state(t); s.price != "22.00" || s.memory != 6144 || s.quantity != 6 {
		t.Fatalf("the second change: %+v; want 22.00, 6144 MiB, 6 GB", s)
	}
}

// TestOptionChangeAdapterDown: a downgrade while the provisioning panel
// answers 500 leaves the price, selections, credit and limits as they were;
// the reconcile round applies it once the panel is back.
func TestOptionChangeAdapterDown(t *testing.T) {
	f := newChangeFixture(t)
	before := f.state(t)
	f.sim.InjectFault(pterosim.Fault{Method: "PATCH", PathPrefix: "/api/application/servers/", Status: 500, Count: 1000})
	code, down := f.change(t, "down-1", 2)
	if code != http.StatusCreated || down.State != "paid" || down.Reason == "" {
		t.Fatalf("downgrade with the panel down: %d %+v; want created, still paid, with the reason", code, down)
	}
	s := f.state(t)
	if s.price != before.price || s.memory != before.memory || s.quantity != before.quantity || s.credit != before.credit {
		t.Fatalf("a change not applied moved something: %+v -> %+v", before, s)
	}
	f.sim.ClearFaults()
	f.reconcileModules(t, 1, "configoptions")
	s = f.state(t)
	if s.price != "14.00" || s.memory != 2048 || s.quantity != 2 || s.credits != 1 {
		t.Fatalf("after the panel came back: %+v; want 14.00, 2048 MiB, 2 GB, one credit", s)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM ext_configoptions_changes WHERE state = 'applied' AND id = "+strconv.FormatUint(down.ChangeID, 10)); n != 1 {
		t.Fatalf("change %d not applied", down.ChangeID)
	}
}

// TestAddOnsAndOptionChangesShareAService: a service holding a Micro-Upsell
// add-on changes its RAM option. The option change keeps the add-on's share
// (in the server's memory and in the price), and Micro-Upsell's reconcile
// round must not take that change for the panel undoing its add-on: before
// the host recorded what each module writes, it put +1024 MiB and +2.00
// back on top, giving the client RAM they had given up and billing the
// add-on twice. The panel undoing things afterwards is still repaired.
func TestAddOnsAndOptionChangesShareAService(t *testing.T) {
	f := newChangeFixture(t)
	o := f.buy(f.ramPackage(), "addon-1")
	f.pay(o.InvoiceID)
	f.paidTwice(t, o.InvoiceID)
	if s := f.state(t); s.price != "20.00" || s.memory != 5120 {
		t.Fatalf("after the add-on: %+v; want 20.00 (18.00 + 2.00), 5120 MiB", s)
	}

	// Downgrade the option 4 -> 2 GB: -2 x 2.00 a month, 2048 MiB less.
	code, down := f.change(t, "down-1", 2)
	if code != http.StatusCreated || down.State != "applied" {
		t.Fatalf("downgrade: %d %+v", code, down)
	}
	s := f.state(t)
	if s.price != "16.00" || s.memory != 3072 {
		t.Fatalf("after the downgrade: %+v; want 16.00, 3072 MiB (the add-on's 1024 kept)", s)
	}
	builds := f.sim.Requests(pterosim.RouteUpdateBuild)
	f.reconcileModules(t, 1, "microupsell", "configoptions")
	if after := f.state(t); after.price != "16.00" || after.memory != 3072 {
		t.Fatalf("reconcile took the option change for the panel: %+v -> %+v", s, after)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.restored'"); n != 0 {
		t.Fatalf("%d restorations after an option change", n)
	}
	if n := f.sim.Requests(pterosim.RouteUpdateBuild) - builds; n != 0 {
		t.Fatalf("%d build PATCHes from a round with nothing undone", n)
	}

	// Now Paymenter's own upgrade job puts the product's limits back
	// (memory from the properties the downgrade rewrote, 2048) and
	// recomputes the price from the plan, 10.00: the add-on goes back on
	// top of both.
	if _, err := f.db.Exec("UPDATE services SET price = 10.00 WHERE id = ?", f.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	srv, _ := f.sim.Server(f.serverID)
	limits := srv.Limits
	limits.Memory = 2048
	if err := f.sim.SetServerLimits(f.serverID, limits, srv.FeatureLimits); err != nil {
		t.Fatal(err)
	}
	f.reconcile(t, 2)
	if after := f.state(t); after.price != "12.00" || after.memory != 3072 {
		t.Fatalf("after the panel's reset: %+v; want 12.00 (10.00 + 2.00) and 3072 MiB (2048 + 1024)", after)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.restored'"); n != 1 {
		t.Fatalf("%d restorations, want 1", n)
	}
}
