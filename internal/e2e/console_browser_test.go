package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/upsell-io/upsell/internal/browsertest"
)

// TestConsoleBrowser drives the host's console frame in a real Chromium:
// the sign-in form, the overview with its figures and charts, the jobs,
// signing out, and the refusal after: every page checked by axe, without
// a CSP violation, and photographed.
func TestConsoleBrowser(t *testing.T) {
	b := browsertest.New(t)
	e := newEnv(t)
	ctx := b.Context()

	// Without the panel: the token form.
	b.Navigate(t, e.http.URL+"/console/")
	if h := browsertest.Text(t, ctx, "h1"); h != "Sign in to the upsell console" {
		t.Fatalf("no session: heading %q, want the sign-in form", h)
	}
	browsertest.CheckAccessibility(t, ctx)
	b.Screenshot(t, "console-sign-in")

	// From the panel: the bridge's admin link; an order so the overview
	// has figures.
	pkg := e.ramPackage()
	o := e.buy(pkg, "console-browser")
	e.pay(o.InvoiceID)
	e.drain()
	b.Navigate(t, e.http.URL+"/console/?link="+url.QueryEscape(e.adminLink(7, 2*time.Minute)))
	if h := browsertest.Text(t, ctx, "h1"); h != "Overview" {
		t.Fatalf("admin link: heading %q", h)
	}
	main := browsertest.Text(t, ctx, "main")
	for _, want := range []string{"Orders today", "Add-on revenue", "microupsell", "pterodactyl", "running"} {
		if !strings.Contains(main, want) {
			t.Errorf("overview lacks %q:\n%s", want, main)
		}
	}
	if who := browsertest.Text(t, ctx, ".who"); !strings.Contains(who, "panel admin 7") {
		t.Errorf("header says %q", who)
	}
	browsertest.CheckAccessibility(t, ctx)
	b.Screenshot(t, "console-overview")

	b.Navigate(t, e.http.URL+"/console/jobs?state=done")
	if h := browsertest.Text(t, ctx, "h1"); h != "Jobs" {
		t.Fatalf("jobs: heading %q", h)
	}
	browsertest.CheckAccessibility(t, ctx)
	b.Screenshot(t, "console-jobs")

	// Sign out with the keyboard: focus the button, Enter.
	browsertest.Focus(t, ctx, ".who button")
	browsertest.Press(t, ctx, browsertest.KeyEnter)
	// The sign-in form's token field appears once the browser followed
	// the sign-out's redirect.
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible("#token")); err != nil {
		t.Fatalf("signing out did not lead to the sign-in form: %v", err)
	}
	b.Navigate(t, e.http.URL+"/console/jobs")
	if h := browsertest.Text(t, ctx, "h1"); h != "Sign in to the upsell console" {
		t.Errorf("after signing out the console shows %q", h)
	}
	if v := b.CSPViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
}
