package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/upsell-io/upsell/internal/browsertest"
	"github.com/upsell-io/upsell/internal/intake"
)

// The shop in a real headless Chromium: opened from a signed link, bought
// with the mouse (a double click), with the keyboard only, and with
// JavaScript off, paid on a server standing in for the panel, and checked
// by axe on every page a client sees.

// fakePanel stands in for the panel's invoice pages: the shop's last step
// sends the browser there.
type fakePanel struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newFakePanel(t *testing.T) *fakePanel {
	p := &fakePanel{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		p.mu.Lock()
		p.paths = append(p.paths, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>Invoice</title><main><h1>Invoice</h1></main></html>`))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *fakePanel) visits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// shopTab is a browser on the shop of the seeded service.
type shopTab struct {
	t     *testing.T
	e     *env
	b     *browsertest.Browser
	panel *fakePanel
}

func newShopTab(t *testing.T, opts ...browsertest.Option) *shopTab {
	panel := newFakePanel(t)
	b := browsertest.New(t, opts...)
	e := newEnvWith(t, map[string]string{"max_apply_attempts": "3"}, withPanelURL(panel.URL))
	return &shopTab{t: t, e: e, b: b, panel: panel}
}

func (s *shopTab) ctx() context.Context { return s.b.Context() }

func (s *shopTab) shopURL() string {
	return s.e.http.URL + "/m/microupsell/shop?service=" + strconv.FormatUint(s.e.seeded.ServiceID, 10)
}

// open follows a fresh signed link to the shop and checks where it lands.
func (s *shopTab) open() {
	s.t.Helper()
	s.b.Navigate(s.t, s.e.http.URL+"/m/microupsell/shop?link="+url.QueryEscape(s.e.link(s.e.seeded.UserID, s.e.seeded.ServiceID, time.Hour)))
	if loc := s.location(); loc != s.shopURL() {
		s.t.Fatalf("the link landed on %s, want %s (the link gone from the address)", loc, s.shopURL())
	}
	if h := browsertest.Text(s.t, s.ctx(), "h1"); !strings.HasPrefix(h, "Add-ons for") {
		s.t.Fatalf("shop heading %q", h)
	}
}

func (s *shopTab) location() string {
	s.t.Helper()
	loc, err := chromedp.Run(s.ctx(), chromedp.Location())
	if err != nil {
		s.t.Fatalf("location: %v", err)
	}
	return loc
}

// waitLocation waits until the tab's address starts with prefix.
func (s *shopTab) waitLocation(prefix string) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		loc, err := chromedp.Run(s.ctx(), chromedp.Location())
		if err == nil && strings.HasPrefix(loc, prefix) {
			// The page there has loaded (the panel answered).
			if err := chromedp.Do(s.ctx(), chromedp.WaitReady(chromedp.CSS("main"))); err != nil {
				s.t.Fatalf("page at %s: %v", loc, err)
			}
			return loc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("still at %s (%v), want %s...", loc, err, prefix)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// doubleClick clicks the element twice in a row at its centre, as an
// impatient client does: two mouse clicks, not one with a click count.
func (s *shopTab) doubleClick(selector string) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx(), chromedp.ScrollIntoView(chromedp.CSS(selector))); err != nil {
		s.t.Fatalf("scroll to %s: %v", selector, err)
	}
	box, err := chromedp.Run(s.ctx(), chromedp.Dimensions(chromedp.CSS(selector)))
	if err != nil {
		s.t.Fatalf("box of %s: %v", selector, err)
	}
	q := box.Content
	x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
	if err := chromedp.Do(s.ctx(), chromedp.MouseClickXY(x, y), chromedp.MouseClickXY(x, y)); err != nil {
		s.t.Fatalf("double click %s: %v", selector, err)
	}
}

// tabTo presses Tab until the element "tag#id" has the focus.
func (s *shopTab) tabTo(target string) {
	s.t.Helper()
	browsertest.TabTo(s.t, s.ctx(), target, 40)
}

// orderedOnce checks exactly one order was made and returns its invoice
// and the invoice's pay address.
func (s *shopTab) orderedOnce() (uint64, string) {
	s.t.Helper()
	if n := s.e.countOrders(); n != 1 {
		s.t.Fatalf("%d orders, want exactly 1", n)
	}
	var invoiceID uint64
	if err := s.e.db.Get(&invoiceID, "SELECT invoice_id FROM ext_micro_upsell_order_addons"); err != nil {
		s.t.Fatal(err)
	}
	return invoiceID, s.panel.URL + "/invoices/" + strconv.FormatUint(invoiceID, 10)
}

// payAndApply pays the invoice as the panel would and runs the jobs.
func (s *shopTab) payAndApply(invoiceID uint64) {
	s.t.Helper()
	s.e.pay(invoiceID)
	if _, err := s.e.inbox.RecordPaid(context.Background(), invoiceID, intake.FromWebhook); err != nil {
		s.t.Fatal(err)
	}
	s.e.drain()
}

// checkClean fails on console errors and CSP violations of the tab.
func (s *shopTab) checkClean() {
	s.t.Helper()
	if v := s.b.CSPViolations(); len(v) > 0 {
		s.t.Errorf("CSP violations: %v", v)
	}
	if v := s.b.ConsoleErrors(); len(v) > 0 {
		s.t.Errorf("console errors: %v", v)
	}
}

// buyWithMouse runs the purchase from the open shop to the panel invoice
// with a double click on the last button, then pays and sees it applied.
func (s *shopTab) buyWithMouse(shots bool) {
	s.t.Helper()
	pkg := "#buy-1"
	if err := chromedp.Do(s.ctx(), chromedp.Click(chromedp.CSS(pkg))); err != nil {
		s.t.Fatalf("click Buy: %v", err)
	}
	if err := chromedp.Do(s.ctx(), chromedp.WaitVisible(chromedp.CSS("#confirm"))); err != nil {
		s.t.Fatalf("confirmation page: %v", err)
	}
	if h := browsertest.Text(s.t, s.ctx(), "h1"); h != "Confirm your add-on" {
		s.t.Fatalf("confirmation heading %q", h)
	}
	if shots {
		browsertest.CheckAccessibility(s.t, s.ctx())
		s.b.Screenshot(s.t, "shop-confirm")
	}
	if n := s.e.countOrders(); n != 0 {
		s.t.Fatalf("the confirmation page made %d orders", n)
	}
	s.doubleClick("#confirm")
	loc := s.waitLocation(s.panel.URL + "/invoices/")
	invoiceID, payURL := s.orderedOnce()
	if loc != payURL {
		s.t.Fatalf("sent to %s, want the invoice %s", loc, payURL)
	}
	if v := s.panel.visits(); len(v) != 1 || v[0] != "GET /invoices/"+strconv.FormatUint(invoiceID, 10) {
		s.t.Fatalf("the panel saw %v", v)
	}
	s.payAndApply(invoiceID)
	s.b.Navigate(s.t, s.shopURL())
	history := browsertest.Text(s.t, s.ctx(), "table")
	if !strings.Contains(history, "Applied") || strings.Contains(history, "Awaiting payment") {
		s.t.Fatalf("history after payment: %q", history)
	}
	if shots {
		s.b.Screenshot(s.t, "shop-history")
	}
}

func TestShopBrowserBuyDoubleClick(t *testing.T) {
	s := newShopTab(t)
	s.e.ramPackage()
	s.open()
	browsertest.CheckAccessibility(t, s.ctx())
	s.b.Screenshot(t, "shop")
	s.buyWithMouse(true)
	if text := browsertest.Text(t, s.ctx(), "main"); !strings.Contains(text, "5 GB RAM") {
		t.Fatalf("limits after the add-on: %q", text)
	}
	s.checkClean()
}

func TestShopBrowserBuyWithoutJavaScript(t *testing.T) {
	s := newShopTab(t, browsertest.WithoutJavaScript())
	s.e.ramPackage()
	s.open()
	// No script stops the second click here; Chromium itself folds two
	// clicks on one submit button into one navigation (the module saw one
	// POST when this was written). A form that does reach the module twice
	// is one order by its key: TestShopBuyTwoSubmitsOneOrder posts it twice.
	s.buyWithMouse(false)
	browsertest.CheckAccessibility(t, s.ctx())
	s.checkClean()
}

func TestShopBrowserBuyKeyboardOnly(t *testing.T) {
	s := newShopTab(t)
	s.e.ramPackage()
	s.open()
	s.tabTo("button#buy-1")
	browsertest.Press(t, s.ctx(), browsertest.KeyEnter)
	if err := chromedp.Do(s.ctx(), chromedp.WaitVisible(chromedp.CSS("#confirm"))); err != nil {
		t.Fatalf("confirmation page: %v", err)
	}
	s.tabTo("button#confirm")
	browsertest.Press(t, s.ctx(), browsertest.KeyEnter)
	loc := s.waitLocation(s.panel.URL + "/invoices/")
	invoiceID, payURL := s.orderedOnce()
	if loc != payURL {
		t.Fatalf("sent to %s, want %s", loc, payURL)
	}
	s.payAndApply(invoiceID)
	s.b.Navigate(t, s.shopURL())
	if history := browsertest.Text(t, s.ctx(), "table"); !strings.Contains(history, "Applied") {
		t.Fatalf("history after payment: %q", history)
	}
	s.checkClean()
}

func TestShopBrowserErrorPages(t *testing.T) {
	s := newShopTab(t)
	pkg := s.e.ramPackage()
	s.e.createPackage(map[string]any{"name": "+1 port", "resource": "ports", "amount": 1, "monthly_prices": map[string]string{"EUR": "1.00"}})

	// A refused purchase: the open-order limit (3) reached through the JSON
	// route, the shop's form answers with the reason.
	for _, k := range []string{"a", "b", "c"} {
		s.e.buy(pkg, k)
	}
	s.open()
	if err := chromedp.Do(s.ctx(), chromedp.Click(chromedp.CSS("#buy-2"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(s.ctx(), chromedp.WaitVisible(chromedp.CSS("#confirm"))); err != nil {
		t.Fatalf("confirmation page: %v", err)
	}
	if err := chromedp.Do(s.ctx(), chromedp.Click(chromedp.CSS("#confirm"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(s.ctx(), chromedp.WaitVisible(chromedp.CSS("#shop-status .notice.bad"))); err != nil {
		t.Fatalf("refusal notice: %v", err)
	}
	if notice := browsertest.Text(t, s.ctx(), "#shop-status .notice.bad"); !strings.Contains(notice, "still unpaid") || !strings.Contains(notice, "Nothing was ordered") {
		t.Fatalf("refusal: %q", notice)
	}
	if n := s.e.countOrders(); n != 3 {
		t.Fatalf("a refused purchase left %d orders", n)
	}
	browsertest.CheckAccessibility(t, s.ctx())

	// An expired link: the host's page says what to do.
	s.b.Navigate(t, s.e.http.URL+"/m/microupsell/shop?link="+url.QueryEscape(s.e.link(s.e.seeded.UserID, s.e.seeded.ServiceID, -time.Minute)))
	if text := browsertest.Text(t, s.ctx(), "main"); !strings.Contains(text, "Open it again from your service page") {
		t.Fatalf("expired link page: %q", text)
	}
	browsertest.CheckAccessibility(t, s.ctx())
	s.b.Screenshot(t, "link-expired")
	// The console reports the 409 and 401 documents; the policy must
	// still hold.
	if v := s.b.CSPViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
}
