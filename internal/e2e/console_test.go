package e2e

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/intake"
)

// adminBrowser is a cookie-keeping client that does not follow redirects.
func (e *env) adminBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// adminLink is an admin link for panel admin id, as the bridge signs it.
func (e *env) adminLink(id uint64, ttl time.Duration) string {
	key := auth.AdminLinkKey([]byte(e.cfg.Security.LinkSecret.Reveal()))
	return auth.SignAdminLink(key, auth.NewAdminLink(id, time.Now(), ttl))
}

// signIn opens the console from an admin link and returns the browser
// holding the session.
func (e *env) signIn(t *testing.T, adminID uint64) *browser {
	t.Helper()
	b := e.adminBrowser(t)
	p := b.get("/console/?link="+url.QueryEscape(e.adminLink(adminID, 2*time.Minute)), nil)
	if p.code != http.StatusSeeOther || p.location != "/console/" || !strings.Contains(p.header.Get("Set-Cookie"), "upsell_a=") {
		t.Fatalf("admin link: %d %q %q", p.code, p.location, p.header.Get("Set-Cookie"))
	}
	cookie := p.header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("admin cookie %q lacks %s", cookie, want)
		}
	}
	return b
}

var csrfField = `name="csrf" value="`

// csrfOf is the first CSRF token in a page.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, csrfField)
	if i < 0 {
		t.Fatalf("no CSRF field in the page:\n%s", body)
	}
	rest := body[i+len(csrfField):]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestConsoleSignInFromThePanel(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, 7)
	p := b.get("/console/", nil)
	for _, want := range []string{"Overview", "Signed in as panel admin 7", "microupsell", "configoptions", "pterodactyl", `aria-current="page"`, "Sign out"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if p.code != http.StatusOK {
		t.Fatalf("overview: %d", p.code)
	}
	var actor string
	if err := e.db.QueryRow("SELECT actor FROM upsell_audit WHERE action = 'console.sign_in'").Scan(&actor); err != nil || actor != "admin:7" {
		t.Errorf("sign-in audit actor = %q, %v", actor, err)
	}

	// A forged CSRF token signs nobody out.
	token := csrfOf(t, p.body)
	if p := b.post("/console/sign-out", url.Values{"csrf": {token + "x"}}, nil); p.code != http.StatusForbidden || !strings.Contains(p.body, "This form has expired") {
		t.Fatalf("forged sign-out: %d", p.code)
	}
	if p := b.get("/console/jobs", nil); p.code != http.StatusOK {
		t.Fatalf("still signed in after a forged sign-out: %d", p.code)
	}
	// Signing out ends the session on the server too: the old cookie,
	// replayed, is refused.
	old := b.http.Jar.Cookies(mustURL(t, e.http.URL+"/console/"))
	if p := b.post("/console/sign-out", url.Values{"csrf": {token}}, nil); p.code != http.StatusSeeOther || p.location != "/console/sign-in" {
		t.Fatalf("sign-out: %d %q", p.code, p.location)
	}
	replay := e.adminBrowser(t)
	replay.http.Jar.SetCookies(mustURL(t, e.http.URL+"/console/"), old)
	if p := replay.get("/console/", nil); p.code != http.StatusSeeOther || p.location != "/console/sign-in" {
		t.Errorf("a signed-out session replayed: %d %q", p.code, p.location)
	}
}

func TestConsoleRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, link string
	}{
		{"expired admin link", e.adminLink(7, -time.Minute)},
		{"a client's link", e.link(e.seeded.UserID, e.seeded.ServiceID, time.Hour)},
		{"tampered", strings.Replace(e.adminLink(7, time.Minute), "al1.7.", "al1.8.", 1)},
	} {
		b := e.adminBrowser(t)
		if p := b.get("/console/?link="+url.QueryEscape(tc.link), nil); p.code != http.StatusUnauthorized || strings.Contains(p.header.Get("Set-Cookie"), "upsell_a") {
			t.Errorf("%s: %d, cookie %q", tc.name, p.code, p.header.Get("Set-Cookie"))
		}
	}
	// An expired session, signed with the right key: refused as none.
	expired := e.adminBrowser(t)
	key := auth.SessionKey([]byte(e.cfg.Security.LinkSecret.Reveal()))
	old := auth.NewAdminLink(7, time.Now().Add(-2*time.Hour), time.Hour)
	expired.http.Jar.SetCookies(mustURL(t, e.http.URL+"/console/"), []*http.Cookie{{Name: "upsell_a", Value: auth.SignAdminSession(key, old), Path: "/"}})
	if p := expired.get("/console/jobs", nil); p.code != http.StatusSeeOther || p.location != "/console/sign-in" {
		t.Errorf("expired session: %d %q", p.code, p.location)
	}
	if p := expired.get("/m/microupsell/console/packages", nil); p.code != http.StatusSeeOther || p.location != "/console/sign-in" {
		t.Errorf("expired session on a module's console page: %d %q", p.code, p.location)
	}

	// No session: a page sends the browser to the sign-in form; a write is
	// refused.
	b := e.adminBrowser(t)
	if p := b.get("/console/jobs", nil); p.code != http.StatusSeeOther || p.location != "/console/sign-in" {
		t.Errorf("jobs without a session: %d %q", p.code, p.location)
	}
	if p := b.post("/console/jobs/1/retry", url.Values{}, nil); p.code != http.StatusUnauthorized {
		t.Errorf("retry without a session: %d", p.code)
	}
	// A client's session opens no admin page.
	c := e.browser(t)
	if p := c.get("/m/microupsell/shop?link="+e.link(e.seeded.UserID, e.seeded.ServiceID, time.Hour), nil); p.code != http.StatusSeeOther {
		t.Fatalf("client link: %d", p.code)
	}
	if p := c.get("/console/", nil); p.code != http.StatusSeeOther || p.location != "/console/sign-in" {
		t.Errorf("client session on the console: %d %q", p.code, p.location)
	}
	// The token form: a wrong token is refused with the reason, the right
	// one signs in.
	if p := b.post("/console/sign-in", url.Values{"token": {"not-the-token"}}, nil); p.code != http.StatusUnauthorized || !strings.Contains(p.body, "That is not the admin token.") {
		t.Errorf("wrong token: %d", p.code)
	}
	if p := b.post("/console/sign-in", url.Values{"token": {e.cfg.Security.AdminToken.Reveal()}}, nil); p.code != http.StatusSeeOther {
		t.Errorf("admin token: %d", p.code)
	}
	if p := b.get("/console/", nil); p.code != http.StatusOK || !strings.Contains(p.body, "Signed in with the admin token") {
		t.Errorf("overview after token sign-in: %d", p.code)
	}
}

// The overview's figures, from invoices bought and paid through the shop:
// three orders today; two paid this month (one applied, one waiting for
// its job); the third paid, by the panel's clock, on the 15th of last
// month, so it counts in last month's revenue and in today's orders.
func TestConsoleOverviewFigures(t *testing.T) {
	e := newEnv(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	pkg := e.ramPackage()
	total := func(invoiceID uint64) decimal.Decimal {
		t.Helper()
		var s string
		if err := e.db.Get(&s, "SELECT CAST(SUM(price * quantity) AS CHAR) FROM invoice_items WHERE invoice_id = ?", invoiceID); err != nil {
			t.Fatal(err)
		}
		return decimal.RequireFromString(s)
	}

	applied := e.buy(pkg, "o1")
	e.pay(applied.InvoiceID)
	if _, err := e.inbox.RecordPaid(context.Background(), applied.InvoiceID, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if o := e.order(applied.ID); o.State != "applied" {
		t.Fatalf("first order %s, want applied", o.State)
	}
	waiting := e.buy(pkg, "o2")
	e.pay(waiting.InvoiceID)
	if _, err := e.inbox.RecordPaid(context.Background(), waiting.InvoiceID, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	lastMonth := e.buy(pkg, "o3")
	e.pay(lastMonth.InvoiceID)
	now := time.Now().In(berlin)
	y, m, _ := now.Date()
	paidThen := time.Date(y, m-1, 15, 12, 0, 0, 0, berlin)
	if _, err := e.db.Exec("UPDATE invoice_transactions SET created_at = ? WHERE invoice_id = ?", paidThen.Format(time.DateTime), lastMonth.InvoiceID); err != nil {
		t.Fatal(err)
	}

	thisMonth := total(applied.InvoiceID).Add(total(waiting.InvoiceID))
	if want := decimal.RequireFromString(applied.DueToday).Add(decimal.RequireFromString(waiting.DueToday)); !thisMonth.Equal(want) || !thisMonth.IsPositive() {
		t.Fatalf("invoices total %s, the orders said %s", thisMonth, want)
	}
	b := e.signIn(t, 7)
	p := b.get("/console/", nil)
	if p.code != http.StatusOK {
		t.Fatalf("overview: %d", p.code)
	}
	card := func(label, value string) string {
		return `<p class="muted">` + label + `</p><p class="big">` + value + `</p>`
	}
	for _, want := range []string{
		card("Orders today", "3"), "microupsell 3",
		card("Add-on revenue in "+now.Format("January"), thisMonth.StringFixed(2)+" EUR"),
		card("Applies pending", "1"), "0 running now",
		card("Dead jobs", "0"),
		// The revenue chart and its table: this month's two, last month's one.
		`<svg class="chart" role="img" aria-labelledby="revenue-EUR-title" aria-describedby="revenue-EUR-desc"`,
		`<th scope="row">` + now.Format("January 2006") + `</th><td class="num">` + thisMonth.StringFixed(2) + " EUR</td>",
		`<th scope="row">` + paidThen.Format("January 2006") + `</th><td class="num">` + total(lastMonth.InvoiceID).StringFixed(2) + " EUR</td>",
		// The orders chart: today's three.
		`<svg class="chart" role="img" aria-labelledby="orders-title" aria-describedby="orders-desc"`,
		`<th scope="row">` + now.Format("Mon 2 January 2006") + `</th><td class="num">3 orders</td>`,
		"(Europe/Berlin)",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(p.body)
	}
	// Twelve months of revenue, thirty days of orders.
	if n := strings.Count(p.body, `<rect class="bar"`); n != 12+30 {
		t.Errorf("%d bars, want 42", n)
	}
	if strings.Contains(p.body, "style=") {
		t.Error("the overview carries a style attribute the CSP refuses")
	}
}
