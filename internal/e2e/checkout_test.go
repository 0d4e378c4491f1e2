package e2e

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/intake"
)

// userLink is a link bound to the seeded user and no service: it opens the
// configurable-options checkout and nothing of a service.
func (e *env) userLink() map[string]string {
	token := auth.SignLink([]byte(e.cfg.Security.LinkSecret.Reveal()), auth.NewLink(e.seeded.UserID, 0, time.Now(), time.Hour))
	return map[string]string{"X-Upsell-Link": token}
}

// withKey adds an Idempotency-Key to a header set.
func withKey(h map[string]string, key string) map[string]string {
	out := map[string]string{"Idempotency-Key": key}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// groupDoc is the part of an admin group answer the tests use.
type groupDoc struct {
	ID      uint64 `json:"id"`
	Options []struct {
		ID     uint64 `json:"id"`
		Name   string `json:"name"`
		Values []struct {
			ID    uint64 `json:"id"`
			Label string `json:"label"`
		} `json:"values"`
	} `json:"options"`
}

func (g groupDoc) option(t testing.TB, name string) uint64 {
	t.Helper()
	for _, o := range g.Options {
		if o.Name == name {
			return o.ID
		}
	}
	t.Fatalf("no option %q in %+v", name, g)
	return 0
}

func (g groupDoc) value(t *testing.T, option, label string) uint64 {
	t.Helper()
	for _, o := range g.Options {
		if o.Name != option {
			continue
		}
		for _, v := range o.Values {
			if v.Label == label {
				return v.ID
			}
		}
	}
	t.Fatalf("no value %q of %q", label, option)
	return 0
}

func (e *env) createGroup(t testing.TB, doc map[string]any) groupDoc {
	t.Helper()
	r := e.do("POST", "/m/configoptions/admin/groups", e.admin(), doc)
	if r.code != http.StatusCreated {
		t.Fatalf("create group: %d %s", r.code, r.body)
	}
	var g groupDoc
	r.decode(t, &g)
	return g
}

// checkoutCounts is every row a checkout writes.
func (e *env) checkoutCounts(t *testing.T) [6]int {
	return [6]int{
		e.count(t, "SELECT COUNT(*) FROM services"),
		e.count(t, "SELECT COUNT(*) FROM orders"),
		e.count(t, "SELECT COUNT(*) FROM invoices"),
		e.count(t, "SELECT COUNT(*) FROM properties WHERE model_type = 'App\\\\Models\\\\Service'"),
		e.count(t, "SELECT COUNT(*) FROM ext_configoptions_selections"),
		e.count(t, "SELECT COUNT(*) FROM ext_configoptions_checkouts"),
	}
}

type checkoutAnswer struct {
	CheckoutID     uint64            `json:"checkout_id"`
	ServiceID      uint64            `json:"service_id"`
	InvoiceID      uint64            `json:"invoice_id"`
	InvoiceNumber  string            `json:"invoice_number"`
	RecurringPrice string            `json:"recurring_price"`
	OptionsPrice   string            `json:"options_price"`
	DueToday       string            `json:"due_today"`
	Properties     map[string]string `json:"properties"`
}

// TestCheckoutPreset orders a product with preset options: the panel gets
// an order, a pending service renewing at plan + options, the resources as
// service properties for its server extension, and a first invoice whose
// item references the service (so paying it makes Paymenter provision);
// upsell keeps the selections with their prices locked.
func TestCheckoutPreset(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup(t, map[string]any{
		"name": "Game server extras", "mode": "preset", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "Location", "type": "dropdown", "required": true, "values": []map[string]any{
				{"label": "Frankfurt", "raw": "fra", "default": true, "prices": map[string]string{"monthly": "0.00"}},
				{"label": "Helsinki", "raw": "hel", "sort": 1, "prices": map[string]string{"monthly": "1.00"}},
			}},
			{"name": "Extra RAM", "type": "quantity", "provisioning_key": "ram_gb", "min": 0, "max": 16, "step": 1, "unit": "GB", "sort": 1,
				"unit_prices": map[string]string{"monthly": "2.00", "hourly": "0.0030"}},
		},
	})
	choices := []map[string]any{
		{"option_id": g.option(t, "Location"), "value_id": g.value(t, "Location", "Helsinki")},
		{"option_id": g.option(t, "Extra RAM"), "quantity": 4},
	}
	body := map[string]any{"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "currency": "EUR", "choices": choices}
	user := e.userLink()

	r := e.do("POST", "/m/configoptions/checkout", withKey(user, "order-1"), body)
	if r.code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", r.code, r.body)
	}
	var got checkoutAnswer
	r.decode(t, &got)
	// Hand-worked: plan 10.00 + Helsinki 1.00 + 4 GB x 2.00 = 19.00 EUR a
	// month; no setup fee, tax off: 19.00 due now.
	if got.RecurringPrice != "19.00" || got.OptionsPrice != "9.00" || got.DueToday != "19.00" {
		t.Fatalf("priced %+v, want recurring 19.00, options 9.00, due 19.00", got)
	}
	if got.Properties["memory"] != "4096" {
		t.Fatalf("properties %v, want memory 4096 (4 GB)", got.Properties)
	}
	var svc struct {
		Status, Price  string
		PlanID, UserID uint64
		OrderID        *uint64
	}
	if err := e.db.QueryRow("SELECT status, price, plan_id, user_id, order_id FROM services WHERE id = ?", got.ServiceID).
		Scan(&svc.Status, &svc.Price, &svc.PlanID, &svc.UserID, &svc.OrderID); err != nil {
		t.Fatal(err)
	}
	if svc.Status != "pending" || svc.Price != "19.00" || svc.PlanID != e.seeded.PlanID || svc.UserID != e.seeded.UserID || svc.OrderID == nil {
		t.Fatalf("service %+v, want pending at 19.00 on the plan, in an order", svc)
	}
	var propValue string
	if err := e.db.QueryRow("SELECT value FROM properties WHERE model_type = 'App\\\\Models\\\\Service' AND model_id = ? AND `key` = 'memory'", got.ServiceID).Scan(&propValue); err != nil || propValue != "4096" {
		t.Fatalf("memory property %q (%v), want 4096", propValue, err)
	}
	var itemType, itemPrice string
	var itemRef uint64
	if err := e.db.QueryRow("SELECT reference_type, reference_id, price FROM invoice_items WHERE invoice_id = ?", got.InvoiceID).Scan(&itemType, &itemRef, &itemPrice); err != nil {
		t.Fatal(err)
	}
	if itemType != `App\Models\Service` || itemRef != got.ServiceID || itemPrice != "19.00" {
		t.Fatalf("first invoice item %s #%d at %s, want the service at 19.00", itemType, itemRef, itemPrice)
	}
	if got.InvoiceNumber == "" {
		t.Fatal("the invoice has no number")
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_panel_invoices WHERE invoice_id = "+strconv.FormatUint(got.InvoiceID, 10)+" AND module = 'configoptions'"); n != 1 {
		t.Fatalf("invoice owner rows: %d, want 1", n)
	}
	locked := func() string {
		var p string
		if err := e.db.QueryRow("SELECT locked_price FROM ext_configoptions_selections WHERE service_id = ? AND option_id = ?", got.ServiceID, g.option(t, "Extra RAM")).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := locked(); p != "8.00" {
		t.Fatalf("RAM locked at %s, want 8.00", p)
	}

	// A double click: the same key answers the same order, writing nothing.
	before := e.checkoutCounts(t)
	r = e.do("POST", "/m/configoptions/checkout", withKey(user, "order-1"), body)
	var again checkoutAnswer
	r.decode(t, &again)
	if r.code != http.StatusOK || again.ServiceID != got.ServiceID || again.InvoiceID != got.InvoiceID {
		t.Fatalf("replay: %d %+v, want the first order", r.code, again)
	}
	if after := e.checkoutCounts(t); after != before {
		t.Fatalf("replay wrote rows: %v -> %v", before, after)
	}

	// Paid: the panel provisions (its own extension, from the properties);
	// upsell closes the checkout once, however often it hears of it.
	e.pay(got.InvoiceID)
	for range 2 {
		if _, err := e.inbox.RecordPaid(context.Background(), got.InvoiceID, intake.FromWebhook); err != nil {
			t.Fatal(err)
		}
		if _, err := (&intake.Poller{Inbox: e.inbox, Panel: e.d.Panel, Logger: discard()}).Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.drain()
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ext_configoptions_checkouts WHERE state = 'paid' AND invoice_id = "+strconv.FormatUint(got.InvoiceID, 10)); n != 1 {
		t.Fatalf("paid checkouts: %d, want 1", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'configoptions.paid'"); n != 1 {
		t.Fatalf("paid log entries: %d, want 1", n)
	}

	// A later price change in the catalog never reprices the service.
	if _, err := e.db.Exec("UPDATE ext_configoptions_options SET monthly_unit_price = 3.00 WHERE id = ?", g.option(t, "Extra RAM")); err != nil {
		t.Fatal(err)
	}
	if p := locked(); p != "8.00" {
		t.Fatalf("RAM relocked at %s after a catalog change, want 8.00", p)
	}
	var price string
	if err := e.db.QueryRow("SELECT price FROM services WHERE id = ?", got.ServiceID).Scan(&price); err != nil || price != "19.00" {
		t.Fatalf("service price %s (%v), want 19.00", price, err)
	}
}

// TestCheckoutBuildYourOwn orders a BYO game server: billed its options'
// monthly cap, resources as properties, selections marked custom builds.
func TestCheckoutBuildYourOwn(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup(t, map[string]any{
		"name": "Game server", "mode": "build_your_own", "service_type": "game", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "RAM", "type": "slider", "provisioning_key": "ram_gb", "required": true, "min": 1, "max": 16, "step": 1, "unit": "GB",
				"unit_prices": map[string]string{"monthly": "1.50", "hourly": "0.0020"}},
			{"name": "Storage", "type": "slider", "provisioning_key": "disk_gb", "required": true, "min": 10, "max": 200, "step": 10, "unit": "GB", "sort": 1,
				"unit_prices": map[string]string{"monthly": "0.08", "hourly": "0.0001"}},
		},
	})
	body := map[string]any{"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "service_type": "game", "currency": "EUR",
		"choices": []map[string]any{{"option_id": g.option(t, "RAM"), "quantity": 4}, {"option_id": g.option(t, "Storage"), "quantity": 50}}}
	r := e.do("POST", "/m/configoptions/checkout", withKey(e.userLink(), "byo-1"), body)
	if r.code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", r.code, r.body)
	}
	var got checkoutAnswer
	r.decode(t, &got)
	// Hand-worked: 4 GB x 1.50 + 50 GB x 0.08 = 6.00 + 4.00 = 10.00 a
	// month; the product's plan gives the cycle, not a price.
	if got.RecurringPrice != "10.00" || got.DueToday != "10.00" {
		t.Fatalf("priced %+v, want 10.00 recurring and due", got)
	}
	if got.Properties["memory"] != "4096" || got.Properties["disk"] != "51200" {
		t.Fatalf("properties %v, want memory 4096 and disk 51200", got.Properties)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ext_configoptions_selections WHERE custom_build = 1 AND service_id = "+strconv.FormatUint(got.ServiceID, 10)); n != 2 {
		t.Fatalf("custom-build selections: %d, want 2", n)
	}
}

// TestCheckoutRefusals: each bad request gets a clear error and writes
// nothing.
func TestCheckoutRefusals(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup(t, map[string]any{
		"name": "Game server", "mode": "build_your_own", "service_type": "game", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "RAM", "type": "slider", "provisioning_key": "ram_gb", "required": true, "min": 1, "max": 16, "step": 1, "unit": "GB",
				"unit_prices": map[string]string{"monthly": "1.50"}},
			{"name": "Storage", "type": "slider", "provisioning_key": "disk_gb", "required": true, "min": 10, "max": 200, "step": 10, "unit": "GB", "sort": 1,
				"unit_prices": map[string]string{"monthly": "0.08"}},
			{"name": "Notes", "type": "text", "sort": 2},
		},
	})
	ram, disk := g.option(t, "RAM"), g.option(t, "Storage")
	order := func(mut func(map[string]any)) map[string]any {
		b := map[string]any{"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "service_type": "game", "currency": "EUR",
			"choices": []map[string]any{{"option_id": ram, "quantity": 4}, {"option_id": disk, "quantity": 50}}}
		if mut != nil {
			mut(b)
		}
		return b
	}
	long := make([]byte, 501)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name   string
		header map[string]string
		body   map[string]any
		status int
	}{
		{"RAM above its maximum", withKey(e.userLink(), "k1"), order(func(b map[string]any) {
			b["choices"] = []map[string]any{{"option_id": ram, "quantity": 17}, {"option_id": disk, "quantity": 50}}
		}), http.StatusUnprocessableEntity},
		{"storage off its step", withKey(e.userLink(), "k2"), order(func(b map[string]any) {
			b["choices"] = []map[string]any{{"option_id": ram, "quantity": 4}, {"option_id": disk, "quantity": 55}}
		}), http.StatusUnprocessableEntity},
		{"a required option missing", withKey(e.userLink(), "k3"), order(func(b map[string]any) {
			b["choices"] = []map[string]any{{"option_id": ram, "quantity": 4}}
		}), http.StatusUnprocessableEntity},
		{"a text over 500 characters", withKey(e.userLink(), "k4"), order(func(b map[string]any) {
			b["choices"] = []map[string]any{{"option_id": ram, "quantity": 4}, {"option_id": disk, "quantity": 50}, {"option_id": g.option(t, "Notes"), "text": string(long)}}
		}), http.StatusUnprocessableEntity},
		{"a price in the request", withKey(e.userLink(), "k5"), order(func(b map[string]any) { b["recurring_price"] = "0.01" }), http.StatusUnprocessableEntity},
		{"an unknown plan", withKey(e.userLink(), "k6"), order(func(b map[string]any) { b["plan_id"] = 999999 }), http.StatusNotFound},
		{"a currency the plan has no price in", withKey(e.userLink(), "k7"), order(func(b map[string]any) { b["currency"] = "GBP" }), http.StatusConflict},
		{"a product the configurator does not sell", withKey(e.userLink(), "k8"), order(func(b map[string]any) { b["product_id"] = e.seeded.ProductID + 1000 }), http.StatusUnprocessableEntity},
		{"no idempotency key", e.userLink(), order(nil), http.StatusUnprocessableEntity},
		{"a service's link", withKey(e.client(""), "k9"), order(nil), http.StatusUnauthorized},
		{"no link", map[string]string{"Idempotency-Key": "k10"}, order(nil), http.StatusUnauthorized},
		{"a forged link", withKey(map[string]string{"X-Upsell-Link": "v1." + strconv.FormatUint(e.seeded.UserID, 10) + ".0.9999999999.forged"}, "k11"), order(nil), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.checkoutCounts(t)
			r := e.do("POST", "/m/configoptions/checkout", tt.header, tt.body)
			if r.code != tt.status {
				t.Fatalf("status %d %s, want %d", r.code, r.body, tt.status)
			}
			if after := e.checkoutCounts(t); after != before {
				t.Fatalf("rows changed: %v -> %v", before, after)
			}
		})
	}
	// A user's link opens no service route and no admin route.
	if r := e.do("GET", "/m/microupsell/packages", e.userLink(), nil); r.code != http.StatusUnauthorized {
		t.Errorf("user link on a service route: %d, want 401", r.code)
	}
	if r := e.do("GET", "/m/configoptions/admin/groups", e.userLink(), nil); r.code != http.StatusUnauthorized {
		t.Errorf("user link on an admin route: %d, want 401", r.code)
	}
}

// TestCheckoutCoupons applies Paymenter coupons at checkout with its rules:
// a first-cycle percentage coupon discounts the first invoice only; a
// fixed coupon for every cycle lowers the recurring price too; a coupon
// used up, expired or for another product is refused and writes nothing.
func TestCheckoutCoupons(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup(t, map[string]any{
		"name": "Game server", "mode": "build_your_own", "service_type": "game", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "RAM", "type": "slider", "provisioning_key": "ram_gb", "required": true, "min": 1, "max": 16, "step": 1, "unit": "GB",
				"unit_prices": map[string]string{"monthly": "1.50"}},
			{"name": "Storage", "type": "slider", "provisioning_key": "disk_gb", "required": true, "min": 10, "max": 200, "step": 10, "unit": "GB", "sort": 1,
				"unit_prices": map[string]string{"monthly": "0.08"}},
		},
	})
	coupon := func(code, typ, value string, recurring, maxUses any, expires any) {
		if _, err := e.db.Exec("INSERT INTO coupons (type, applies_to, recurring, code, value, max_uses, expires_at) VALUES (?, 'all', ?, ?, ?, ?, ?)",
			typ, recurring, code, value, maxUses, expires); err != nil {
			t.Fatal(err)
		}
	}
	coupon("TENOFF", "percentage", "10.00", nil, nil, nil)
	coupon("FIVE", "fixed", "5.00", 0, 1, nil)
	coupon("OLD", "percentage", "50.00", nil, nil, "2020-01-01 00:00:00")
	order := func(key, code string) response {
		// 4 GB x 1.50 + 50 GB x 0.08 = 10.00 a month before the coupon.
		return e.do("POST", "/m/configoptions/checkout", withKey(e.userLink(), key), map[string]any{
			"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "service_type": "game", "currency": "EUR", "coupon": code,
			"choices": []map[string]any{{"option_id": g.option(t, "RAM"), "quantity": 4}, {"option_id": g.option(t, "Storage"), "quantity": 50}}})
	}
	type answer struct {
		checkoutAnswer
		Discount string `json:"discount"`
	}
	r := order("c1", "TENOFF")
	var a answer
	r.decode(t, &a)
	// 10 % of 10.00 = 1.00 off the first cycle; recurring NULL: the
	// service renews undiscounted at 10.00.
	if r.code != http.StatusCreated || a.DueToday != "9.00" || a.RecurringPrice != "10.00" || a.Discount != "1.00" {
		t.Fatalf("TENOFF: %d %s", r.code, r.body)
	}
	r = order("c2", "FIVE")
	r.decode(t, &a)
	// 5.00 off every cycle (recurring 0): 5.00 due, renews at 5.00.
	if r.code != http.StatusCreated || a.DueToday != "5.00" || a.RecurringPrice != "5.00" {
		t.Fatalf("FIVE: %d %s", r.code, r.body)
	}
	var couponOf uint64
	if err := e.db.Get(&couponOf, "SELECT coupon_id FROM services WHERE id = ?", a.ServiceID); err != nil || couponOf == 0 {
		t.Fatalf("the service does not hold the coupon: %d %v", couponOf, err)
	}
	before := e.checkoutCounts(t)
	for _, tc := range []struct{ key, code string }{{"c3", "FIVE"}, {"c4", "OLD"}, {"c5", "NOSUCH"}} {
		if r := order(tc.key, tc.code); r.code != http.StatusConflict && r.code != http.StatusUnprocessableEntity {
			t.Errorf("coupon %s: %d %s; want refused", tc.code, r.code, r.body)
		}
	}
	if after := e.checkoutCounts(t); after != before {
		t.Fatalf("refused coupons wrote rows: %v -> %v", before, after)
	}
}

// TestCheckoutNamesEveryFailingOption: "required options must have a
// selection" (a blank text is none), and one 422 names every failing
// option, each after its field, so the client fixes them all at once.
func TestCheckoutNamesEveryFailingOption(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup(t, map[string]any{
		"name": "Game server", "mode": "build_your_own", "service_type": "game", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "RAM", "type": "slider", "provisioning_key": "ram_gb", "required": true, "min": 1, "max": 16, "step": 1, "unit": "GB",
				"unit_prices": map[string]string{"monthly": "1.50"}},
			{"name": "Storage", "type": "slider", "provisioning_key": "disk_gb", "required": true, "min": 10, "max": 200, "step": 10, "unit": "GB", "sort": 1,
				"unit_prices": map[string]string{"monthly": "0.08"}},
			{"name": "Server name", "type": "text", "required": true, "sort": 2},
		},
	})
	ram, disk, name := g.option(t, "RAM"), g.option(t, "Storage"), g.option(t, "Server name")
	field := func(id uint64) string { return "options." + strconv.FormatUint(id, 10) }
	tests := []struct {
		name    string
		choices []map[string]any
		message string
	}{
		{"RAM over its maximum, storage missing, the name only spaces",
			[]map[string]any{{"option_id": ram, "quantity": 17}, {"option_id": name, "text": "   "}},
			field(ram) + `: option "RAM": 17 is above the maximum 16; ` + field(disk) + `: option "Storage" is required; ` +
				field(name) + `: option "Server name" is required: its text is blank`},
		{"the name a tab and a newline",
			[]map[string]any{{"option_id": ram, "quantity": 4}, {"option_id": disk, "quantity": 50}, {"option_id": name, "text": "\t\n"}},
			field(name) + `: option "Server name" is required: its text is blank`},
		{"nothing chosen",
			nil,
			field(ram) + `: option "RAM" is required; ` + field(disk) + `: option "Storage" is required; ` + field(name) + `: option "Server name" is required`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.checkoutCounts(t)
			r := e.do("POST", "/m/configoptions/checkout", withKey(e.userLink(), "refuse-"+strconv.Itoa(i)), map[string]any{
				"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "service_type": "game", "currency": "EUR", "choices": tt.choices})
			var got struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			r.decode(t, &got)
			if r.code != http.StatusUnprocessableEntity || got.Error.Code != "invalid" || got.Error.Message != tt.message {
				t.Fatalf("%d %s\nwant 422 invalid: %s", r.code, r.body, tt.message)
			}
			if after := e.checkoutCounts(t); after != before {
				t.Fatalf("rows changed: %v -> %v", before, after)
			}
		})
	}
	// Named, the order goes through.
	r := e.do("POST", "/m/configoptions/checkout", withKey(e.userLink(), "named"), map[string]any{
		"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "service_type": "game", "currency": "EUR",
		"choices": []map[string]any{{"option_id": ram, "quantity": 4}, {"option_id": disk, "quantity": 50}, {"option_id": name, "text": "mc-1"}}})
	if r.code != http.StatusCreated {
		t.Fatalf("named: %d %s", r.code, r.body)
	}
}

// TestCheckoutCouponRoundsOnce: a percentage coupon's discounted total is
// rounded once, half-up, as Paymenter's Service::calculatePrice rounds
// it, so the price stored is the one the panel computes; and every amount
// of the answer, line prices included, has exactly 2 decimals.
func TestCheckoutCouponRoundsOnce(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup(t, map[string]any{
		"name": "Dedicated", "mode": "build_your_own", "service_type": "dedicated", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "Servers", "type": "slider", "provisioning_key": "cpu_cores", "required": true, "min": 1, "max": 4, "step": 1, "unit": "servers",
				"unit_prices": map[string]string{"monthly": "154.45"}},
		},
	})
	for _, c := range []struct {
		code      string
		recurring any
	}{{"TENFIRST", nil}, {"TENEVERY", 0}} {
		if _, err := e.db.Exec("INSERT INTO coupons (type, applies_to, recurring, code, value) VALUES ('percentage', 'all', ?, ?, '10.00')", c.recurring, c.code); err != nil {
			t.Fatal(err)
		}
	}
	type answer struct {
		checkoutAnswer
		PlanPrice string `json:"plan_price"`
		SetupFee  string `json:"setup_fee"`
		Discount  string `json:"discount"`
		Lines     []struct {
			Prices map[string]string `json:"prices"`
		} `json:"lines"`
	}
	tests := []struct {
		code                     string
		due, recurring, discount string
	}{
		// 154.45 - 15.445 = 139.005 -> 139.01 due; the discount shown is
		// 154.45 - 139.01 = 15.44 (rounding 15.445 first gave 139.00);
		// first cycle only: renews at 154.45.
		{"TENFIRST", "139.01", "154.45", "15.44"},
		// every cycle: the service stores 139.01, as calculatePrice does.
		{"TENEVERY", "139.01", "139.01", "15.44"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			r := e.do("POST", "/m/configoptions/checkout", withKey(e.userLink(), tt.code), map[string]any{
				"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "service_type": "dedicated", "currency": "EUR", "coupon": tt.code,
				"choices": []map[string]any{{"option_id": g.option(t, "Servers"), "quantity": 1}}})
			if r.code != http.StatusCreated {
				t.Fatalf("%d %s", r.code, r.body)
			}
			var a answer
			r.decode(t, &a)
			if a.DueToday != tt.due || a.RecurringPrice != tt.recurring || a.Discount != tt.discount || a.OptionsPrice != "154.45" ||
				a.PlanPrice != "0.00" || a.SetupFee != "0.00" || len(a.Lines) != 1 || a.Lines[0].Prices["monthly"] != "154.45" {
				t.Fatalf("priced %s; want due %s, recurring %s, discount %s, options and line 154.45, plan and setup 0.00", r.body, tt.due, tt.recurring, tt.discount)
			}
			var price, item string
			if err := e.db.QueryRow("SELECT CAST(price AS CHAR) FROM services WHERE id = ?", a.ServiceID).Scan(&price); err != nil || price != tt.recurring {
				t.Fatalf("service price %s (%v), want %s", price, err, tt.recurring)
			}
			if err := e.db.QueryRow("SELECT CAST(price AS CHAR) FROM invoice_items WHERE invoice_id = ?", a.InvoiceID).Scan(&item); err != nil || item != tt.due {
				t.Fatalf("invoice item %s (%v), want %s", item, err, tt.due)
			}
		})
	}
}

// TestCheckoutCouponExclusiveTax: with a percentage coupon and exclusive
// tax, the checkout taxes the exact discounted price and rounds after, as
// Paymenter's Service::calculatePrice does (money.PlusExclusiveTax), so the
// price stored is the one the panel would compute. 0.08 less 10 % is
// 0.072; its 7 % tax 0.00504 -> 0.01; 0.082 -> 0.08. Taxing the discounted
// price already rounded (0.07 x 1.07 = 0.0749) stored 0.07.
func TestCheckoutCouponExclusiveTax(t *testing.T) {
	e := newEnvWith(t, map[string]string{"max_apply_attempts": "3"}, withExclusiveTax())
	if _, err := e.db.Exec("INSERT INTO tax_rates (name, rate, country) VALUES ('VAT', '7.00', 'all')"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec("INSERT INTO coupons (type, applies_to, recurring, code, value) VALUES ('percentage', 'all', 0, 'TENEVERY', '10.00')"); err != nil {
		t.Fatal(err)
	}
	g := e.createGroup(t, map[string]any{
		"name": "Tiny", "mode": "build_your_own", "service_type": "dedicated", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "Servers", "type": "slider", "provisioning_key": "cpu_cores", "required": true, "min": 1, "max": 4, "step": 1, "unit": "servers",
				"unit_prices": map[string]string{"monthly": "0.08"}},
		},
	})
	r := e.do("POST", "/m/configoptions/checkout", withKey(e.userLink(), "taxed"), map[string]any{
		"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "service_type": "dedicated", "currency": "EUR", "coupon": "TENEVERY",
		"choices": []map[string]any{{"option_id": g.option(t, "Servers"), "quantity": 1}}})
	if r.code != http.StatusCreated {
		t.Fatalf("%d %s", r.code, r.body)
	}
	var a struct {
		checkoutAnswer
		Discount string `json:"discount"`
	}
	r.decode(t, &a)
	// The discount shown is net: 0.08 - 0.07 (0.072 rounded) = 0.01.
	if a.DueToday != "0.08" || a.RecurringPrice != "0.08" || a.Discount != "0.01" || a.OptionsPrice != "0.08" {
		t.Fatalf("priced %s; want due and recurring 0.08 (Paymenter's), discount 0.01, options 0.08", r.body)
	}
	var price, item string
	if err := e.db.QueryRow("SELECT CAST(price AS CHAR) FROM services WHERE id = ?", a.ServiceID).Scan(&price); err != nil || price != "0.08" {
		t.Fatalf("service price %s (%v), want 0.08", price, err)
	}
	if err := e.db.QueryRow("SELECT CAST(price AS CHAR) FROM invoice_items WHERE invoice_id = ?", a.InvoiceID).Scan(&item); err != nil || item != "0.08" {
		t.Fatalf("invoice item %s (%v), want 0.08", item, err)
	}
}
