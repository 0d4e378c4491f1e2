package e2e

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/upsell-io/upsell/internal/browsertest"
	"github.com/upsell-io/upsell/internal/intake"
)

// The Micro-Upsell console in a real headless Chromium: signed in from a
// panel-signed admin link, a package created with the keyboard only and
// then offered in a client's shop, and every console page checked by axe
// and photographed.

// consoleTab is an admin's tab on the console.
type consoleTab struct {
	t *testing.T
	e *env
	b *browsertest.Browser
}

func newConsoleTab(t *testing.T) *consoleTab {
	b := browsertest.New(t)
	e := newEnv(t)
	c := &consoleTab{t: t, e: e, b: b}
	// The bridge sends the admin to the console with a fresh link; the
	// host swaps it for the session and drops it from the address.
	b.Navigate(t, e.http.URL+"/console/?link="+url.QueryEscape(e.adminLink(consoleAdmin, 2*time.Minute)))
	if loc := c.location(); loc != e.http.URL+"/console/" {
		t.Fatalf("the admin link landed on %s", loc)
	}
	return c
}

func (c *consoleTab) ctx() context.Context { return c.b.Context() }

func (c *consoleTab) location() string {
	c.t.Helper()
	loc, err := chromedp.Run(c.ctx(), chromedp.Location())
	if err != nil {
		c.t.Fatalf("location: %v", err)
	}
	return loc
}

// open shows a console page of the module and checks its heading.
func (c *consoleTab) open(path, heading string) {
	c.t.Helper()
	c.b.Navigate(c.t, c.e.http.URL+consoleBase+path)
	if h := browsertest.Text(c.t, c.ctx(), "h1"); !strings.HasPrefix(h, heading) {
		c.t.Fatalf("%s: heading %q, want %q", path, h, heading)
	}
}

// tabTo presses Tab until "tag#id" has the focus.
func (c *consoleTab) tabTo(target string) {
	c.t.Helper()
	browsertest.TabTo(c.t, c.ctx(), target, 60)
}

// typeInto tabs to the field and types text, as a keyboard user does.
func (c *consoleTab) typeInto(target, text string) {
	c.t.Helper()
	c.tabTo(target)
	browsertest.Press(c.t, c.ctx(), browsertest.Key(text))
}

// waitFor waits until the element is visible.
func (c *consoleTab) waitFor(selector string) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx(), chromedp.WaitVisible(chromedp.CSS(selector))); err != nil {
		c.t.Fatalf("wait for %s: %v", selector, err)
	}
}

func (c *consoleTab) checkClean() {
	c.t.Helper()
	if v := c.b.CSPViolations(); len(v) > 0 {
		c.t.Errorf("CSP violations: %v", v)
	}
	for _, m := range c.b.ConsoleErrors() {
		// A refused form answers 422 on purpose (the tests post some),
		// which Chromium logs as a failed load of that address.
		if m.Source == "network" && strings.Contains(m.Text, "status of 422") && strings.HasSuffix(m.URL, consoleBase+"packages") {
			continue
		}
		c.t.Errorf("console error: %v", m)
	}
}

func TestMConsoleBrowserCreatePackageKeyboardOnly(t *testing.T) {
	c := newConsoleTab(t)
	c.open("packages", "Add-on packages")
	c.tabTo("a#new-package")
	browsertest.Press(t, c.ctx(), browsertest.KeyEnter)
	c.waitFor("#save")
	// First without a price: the refusal is next to the prices, and
	// nothing is written.
	c.typeInto("input#name", "Keyboard RAM")
	c.typeInto("input#amount", "2")
	c.tabTo("button#save")
	browsertest.Press(t, c.ctx(), browsertest.KeyEnter)
	c.waitFor("#prices-error")
	if n := c.e.countArgs("SELECT COUNT(*) FROM ext_micro_upsell_packages"); n != 0 {
		t.Fatalf("a refused form wrote %d packages", n)
	}
	if msg := browsertest.Text(t, c.ctx(), "#prices-error"); !strings.Contains(msg, "at least one currency") {
		t.Fatalf("price refusal %q", msg)
	}
	browsertest.CheckAccessibility(t, c.ctx())
	c.typeInto("input#price_EUR", "3.00")
	c.tabTo("button#save")
	browsertest.Press(t, c.ctx(), browsertest.KeyEnter)
	c.waitFor("#packages-status .notice.ok")
	if got := browsertest.Text(t, c.ctx(), "#packages-status"); !strings.Contains(got, "Saved Keyboard RAM") {
		t.Fatalf("after saving: %q", got)
	}
	if got := browsertest.Text(t, c.ctx(), "table"); !strings.Contains(got, "2 GB RAM") || !strings.Contains(got, "3.00 EUR / month") {
		t.Fatalf("list after saving: %q", got)
	}
	c.checkClean()

	// The client's shop offers it, priced for the days left.
	shop := c.e.http.URL + "/m/microupsell/shop?link=" + url.QueryEscape(c.e.link(c.e.seeded.UserID, c.e.seeded.ServiceID, time.Hour))
	c.b.Navigate(t, shop)
	if text := browsertest.Text(t, c.ctx(), "main"); !strings.Contains(text, "Keyboard RAM") || !strings.Contains(text, "Adds 2 GB RAM") {
		t.Fatalf("the client's shop does not offer the new package: %q", text)
	}
}

func TestMConsoleBrowserPages(t *testing.T) {
	c := newConsoleTab(t)
	e := c.e
	pkg := e.ramPackage()
	e.createPackage(map[string]any{"name": "+1 port", "resource": "ports", "amount": 1, "max_per_service": 2, "monthly_prices": map[string]string{"EUR": "1.00", "USD": "1.20"}})
	e.createPackage(map[string]any{"name": "+10 GB disk", "resource": "disk_mib", "amount": 10240, "active": false, "product_id": e.seeded.ProductID, "monthly_prices": map[string]string{"EUR": "1.50"}})
	o := e.buy(pkg, "k1")
	e.pay(o.InvoiceID)
	if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromPoller); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.buy(pkg, "k2") // awaiting payment
	// The panel recomputes the price and drops the applied add-on.
	if _, err := e.db.Exec("UPDATE services SET price = 10.00 WHERE id = ?", e.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}

	for _, p := range []struct{ path, heading, shot string }{
		{"packages", "Add-on packages", "console-packages"},
		{"packages/" + strconv.FormatUint(pkg, 10) + "?preview_service=" + strconv.FormatUint(e.seeded.ServiceID, 10), "Edit +1 GB RAM", "console-package-edit"},
		{"orders", "Add-on orders", "console-orders"},
		{"orders/" + strconv.FormatUint(o.ID, 10), "Add-on order", "console-order"},
		{"reconcile", "Drift", "console-drift"},
	} {
		c.open(p.path, p.heading)
		browsertest.CheckAccessibility(t, c.ctx())
		c.b.Screenshot(t, p.shot)
	}
	// The fix from the drift page, with the mouse.
	if err := chromedp.Do(c.ctx(), chromedp.Click(chromedp.CSS("#fix"))); err != nil {
		t.Fatal(err)
	}
	c.waitFor("#drift-status .notice")
	if got := browsertest.Text(t, c.ctx(), "#drift-status"); !strings.Contains(got, "1 fixed, 0 left") {
		t.Fatalf("after the fix: %q", got)
	}
	browsertest.CheckAccessibility(t, c.ctx())
	// A package form with refusals is accessible too.
	c.open("packages/new", "New add-on package")
	if err := chromedp.Do(c.ctx(), chromedp.Click(chromedp.CSS("#save"))); err != nil {
		t.Fatal(err)
	}
	c.waitFor("#name-error")
	browsertest.CheckAccessibility(t, c.ctx())
	c.checkClean()
}
