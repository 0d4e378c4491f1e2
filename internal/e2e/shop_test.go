package e2e

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/intake"
)

// The Micro-Upsell shop through the daemon, as a browser without script
// would use it: a signed link opens the shop, the session cookie carries
// the rest, forms post with the session's CSRF token.

// formClient is a browser: a cookie jar, and redirects reported rather
// than followed, so a test sees each 303.
type formClient struct {
	t    *testing.T
	e    *env
	http *http.Client
}

func newFormClient(t *testing.T, e *env) *formClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &formClient{t: t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *formClient) get(path string) page {
	c.t.Helper()
	return c.send("GET", path, nil)
}

func (c *formClient) post(path string, form url.Values) page {
	c.t.Helper()
	return c.send("POST", path, form)
}

func (c *formClient) send(method, path string, form url.Values) page {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.http.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{code: resp.StatusCode, header: resp.Header, body: string(b), location: resp.Header.Get("Location")}
}

// open exchanges a link for the service's session and returns the shop's
// address with the service named.
func (c *formClient) open(userID, serviceID uint64) string {
	c.t.Helper()
	p := c.get("/m/microupsell/shop?link=" + url.QueryEscape(c.e.link(userID, serviceID, time.Hour)))
	if p.code != http.StatusSeeOther {
		c.t.Fatalf("link exchange: %d %s", p.code, p.body)
	}
	return "/m/microupsell/shop?service=" + strconv.FormatUint(serviceID, 10)
}

// hidden is the value of the first hidden field named name on the page.
func (p page) hidden(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no field %s on the page: %s", name, p.body)
	}
	return html.UnescapeString(m[1])
}

// text is the page's text with tags removed and spaces collapsed.
func (p page) text() string {
	s := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(p.body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

func (e *env) countOrders() int {
	e.t.Helper()
	var n int
	if err := e.db.Get(&n, "SELECT COUNT(*) FROM ext_micro_upsell_order_addons"); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestShopLinkExchange(t *testing.T) {
	e := newEnv(t)
	c := newFormClient(t, e)
	p := c.get("/m/microupsell/shop?link=" + url.QueryEscape(e.link(e.seeded.UserID, e.seeded.ServiceID, time.Hour)))
	if p.code != http.StatusSeeOther {
		t.Fatalf("link: %d %s", p.code, p.body)
	}
	id := strconv.FormatUint(e.seeded.ServiceID, 10)
	if loc := p.header.Get("Location"); loc != "shop?service="+id {
		t.Fatalf("Location %q: the link must be gone and the service named", loc)
	}
	cookie := p.header.Get("Set-Cookie")
	for _, want := range []string{"upsell_s" + id + "=", "HttpOnly", "SameSite=Lax", "Path=/m/"} {
		if !strings.Contains(cookie, want) {
			t.Fatalf("Set-Cookie %q lacks %q", cookie, want)
		}
	}
	if shop := c.get("/m/microupsell/shop?service=" + id); shop.code != http.StatusOK || !strings.Contains(shop.body, "Add-ons for") {
		t.Fatalf("shop with the cookie: %d %s", shop.code, shop.body)
	}
	// Without the cookie the address alone opens nothing.
	if p := newFormClient(t, e).get("/m/microupsell/shop?service=" + id); p.code != http.StatusUnauthorized || !strings.Contains(p.body, "Open it again from your service page") {
		t.Fatalf("no cookie: %d %s", p.code, p.body)
	}
}

func TestShopExpiredLinkPage(t *testing.T) {
	e := newEnv(t)
	p := newFormClient(t, e).get("/m/microupsell/shop?link=" + url.QueryEscape(e.link(e.seeded.UserID, e.seeded.ServiceID, -time.Minute)))
	if p.code != http.StatusUnauthorized || !strings.Contains(p.body, "This link has expired") || !strings.Contains(p.body, "Open it again from your service page") {
		t.Fatalf("expired link: %d %s", p.code, p.body)
	}
	if p.header.Get("Set-Cookie") != "" {
		t.Fatal("an expired link made a session")
	}
}

func TestShopBuyTwoSubmitsOneOrder(t *testing.T) {
	e := newEnv(t)
	pkg := e.ramPackage()
	c := newFormClient(t, e)
	shop := c.open(e.seeded.UserID, e.seeded.ServiceID)

	// The page shows the JSON list's quote, figure for figure.
	var list struct {
		Packages []struct {
			DueToday          string `json:"due_today"`
			NewRecurringPrice string `json:"new_recurring_price"`
			DaysLeft          int    `json:"days_left"`
			DaysInCycle       int    `json:"days_in_cycle"`
		}
	}
	e.do("GET", "/m/microupsell/packages", e.client(""), nil).decode(t, &list)
	q := list.Packages[0]
	p := c.get(shop)
	renewal := fifteenDaysLeft(e.now).Format("2 Jan 2006")
	text := p.text()
	for _, want := range []string{
		"Add-ons for", "monthly", "Next renewal " + renewal, "Recurring price 10.00 EUR / month",
		"Memory 4 GB RAM", "Disk 10 GB disk", "CPU 200 % CPU", "Ports 1 port", "Databases 1 database", "Backups 2 backups",
		"+1 GB RAM", "Due today " + q.DueToday + " EUR " + strconv.Itoa(q.DaysLeft) + " of " + strconv.Itoa(q.DaysInCycle) + " days left",
		"From the next renewal " + q.NewRecurringPrice + " EUR / month from " + renewal,
		"Restart your server", "No add-ons bought for this service yet",
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("shop lacks %q:\n%s", want, text)
		}
	}
	csrf := p.hidden(t, "csrf")

	conf := c.post("/m/microupsell/shop/confirm?service="+strconv.FormatUint(e.seeded.ServiceID, 10), url.Values{"csrf": {csrf}, "package_id": {strconv.FormatUint(pkg, 10)}})
	if conf.code != http.StatusOK || !strings.Contains(conf.text(), "Due today "+q.DueToday+" EUR") || !strings.Contains(conf.text(), "New recurring price "+q.NewRecurringPrice+" EUR") {
		t.Fatalf("confirm: %d %s", conf.code, conf.text())
	}
	if !strings.Contains(conf.body, "data-once") || !strings.Contains(conf.body, "Confirm and go to payment") || !strings.Contains(conf.body, "Back to the shop") {
		t.Fatalf("confirm form: %s", conf.body)
	}
	if e.countOrders() != 0 {
		t.Fatal("the confirmation page ordered")
	}
	buy := url.Values{"csrf": {csrf}, "package_id": {conf.hidden(t, "package_id")}, "idempotency_key": {conf.hidden(t, "idempotency_key")}}
	buyPath := "/m/microupsell/shop/buy?service=" + strconv.FormatUint(e.seeded.ServiceID, 10)
	first, second := c.post(buyPath, buy), c.post(buyPath, buy)
	var invoiceID uint64
	if err := e.db.Get(&invoiceID, "SELECT invoice_id FROM ext_micro_upsell_order_addons"); err != nil {
		t.Fatalf("one order expected: %v", err)
	}
	payURL := e.cfg.Panel.BaseURL + "/invoices/" + strconv.FormatUint(invoiceID, 10)
	for i, r := range []page{first, second} {
		if r.code != http.StatusSeeOther || r.header.Get("Location") != payURL {
			t.Fatalf("submit %d: %d to %q, want 303 to %s", i+1, r.code, r.header.Get("Location"), payURL)
		}
	}
	if n := e.countOrders(); n != 1 {
		t.Fatalf("two submits of one form made %d orders", n)
	}
	var due string
	if err := e.db.Get(&due, "SELECT CAST(due_today AS CHAR) FROM ext_micro_upsell_order_addons"); err != nil || due != q.DueToday {
		t.Fatalf("order due today %s (%v), quoted %s", due, err, q.DueToday)
	}

	// Unpaid: the history says so, with the way to pay.
	p = c.get(shop)
	if !strings.Contains(p.text(), "Awaiting payment") || !strings.Contains(p.body, `href="`+payURL+`"`) || !strings.Contains(p.body, `role="status"`) {
		t.Fatalf("pending purchase: %s", p.text())
	}
	e.pay(invoiceID)
	if _, err := e.inbox.RecordPaid(t.Context(), invoiceID, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	e.drain()
	p = c.get(shop)
	if text := p.text(); !strings.Contains(text, "Applied") || !strings.Contains(text, "Memory 5 GB RAM (incl. 1 GB RAM from add-ons)") || strings.Contains(text, "Awaiting payment") {
		t.Fatalf("after payment: %s", text)
	}
}

func TestShopForgedCSRFRefused(t *testing.T) {
	e := newEnv(t)
	pkg := e.ramPackage()
	c := newFormClient(t, e)
	shop := c.open(e.seeded.UserID, e.seeded.ServiceID)
	csrf := c.get(shop).hidden(t, "csrf")
	before := e.snapshot()
	id := strconv.FormatUint(e.seeded.ServiceID, 10)
	for name, token := range map[string][]string{"forged": {csrf[:len(csrf)-2] + "xx"}, "missing": nil, "another service's session's": {newFormClientToken(t, e, e.addService())}} {
		form := url.Values{"package_id": {strconv.FormatUint(pkg, 10)}, "idempotency_key": {"k-" + name}}
		if token != nil {
			form["csrf"] = token
		}
		p := c.post("/m/microupsell/shop/buy?service="+id, form)
		if p.code != http.StatusForbidden || !strings.Contains(p.body, "This form has expired") {
			t.Fatalf("%s token: %d %s", name, p.code, p.body)
		}
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("a form without its token changed state: %+v -> %+v", before, after)
	}
}

// newFormClientToken is the CSRF token of a session of serviceID.
func newFormClientToken(t *testing.T, e *env, serviceID uint64) string {
	c := newFormClient(t, e)
	return c.get(c.open(e.seeded.UserID, serviceID)).hidden(t, "csrf")
}

func TestShopRefusedPurchasesChangeNothing(t *testing.T) {
	e := newEnvWith(t, map[string]string{"max_apply_attempts": "3", "max_open_orders": "1"})
	pkg := e.ramPackage()
	otherProduct := e.createPackage(map[string]any{"name": "+50% CPU", "resource": "cpu_percent", "amount": 50, "product_id": 999, "monthly_prices": map[string]string{"EUR": "3.00"}})
	c := newFormClient(t, e)
	shop := c.open(e.seeded.UserID, e.seeded.ServiceID)
	csrf := c.get(shop).hidden(t, "csrf")
	id := strconv.FormatUint(e.seeded.ServiceID, 10)
	form := func(pkg uint64, extra ...string) url.Values {
		v := url.Values{"csrf": {csrf}, "package_id": {strconv.FormatUint(pkg, 10)}, "idempotency_key": {"key-" + strconv.Itoa(len(extra)) + strconv.FormatUint(pkg, 10)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	tests := []struct {
		name, path string
		form       url.Values
		code       int
		want       string
	}{
		{"unknown package", "buy", form(987654), 422, "That add-on is not offered for this service"},
		{"package of another product", "buy", form(otherProduct), 422, "That add-on is not offered for this service"},
		{"package of another product, confirm", "confirm", url.Values{"csrf": {csrf}, "package_id": {strconv.FormatUint(otherProduct, 10)}}, 422, "That add-on is not offered for this service"},
		{"a price in the form", "buy", form(pkg, "due_today", "0.01"), 422, "This form was changed"},
		{"a second package id", "buy", url.Values{"csrf": {csrf}, "package_id": {strconv.FormatUint(pkg, 10), "1"}, "idempotency_key": {"k2"}}, 422, "This form was changed"},
		{"no idempotency key", "buy", url.Values{"csrf": {csrf}, "package_id": {strconv.FormatUint(pkg, 10)}}, 422, "This form was changed"},
		{"not a package id", "confirm", url.Values{"csrf": {csrf}, "package_id": {"ram"}}, 422, "This form was changed"},
	}
	check := func(t *testing.T, path string, f url.Values, code int, want string) {
		t.Helper()
		before := e.snapshot()
		p := c.post("/m/microupsell/shop/"+path+"?service="+id, f)
		text := p.text()
		if p.code != code || !strings.Contains(text, want) || !strings.Contains(text, "Add-ons for") || !strings.Contains(p.body, `role="status"`) {
			t.Fatalf("%d %s, want %d with %q on the shop", p.code, text, code, want)
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("refused purchase changed state: %+v -> %+v", before, after)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.path, tc.form, tc.code, tc.want) })
	}
	t.Run("open-order limit", func(t *testing.T) {
		e.buy(pkg, "first")
		check(t, "buy", form(pkg), 409, "still unpaid for this service: pay or cancel them first. Nothing was ordered.")
	})
	t.Run("another user's service", func(t *testing.T) {
		other := newFormClient(t, e)
		before := e.snapshot()
		// The link verifies (the host signed it) but names a service its
		// user does not hold: the page says so in words.
		p := other.get(other.open(e.seeded.UserID+1, e.seeded.ServiceID))
		if p.code != http.StatusNotFound || !strings.Contains(p.header.Get("Content-Type"), "text/html") || !strings.Contains(p.text(), "Not found") {
			t.Fatalf("another user's service: %d %s", p.code, p.body)
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("state changed: %+v -> %+v", before, after)
		}
	})
}

func TestShopSuspendedServiceSaysWhy(t *testing.T) {
	e := newEnv(t)
	e.ramPackage()
	if _, err := e.db.Exec("UPDATE services SET status = 'suspended' WHERE id = ?", e.seeded.ServiceID); err != nil {
		t.Fatal(err)
	}
	c := newFormClient(t, e)
	p := c.get(c.open(e.seeded.UserID, e.seeded.ServiceID))
	if p.code != http.StatusOK || !strings.Contains(p.text(), "This service is suspended") || strings.Contains(p.body, "shop/confirm") {
		t.Fatalf("suspended: %d %s", p.code, p.text())
	}
	if !strings.Contains(p.text(), "Memory 4 GB RAM") {
		t.Fatalf("the service's limits are still shown: %s", p.text())
	}
}
