package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// The Micro-Upsell console through the daemon: the pages an admin uses
// to manage add-on packages, look at orders and retry a failed one, and
// repair drift, posted as a browser without script posts them.

// consoleClient is an admin's browser on the console, signed in from a
// panel-signed admin link; its forms carry the session's CSRF token.
type consoleClient struct {
	t    *testing.T
	b    *browser
	csrf string
}

// consoleAdmin is the panel admin id the tests sign in as.
const consoleAdmin = 7

func newConsoleClient(t *testing.T, e *env) *consoleClient {
	t.Helper()
	c := &consoleClient{t: t, b: e.signIn(t, consoleAdmin)}
	c.csrf = csrfOf(t, c.get("packages/new").body)
	return c
}

const consoleBase = "/m/microupsell/console/"

func (c *consoleClient) get(path string) page {
	c.t.Helper()
	return c.b.get(consoleBase+path, nil)
}

// post sends form with the session's CSRF token.
func (c *consoleClient) post(path string, form url.Values) page {
	c.t.Helper()
	form.Set("csrf", c.csrf)
	return c.b.post(consoleBase+path, form, nil)
}

// countArgs is one number from the database.
func (e *env) countArgs(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Get(&n, query, args...); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// clientPackages is the client's JSON list for the seeded service, by name.
func (e *env) clientPackages() map[string]int64 {
	e.t.Helper()
	r := e.do("GET", "/m/microupsell/packages", e.client(""), nil)
	if r.code != http.StatusOK {
		e.t.Fatalf("client list: %d %s", r.code, r.body)
	}
	var out struct {
		Packages []struct {
			Name   string `json:"name"`
			Amount int64  `json:"amount"`
		} `json:"packages"`
	}
	r.decode(e.t, &out)
	m := map[string]int64{}
	for _, p := range out.Packages {
		m[p.Name] = p.Amount
	}
	return m
}

func TestMConsolePackages(t *testing.T) {
	e := newEnv(t)
	c := newConsoleClient(t, e)
	list := c.get("packages")
	if list.code != http.StatusOK || !strings.Contains(list.text(), "No packages yet") {
		t.Fatalf("empty list: %d %s", list.code, list.body)
	}
	for _, nav := range []string{`href="/m/microupsell/console/packages"`, `href="/m/microupsell/console/orders"`, `href="/m/microupsell/console/reconcile"`, ">Add-on packages<", ">Add-on orders<", ">Drift<"} {
		if !strings.Contains(list.body, nav) {
			t.Errorf("the console's navigation lacks %s", nav)
		}
	}
	form := c.get("packages/new")
	if form.code != http.StatusOK || !strings.Contains(form.body, `name="price_EUR"`) || !strings.Contains(form.body, `name="price_USD"`) {
		t.Fatalf("new form without a price field per panel currency: %d %s", form.code, form.body)
	}

	// Three refused fields: each is said next to its field, all at once,
	// and nothing is written.
	auditBefore := e.countArgs("SELECT COUNT(*) FROM upsell_audit")
	bad := c.post("packages", url.Values{"name": {" "}, "resource": {"memory_mib"}, "amount": {"1.0001"}, "price_EUR": {"1.005"}, "price_USD": {""}, "sort": {"0"}, "active": {"1"}})
	if bad.code != http.StatusUnprocessableEntity || !strings.Contains(bad.text(), "3 things to fix") {
		t.Fatalf("invalid create: %d %s", bad.code, bad.text())
	}
	for _, field := range []string{"name", "amount", "price_EUR"} {
		if !strings.Contains(bad.body, `id="`+field+`"`) || !strings.Contains(bad.body, `aria-describedby="`+field+`-error"`) && !strings.Contains(bad.body, field+`-error"`) {
			t.Errorf("%s: no error tied to the field", field)
		}
		if !strings.Contains(bad.body, `id="`+field+`-error"`) {
			t.Errorf("%s: no error next to the field", field)
		}
	}
	if n := strings.Count(bad.body, `aria-invalid="true"`); n != 3 {
		t.Errorf("%d fields marked invalid, want 3", n)
	}
	if !strings.Contains(bad.text(), "must be a whole number of MB") {
		t.Errorf("the amount's refusal is not in the admin's units: %s", bad.text())
	}
	if n := e.countArgs("SELECT COUNT(*) FROM ext_micro_upsell_packages"); n != 0 {
		t.Fatalf("a refused form wrote %d packages", n)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit"); n != auditBefore {
		t.Fatalf("a refused form wrote %d audit entries", n-auditBefore)
	}

	// 1.5 GB is stored as MiB, and the client's list offers it.
	ok := c.post("packages", url.Values{"name": {"+1.5 GB RAM"}, "resource": {"memory_mib"}, "amount": {"1.5"}, "price_EUR": {"3.00"}, "price_USD": {""},
		"product_id": {""}, "max_per_service": {"2"}, "sort": {"5"}, "active": {"1"}})
	if ok.code != http.StatusSeeOther || !strings.Contains(ok.location, "console/packages?saved=") {
		t.Fatalf("create: %d %s %s", ok.code, ok.location, ok.text())
	}
	id, _ := strconv.ParseUint(ok.location[strings.Index(ok.location, "saved=")+len("saved="):], 10, 64)
	if got := e.clientPackages(); got["+1.5 GB RAM"] != 1536 {
		t.Fatalf("client list after create: %v", got)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit WHERE action = 'package.created' AND subject = ? AND actor = ?", "package:"+strconv.FormatUint(id, 10), "admin:7"); n != 1 {
		t.Fatalf("%d audit entries for the create by admin 7", n)
	}
	listed := c.get("packages?resource=memory_mib&active=yes&saved=" + strconv.FormatUint(id, 10))
	for _, want := range []string{"Saved +1.5 GB RAM.", "1.5 GB RAM", "3.00 EUR / month", "2 per service", "Every product", "Active"} {
		if !strings.Contains(listed.text(), want) {
			t.Errorf("list lacks %q: %s", want, listed.text())
		}
	}
	if other := c.get("packages?resource=disk_mib"); !strings.Contains(other.text(), "No package matches this filter") {
		t.Errorf("the resource filter kept a memory package: %s", other.text())
	}
	if other := c.get("packages?product=x"); other.code != http.StatusUnprocessableEntity || !strings.Contains(other.body, `aria-invalid="true"`) {
		t.Errorf("a product filter that is no id: %d", other.code)
	}

	// The edit page shows the amount in GB and quotes the sample service:
	// 3.00 a month for 15 of 30 days is 1.50 today.
	edit := c.get("packages/" + strconv.FormatUint(id, 10))
	if edit.code != http.StatusOK || !strings.Contains(edit.body, `name="amount" value="1.5"`) || !strings.Contains(edit.text(), "1.50 EUR") {
		t.Fatalf("edit page: %d %s", edit.code, edit.text())
	}
	// A real service is quoted as its client is: its price 10.00 + 3.00.
	real := c.get("packages/" + strconv.FormatUint(id, 10) + "?preview_service=" + strconv.FormatUint(e.seeded.ServiceID, 10))
	if !strings.Contains(real.text(), "13.00 EUR / month (now 10.00 EUR)") {
		t.Fatalf("service preview: %s", real.text())
	}

	// An edit with refused fields changes nothing.
	var price string
	if err := e.db.Get(&price, "SELECT CAST(monthly_price AS CHAR) FROM ext_micro_upsell_package_prices WHERE package_id = ? AND currency = 'EUR'", id); err != nil {
		t.Fatal(err)
	}
	badEdit := c.post("packages/"+strconv.FormatUint(id, 10), url.Values{"name": {"+1.5 GB RAM"}, "resource": {"memory_mib"}, "amount": {"1.5"},
		"price_EUR": {"-1"}, "price_USD": {""}, "sort": {"first"}, "active": {"1"}})
	if badEdit.code != http.StatusUnprocessableEntity || !strings.Contains(badEdit.text(), "2 things to fix") {
		t.Fatalf("invalid edit: %d %s", badEdit.code, badEdit.text())
	}
	var after string
	_ = e.db.Get(&after, "SELECT CAST(monthly_price AS CHAR) FROM ext_micro_upsell_package_prices WHERE package_id = ? AND currency = 'EUR'", id)
	if after != price {
		t.Fatalf("a refused edit changed the price %s -> %s", price, after)
	}

	// Disable = edit with active off: the client no longer sees it.
	off := c.post("packages/"+strconv.FormatUint(id, 10), url.Values{"name": {"+1.5 GB RAM"}, "resource": {"memory_mib"}, "amount": {"2"},
		"price_EUR": {"3.00"}, "price_USD": {"3.50"}, "sort": {"5"}})
	if off.code != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", off.code, off.text())
	}
	if got := e.clientPackages(); len(got) != 0 {
		t.Fatalf("a disabled package is offered: %v", got)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit WHERE action = 'package.updated'"); n != 1 {
		t.Fatalf("%d audit entries for the edit", n)
	}
	if disabled := c.get("packages?active=no"); !strings.Contains(disabled.text(), "2 GB RAM") || !strings.Contains(disabled.text(), "3.50 USD / month") {
		t.Fatalf("disabled list: %s", disabled.text())
	}
}

func TestMConsoleRetryFailedOrder(t *testing.T) {
	e := newEnvWith(t, map[string]string{"max_apply_attempts": "1"})
	o := e.buy(e.ramPackage(), "k")
	e.pay(o.InvoiceID)
	// The control panel refuses every build change: the one attempt fails.
	e.sim.InjectFault(pterosim.Fault{Method: "PATCH", PathPrefix: "/api/application/servers/", Status: 500, Count: 1000})
	if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromPoller); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if st := e.order(o.ID).State; st != "failed" {
		t.Fatalf("order %s, want failed", st)
	}
	c := newConsoleClient(t, e)
	id := strconv.FormatUint(o.ID, 10)
	today := time.Now().Format("2006-01-02")
	list := c.get("orders?state=failed&service_id=" + strconv.FormatUint(e.seeded.ServiceID, 10) + "&from=" + today + "&to=" + today)
	if list.code != http.StatusOK || !strings.Contains(list.text(), "Order "+id) || !strings.Contains(list.text(), "Failed") {
		t.Fatalf("search: %d %s", list.code, list.text())
	}
	if none := c.get("orders?state=applied"); strings.Contains(none.text(), "Order "+id) {
		t.Fatalf("the state filter kept a failed order: %s", none.text())
	}
	if bad := c.get("orders?from=yesterday"); bad.code != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="from-error"`) {
		t.Fatalf("a date that is no date: %d", bad.code)
	}
	detail := c.get("orders/" + id)
	for _, want := range []string{"Retry applying", "apply failed", "Invoice", "paid"} {
		if !strings.Contains(detail.text(), want) {
			t.Errorf("order page lacks %q: %s", want, detail.text())
		}
	}

	e.sim.ClearFaults()
	retry := c.post("orders/"+id+"/retry", url.Values{})
	if retry.code != http.StatusSeeOther {
		t.Fatalf("retry: %d %s", retry.code, retry.text())
	}
	if got := e.order(o.ID); got.State != "applied" {
		t.Fatalf("after retry: %+v", got)
	}
	if s := e.snapshot(); s.memory != 5120 || s.price != "12.00" {
		t.Fatalf("after retry: %+v", s)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit WHERE action = 'order.retried' AND subject = ?", "order:"+id); n != 1 {
		t.Fatalf("%d audit entries for the retry", n)
	}
	applied := c.get("orders/" + id)
	for _, want := range []string{"Applied", "4 GB RAM", "5 GB RAM", "10.00 EUR → 12.00 EUR", "retried by the admin"} {
		if !strings.Contains(applied.text(), want) {
			t.Errorf("applied order page lacks %q: %s", want, applied.text())
		}
	}
	// An order that is not failed is not retried again.
	again := c.post("orders/"+id+"/retry", url.Values{})
	if again.code != http.StatusConflict || !strings.Contains(again.text(), "Nothing was changed") {
		t.Fatalf("second retry: %d %s", again.code, again.text())
	}
}

func TestMConsoleDrift(t *testing.T) {
	e := newEnv(t)
	o := e.buy(e.ramPackage(), "k")
	e.pay(o.InvoiceID)
	if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromPoller); err != nil {
		t.Fatal(err)
	}
	e.drain()
	// The panel recomputes the price and drops the add-on's 2.00.
	if _, err := e.db.Exec("UPDATE services SET price = 10.00 WHERE id = ?", e.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	c := newConsoleClient(t, e)
	report := c.get("reconcile")
	if report.code != http.StatusOK || !strings.Contains(report.text(), "Restorable") || !strings.Contains(report.text(), "Fix sets 12.00") {
		t.Fatalf("report: %d %s", report.code, report.text())
	}
	if s := e.snapshot(); s.price != "10.00" {
		t.Fatalf("the report changed the price: %+v", s)
	}
	fixed := c.post("reconcile", url.Values{})
	if fixed.code != http.StatusOK || !strings.Contains(fixed.text(), "Fixed what is safe: 1 fixed, 0 left") {
		t.Fatalf("fix: %d %s", fixed.code, fixed.text())
	}
	if s := e.snapshot(); s.price != "12.00" {
		t.Fatalf("after the fix: %+v", s)
	}
	if n := e.countArgs("SELECT COUNT(*) FROM upsell_audit WHERE action = 'reconcile.fixed'"); n != 1 {
		t.Fatalf("%d audit entries for the fix", n)
	}
	if clean := c.get("reconcile"); !strings.Contains(clean.text(), "No drift") {
		t.Fatalf("after the fix: %s", clean.text())
	}
}

func TestMConsoleForgedCSRFRefused(t *testing.T) {
	e := newEnv(t)
	c := newConsoleClient(t, e)
	pkg := e.ramPackage()
	before, audit := e.snapshot(), e.countArgs("SELECT COUNT(*) FROM upsell_audit")
	create := url.Values{"name": {"+1 GB RAM"}, "resource": {"memory_mib"}, "amount": {"1"}, "price_EUR": {"2.00"}, "sort": {"0"}, "active": {"1"}}
	for name, token := range map[string][]string{"forged": {c.csrf[:len(c.csrf)-2] + "xx"}, "missing": nil, "a client session's": {newFormClientToken(t, e, e.seeded.ServiceID)}} {
		for _, path := range []string{"packages", "packages/" + strconv.FormatUint(pkg, 10), "reconcile"} {
			form := url.Values{}
			for k, v := range create {
				form[k] = v
			}
			if token != nil {
				form["csrf"] = token
			}
			p := c.b.post(consoleBase+path, form, nil)
			if p.code != http.StatusForbidden || !strings.Contains(p.body, "This form has expired") {
				t.Fatalf("%s token on %s: %d %s", name, path, p.code, p.body)
			}
		}
	}
	if n := e.countArgs("SELECT COUNT(*) FROM ext_micro_upsell_packages"); n != 1 {
		t.Fatalf("%d packages after forged forms, want the one", n)
	}
	if after := e.snapshot(); after != before || e.countArgs("SELECT COUNT(*) FROM upsell_audit") != audit {
		t.Fatalf("a forged form changed state: %+v -> %+v", before, after)
	}
}
