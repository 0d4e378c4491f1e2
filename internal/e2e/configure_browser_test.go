package e2e

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/internal/browsertest"
)

// pageFigure is the text of the page's element marked data-figure=name,
// "" while there is none.
func pageFigure(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector('[data-figure="`+name+`"]'); return e ? e.textContent : ''; })()`))
	if err != nil {
		t.Fatalf("figure %s: %v", name, err)
	}
	return s
}

// waitFigures waits until the page's figures are want (the live summary
// settles after the script's pause), failing after 10 s with what it saw.
func waitFigures(t *testing.T, ctx context.Context, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := map[string]string{}
		same := true
		for k, w := range want {
			got[k] = pageFigure(t, ctx, k)
			if !sameFigure(got[k], w) {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page shows %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sameFigure compares amounts by value ("0.0095" and "0.0095", "9.00"
// and "9").
func sameFigure(a, b string) bool {
	da, errA := decimal.NewFromString(a)
	db, errB := decimal.NewFromString(b)
	return errA == nil && errB == nil && da.Equal(db)
}

// jsonQuote is the public JSON quote of a BYO selection.
func jsonQuote(t *testing.T, e *env, typ string, quantities map[uint64]int64) (total, hourly, monthlyCap string) {
	t.Helper()
	var choices []map[string]any
	for id, n := range quantities {
		choices = append(choices, map[string]any{"option_id": id, "quantity": n})
	}
	var q struct {
		Totals     map[string]string `json:"totals"`
		HourlyRate string            `json:"hourly_rate"`
		MonthlyCap string            `json:"monthly_cap"`
	}
	e.do("POST", "/m/configoptions/quote", nil, map[string]any{"service_type": typ, "choices": choices}).decode(t, &q)
	return q.Totals["monthly"], q.HourlyRate, q.MonthlyCap
}

// seededVPS seeds the catalog and returns the VPS group.
func seededVPS(t *testing.T, e *env) groupDoc {
	t.Helper()
	var seed struct {
		Groups []seededGroup `json:"groups"`
	}
	e.do("POST", "/m/configoptions/admin/seed", e.admin(), nil).decode(t, &seed)
	var g groupDoc
	for _, sg := range seed.Groups {
		if sg.Name == "Build your own VPS" {
			e.do("GET", "/m/configoptions/admin/groups/"+strconv.FormatUint(sg.ID, 10), e.admin(), nil).decode(t, &g)
		}
	}
	if g.ID == 0 {
		t.Fatalf("no VPS group in %+v", seed)
	}
	return g
}

// TestConfigBrowserSliders moves the configurator's sliders with the
// keyboard: the live summary shows exactly the JSON quote's figures for
// the new selection. The page passes axe.
func TestConfigBrowserSliders(t *testing.T) {
	e := newEnv(t)
	g := seededVPS(t, e)
	b := browsertest.New(t)
	ctx := b.Context()
	b.Navigate(t, e.http.URL+"/m/configoptions/configure?type=vps&currency=EUR&product="+strconv.FormatUint(e.seeded.ProductID, 10)+"&plan="+strconv.FormatUint(e.seeded.PlanID, 10))
	browsertest.CheckAccessibility(t, ctx)
	b.Screenshot(t, "configurator")

	cores, ram, disk := g.option(t, "CPU cores"), g.option(t, "RAM"), g.option(t, "SSD storage")
	before := browsertest.Text(t, ctx, "#summary")
	browsertest.Focus(t, ctx, "#o"+strconv.FormatUint(cores, 10))
	browsertest.Press(t, ctx, browsertest.KeyArrowRight, browsertest.KeyArrowRight, browsertest.KeyArrowRight)
	browsertest.Focus(t, ctx, "#o"+strconv.FormatUint(disk, 10))
	browsertest.Press(t, ctx, browsertest.KeyArrowRight)
	browsertest.WaitLiveChange(t, ctx, "#summary", before)
	// 1 + 3 cores, 1 GB, 25 + 25 GB.
	total, hourly, monthlyCap := jsonQuote(t, e, "vps", map[uint64]int64{cores: 4, ram: 1, disk: 50})
	waitFigures(t, ctx, map[string]string{"total": total, "hourly_rate": hourly, "monthly_cap": monthlyCap})
	vt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('o`+strconv.FormatUint(cores, 10)+`').getAttribute('aria-valuetext')`))
	if err != nil || !strings.HasPrefix(vt, "4 cores, 8.00 EUR") {
		t.Errorf("the cores slider's aria-valuetext is %q (%v), want 4 cores and their price", vt, err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#o"+strconv.FormatUint(cores, 10)+"n"))); err != nil || n != "4" {
		t.Errorf("the number box beside the slider shows %q (%v), want 4", n, err)
	}
	if v := b.CSPViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
	if v := b.ConsoleErrors(); len(v) > 0 {
		t.Errorf("console errors: %v", v)
	}
}

// TestConfigBrowserWithoutScript: with scripts off the configurator still
// quotes, through its form's "Update total".
func TestConfigBrowserWithoutScript(t *testing.T) {
	e := newEnv(t)
	g := seededVPS(t, e)
	b := browsertest.New(t, browsertest.WithoutJavaScript())
	ctx := b.Context()
	b.Navigate(t, e.http.URL+"/m/configoptions/configure?type=vps&currency=EUR")
	cores, ram, disk := g.option(t, "CPU cores"), g.option(t, "RAM"), g.option(t, "SSD storage")
	browsertest.Focus(t, ctx, "#o"+strconv.FormatUint(ram, 10))
	browsertest.Press(t, ctx, browsertest.KeyArrowRight, browsertest.KeyArrowRight)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("button.no-js"))); err != nil {
		t.Fatal(err)
	}
	total, hourly, monthlyCap := jsonQuote(t, e, "vps", map[uint64]int64{cores: 1, ram: 3, disk: 25})
	waitFigures(t, ctx, map[string]string{"total": total, "hourly_rate": hourly, "monthly_cap": monthlyCap})
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.Contains(loc, "o"+strconv.FormatUint(ram, 10)+"=3") {
		t.Errorf("the form's GET is %q (%v), want the RAM at 3", loc, err)
	}
}

// TestCheckoutBrowserCoupon orders from the checkout page with a coupon
// typed in: the live summary shows the discount, Place order makes one
// order whose invoice is the discounted total.
func TestCheckoutBrowserCoupon(t *testing.T) {
	e := newEnv(t)
	_, q := byoGame(t, e)
	if _, err := e.db.Exec("INSERT INTO coupons (type, applies_to, recurring, code, value) VALUES ('percentage', 'all', NULL, 'TENOFF', 10.00)"); err != nil {
		t.Fatal(err)
	}
	q.Set("link", e.link(e.seeded.UserID, 0, time.Hour))
	b := browsertest.New(t)
	ctx := b.Context()
	b.Navigate(t, e.http.URL+"/m/configoptions/checkout?"+q.Encode())
	waitFigures(t, ctx, map[string]string{"due_today": "10.00"})
	browsertest.CheckAccessibility(t, ctx)
	b.Screenshot(t, "checkout")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#coupon"), "TENOFF")); err != nil {
		t.Fatal(err)
	}
	waitFigures(t, ctx, map[string]string{"discount": "1.00", "due_today": "9.00", "recurring": "10.00"})
	before := e.checkoutCounts(t)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[data-once] button:not(.no-js)`))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.checkoutCounts(t)[5] == before[5] && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	after := e.checkoutCounts(t)
	if after[5] != before[5]+1 || after[0] != before[0]+1 {
		t.Fatalf("rows %v -> %v, want one order", before, after)
	}
	var total string
	if err := e.db.Get(&total, "SELECT CAST(SUM(price * quantity) AS DECIMAL(17,2)) FROM invoice_items WHERE invoice_id = (SELECT MAX(id) FROM invoices)"); err != nil || total != "9.00" {
		t.Fatalf("invoice total %q %v, want 9.00", total, err)
	}
}

// TestOptionChangeBrowser raises a service's RAM on its change page: the
// summary shows the JSON quote's due today, and confirming makes one
// change awaiting its invoice.
func TestOptionChangeBrowser(t *testing.T) {
	f := newChangeFixture(t)
	b := browsertest.New(t)
	ctx := b.Context()
	b.Navigate(t, f.http.URL+"/m/configoptions/change?link="+url.QueryEscape(f.link(f.seeded.UserID, f.seeded.ServiceID, time.Hour)))
	browsertest.CheckAccessibility(t, ctx)
	before := browsertest.Text(t, ctx, "#summary")
	browsertest.Focus(t, ctx, "#o"+strconv.FormatUint(f.ram, 10))
	browsertest.Press(t, ctx, browsertest.KeyArrowUp, browsertest.KeyArrowUp, browsertest.KeyArrowUp, browsertest.KeyArrowUp)
	browsertest.WaitLiveChange(t, ctx, "#summary", before)
	var quote changeAnswer
	f.do("POST", "/m/configoptions/change/quote", f.client(""), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}}).decode(t, &quote)
	waitFigures(t, ctx, map[string]string{"due_today": quote.DueToday, "recurring": quote.RecurringAfter})
	b.Screenshot(t, "change-options")
	browsertest.CheckAccessibility(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#change-form button:not(.no-js)`))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.count(t, "SELECT COUNT(*) FROM ext_configoptions_changes WHERE state = 'awaiting_payment'") == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM ext_configoptions_changes WHERE state = 'awaiting_payment'"); n != 1 {
		t.Fatalf("changes awaiting payment: %d, want 1", n)
	}
}
