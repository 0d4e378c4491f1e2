package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// Cancelling an unpaid add-on order from the console: the order and its
// panel invoice are cancelled together, the open-order limit frees up, the
// client's shop says so, and nothing a late webhook or payment brings is
// applied.

// invoiceStatus is a panel invoice's stored status.
func (e *env) invoiceStatus(id uint64) string {
	e.t.Helper()
	var s string
	if err := e.db.Get(&s, "SELECT status FROM invoices WHERE id = ?", id); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestMConsoleCancelUnpaidOrder(t *testing.T) {
	e := newEnvWith(t, map[string]string{"max_apply_attempts": "3", "max_open_orders": "1"})
	pkg := e.ramPackage()
	o := e.buy(pkg, "first")
	id := strconv.FormatUint(o.ID, 10)
	// The one open order the service may have: a second is refused.
	if r := e.do("POST", "/m/microupsell/orders", e.client("second"), map[string]any{"package_id": pkg}); r.code != http.StatusConflict {
		t.Fatalf("second order beside an unpaid one: %d %s", r.code, r.body)
	}
	before := e.snapshot()

	c := newConsoleClient(t, e)
	detail := c.get("orders/" + id)
	if detail.code != http.StatusOK || !strings.Contains(detail.body, `console/orders/`+id+`/cancel"`) ||
		!strings.Contains(detail.text(), "Cancel order and invoice") {
		t.Fatalf("no cancel button on the unpaid order's page: %d %s", detail.code, detail.text())
	}

	// A forged or missing CSRF token changes nothing.
	for name, form := range map[string]url.Values{"forged": {"csrf": {"forged-token"}}, "missing": {}} {
		p := c.b.post(consoleBase+"orders/"+id+"/cancel", form, nil)
		if p.code != http.StatusForbidden {
			t.Fatalf("%s CSRF: %d %s", name, p.code, p.text())
		}
	}
	if st, inv := e.order(o.ID).State, e.invoiceStatus(o.InvoiceID); st != "awaiting_payment" || inv != "pending" {
		t.Fatalf("after forged posts: order %s, invoice %s", st, inv)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit WHERE action = 'order.cancelled'"); n != 0 {
		t.Fatalf("%d cancel audit entries after forged posts", n)
	}

	cancel := c.post("orders/"+id+"/cancel", url.Values{})
	if cancel.code != http.StatusSeeOther || !strings.HasSuffix(cancel.location, "/console/orders/"+id+"?cancelled=1") {
		t.Fatalf("cancel: %d %q %s", cancel.code, cancel.location, cancel.text())
	}
	if st, inv := e.order(o.ID).State, e.invoiceStatus(o.InvoiceID); st != "cancelled" || inv != "cancelled" {
		t.Fatalf("after the cancel: order %s, invoice %s; want both cancelled", st, inv)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit WHERE action = 'order.cancelled' AND subject = ? AND actor = ?", "order:"+id, "admin:7"); n != 1 {
		t.Fatalf("%d order.cancelled audit entries by admin:7, want 1", n)
	}
	after := c.get("orders/" + id + "?cancelled=1")
	for _, want := range []string{"Cancelled, with its invoice", "cancelled by the admin", "Cancelled"} {
		if !strings.Contains(after.text(), want) {
			t.Errorf("order page after the cancel lacks %q: %s", want, after.text())
		}
	}
	if strings.Contains(after.text(), "Cancel order and invoice") {
		t.Error("a cancelled order still offers the cancel button")
	}
	if list := c.get("orders?state=cancelled"); !strings.Contains(list.text(), "Order "+id) {
		t.Errorf("the cancelled filter does not find the order: %s", list.text())
	}

	// The client's shop says it is cancelled.
	fc := newFormClient(t, e)
	shop := fc.get(fc.open(e.seeded.UserID, e.seeded.ServiceID))
	if shop.code != http.StatusOK || !strings.Contains(shop.body, "Cancelled") || strings.Contains(shop.body, "awaiting payment of invoice") {
		t.Fatalf("shop after the cancel: %d %s", shop.code, shop.body)
	}

	// A second cancel is refused on the page; nothing changes.
	again := c.post("orders/"+id+"/cancel", url.Values{})
	if again.code != http.StatusConflict || !strings.Contains(again.text(), "Nothing was changed") {
		t.Fatalf("second cancel: %d %s", again.code, again.text())
	}

	// A late webhook for the cancelled invoice applies nothing, and the
	// poller finds nothing paid.
	if r := e.webhook(t, o.InvoiceID); r.code != http.StatusAccepted {
		t.Fatalf("webhook: %d %s", r.code, r.body)
	}
	e.drain()
	if n := e.poll(t); n != 0 {
		t.Fatalf("the poller recorded %d paid invoices", n)
	}
	if s := e.snapshot(); s.memory != before.memory || s.price != before.price || e.order(o.ID).State != "cancelled" {
		t.Fatalf("a late webhook changed something: %+v (before %+v), order %s", s, before, e.order(o.ID).State)
	}

	// The open-order limit no longer counts it.
	second := e.buy(pkg, "second")
	if second.State != "awaiting_payment" {
		t.Fatalf("second order after the cancel: %+v", second)
	}

	// A gateway that takes the payment on the cancelled invoice all the
	// same: the order is put on hold for a refund, nothing is applied.
	e.pay(o.InvoiceID)
	e.deliverPaid(t, o.InvoiceID)
	got := e.order(o.ID)
	if got.State != "flagged" || !strings.Contains(got.Reason, "paid after the order was cancelled") {
		t.Fatalf("paid after the cancel: %+v", got)
	}
	if s := e.snapshot(); s.memory != before.memory || s.price != before.price {
		t.Fatalf("a payment on a cancelled invoice was applied: %+v (before %+v)", s, before)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit WHERE action = 'order.flagged' AND subject = ?", "order:"+id); n != 1 {
		t.Fatalf("%d order.flagged audit entries, want 1", n)
	}
}

// An invoice paid, or partly paid, before the cancel: the cancel is
// refused and the order and invoice stay as they were; the paid one is
// then applied as any other.
func TestMicroCancelRefusedOnceMoneyArrived(t *testing.T) {
	e := newEnv(t)
	pkg := e.ramPackage()
	cancel := func(orderID uint64) response {
		return e.do("POST", "/m/microupsell/admin/orders/"+strconv.FormatUint(orderID, 10)+"/cancel", e.admin(), nil)
	}

	partly := e.buy(pkg, "partly")
	if _, err := e.db.Exec("INSERT INTO invoice_transactions (invoice_id, amount, transaction_id, status, created_at, updated_at) VALUES (?, 0.01, 'part', 'succeeded', NOW(), NOW())", partly.InvoiceID); err != nil {
		t.Fatal(err)
	}
	if r := cancel(partly.ID); r.code != http.StatusConflict || !strings.Contains(string(r.body), "has a payment on it") {
		t.Fatalf("cancel of a partly paid invoice: %d %s", r.code, r.body)
	}
	if st, inv := e.order(partly.ID).State, e.invoiceStatus(partly.InvoiceID); st != "awaiting_payment" || inv != "pending" {
		t.Fatalf("refused cancel left order %s, invoice %s", st, inv)
	}

	paid := e.buy(pkg, "paid")
	e.pay(paid.InvoiceID)
	if r := cancel(paid.ID); r.code != http.StatusConflict {
		t.Fatalf("cancel of a paid invoice: %d %s", r.code, r.body)
	}
	if st, inv := e.order(paid.ID).State, e.invoiceStatus(paid.InvoiceID); st != "awaiting_payment" || inv != "paid" {
		t.Fatalf("refused cancel left order %s, invoice %s", st, inv)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit WHERE action = 'order.cancelled'"); n != 0 {
		t.Fatalf("%d order.cancelled entries after refusals", n)
	}
	e.deliverPaid(t, paid.InvoiceID)
	if st := e.order(paid.ID).State; st != "applied" {
		t.Fatalf("the paid order after a refused cancel: %s, want applied", st)
	}

	// Only an order awaiting payment can be cancelled.
	if r := cancel(paid.ID); r.code != http.StatusConflict {
		t.Fatalf("cancel of an applied order: %d %s", r.code, r.body)
	}
}
