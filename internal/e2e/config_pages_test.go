package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// browser is a client of the module's pages: it keeps the session cookie
// the host sets and does not follow redirects, so a test sees each 303.
type browser struct {
	t    *testing.T
	e    *env
	http *http.Client
}

func (e *env) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, e: e, http: c}
}

// page is a reply as a test's browser-like client sees it (redirects not
// followed).
type page struct {
	code     int
	body     string
	location string
	header   http.Header
}

func (b *browser) send(req *http.Request) page {
	b.t.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{code: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
}

func (b *browser) get(path string, header map[string]string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.http.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.send(req)
}

func (b *browser) post(path string, form url.Values, header map[string]string) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.send(req)
}

// open follows a page link: the host answers the link with a session
// cookie and a 303 to the page without it, which is then fetched.
func (b *browser) open(path string) page {
	b.t.Helper()
	p := b.get(path, nil)
	if p.code != http.StatusSeeOther || strings.Contains(p.location, "link=") {
		b.t.Fatalf("open %s: %d %q; want a 303 without the link", path, p.code, p.location)
	}
	next, _ := url.Parse(b.e.http.URL + path)
	return b.get(next.ResolveReference(mustURL(b.t, p.location)).RequestURI(), nil)
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var (
	figureRE = regexp.MustCompile(`data-figure="([a-z_]+)">([^<]*)<`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)
)

// figures are the amounts a page marks with data-figure.
func figures(body string) map[string]string {
	out := map[string]string{}
	for _, m := range figureRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// hidden is a form's hidden fields (csrf, key, ...).
func hidden(body string) url.Values {
	out := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		out.Set(m[1], m[2])
	}
	return out
}

// sameAmount fails unless a page's figure is the JSON's amount.
func sameAmount(t *testing.T, what, page, json string) {
	t.Helper()
	p, err1 := decimal.NewFromString(page)
	j, err2 := decimal.NewFromString(json)
	if err1 != nil || err2 != nil || !p.Equal(j) {
		t.Errorf("%s: the page shows %q, the JSON quote %q", what, page, json)
	}
}

type seededGroup struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Created bool   `json:"created"`
}

// TestConfigPagesConfigurator opens the Build-Your-Own configurator of
// each seeded service type: its figures are the JSON quote's for the same
// selection, the live request gets the summary alone, and the form works
// as a plain GET (no script).
func TestConfigPagesConfigurator(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/m/configoptions/admin/seed", e.admin(), nil)
	var seed struct {
		Groups []seededGroup `json:"groups"`
	}
	r.decode(t, &seed)
	if len(seed.Groups) != 3 {
		t.Fatalf("seed: %s", r.body)
	}
	b := e.browser(t)
	for _, tc := range []struct {
		typ, group string
		pick       map[string]int64 // option -> quantity; others at their minimum
	}{
		{"vps", "Build your own VPS", map[string]int64{"CPU cores": 4, "RAM": 8, "SSD storage": 100}},
		{"mysql", "Build your own MySQL", map[string]int64{"Storage": 50}},
		{"game", "Build your own game server", map[string]int64{"RAM": 6, "Player slots": 40}},
	} {
		var g groupDoc
		for _, sg := range seed.Groups {
			if sg.Name == tc.group {
				e.do("GET", "/m/configoptions/admin/groups/"+strconv.FormatUint(sg.ID, 10), e.admin(), nil).decode(t, &g)
			}
		}
		// The page at the sliders' minimums, then with the picks.
		for _, picked := range []bool{false, true} {
			q := url.Values{"type": {tc.typ}, "currency": {"EUR"}, "cycle": {"quarterly"}}
			var choices []map[string]any
			if picked {
				for name, n := range tc.pick {
					id := g.option(t, name)
					q.Set("o"+strconv.FormatUint(id, 10), strconv.FormatInt(n, 10))
				}
			}
			p := b.get("/m/configoptions/configure?"+q.Encode(), nil)
			if p.code != http.StatusOK || !strings.Contains(p.body, "<html") {
				t.Fatalf("%s: %d %s", tc.typ, p.code, p.body)
			}
			if !strings.Contains(p.body, `href="configure?type=`+tc.typ+`" aria-current="page"`) {
				t.Errorf("%s: the tab is not marked current", tc.typ)
			}
			if !strings.Contains(p.header.Get("Content-Security-Policy"), "script-src 'self'") || strings.Contains(p.body, "style=") || strings.Contains(p.body, "<script>") {
				t.Errorf("%s: inline script or style, or no strict CSP: %q", tc.typ, p.header.Get("Content-Security-Policy"))
			}
			// The JSON quote of what the page shows: every slider at the
			// value its form holds.
			for _, o := range g.Options {
				n := int64(-1)
				if v := q.Get("o" + strconv.FormatUint(o.ID, 10)); v != "" {
					n, _ = strconv.ParseInt(v, 10, 64)
				} else if m := regexp.MustCompile(`type="range" id="o` + strconv.FormatUint(o.ID, 10) + `" name="o\d+" value="(\d+)"`).FindStringSubmatch(p.body); m != nil {
					n, _ = strconv.ParseInt(m[1], 10, 64)
				}
				if n >= 0 {
					choices = append(choices, map[string]any{"option_id": o.ID, "quantity": n})
				}
			}
			jr := e.do("POST", "/m/configoptions/quote", nil, map[string]any{"service_type": tc.typ, "choices": choices})
			var quote struct {
				Totals     map[string]string `json:"totals"`
				HourlyRate string            `json:"hourly_rate"`
				MonthlyCap string            `json:"monthly_cap"`
			}
			jr.decode(t, &quote)
			f := figures(p.body)
			sameAmount(t, tc.typ+" hourly rate", f["hourly_rate"], quote.HourlyRate)
			sameAmount(t, tc.typ+" monthly cap", f["monthly_cap"], quote.MonthlyCap)
			sameAmount(t, tc.typ+" quarterly total", f["total"], quote.Totals["quarterly"])

			// The page's script asks for the summary alone.
			live := b.get("/m/configoptions/configure?"+q.Encode(), map[string]string{"Upsell-Live": "summary"})
			if live.code != http.StatusOK || strings.Contains(live.body, "<html") || strings.Contains(live.body, "<form") || !strings.Contains(live.body, `data-figure="total"`) {
				t.Fatalf("%s live: %d %s", tc.typ, live.code, live.body)
			}
			if lf := figures(live.body); lf["total"] != f["total"] || lf["hourly_rate"] != f["hourly_rate"] {
				t.Errorf("%s live figures %v, page %v", tc.typ, lf, f)
			}
		}
	}
	// A value out of range is marked on its field, 422, with no total.
	var vps groupDoc
	e.do("GET", "/m/configoptions/admin/groups/"+strconv.FormatUint(seed.Groups[0].ID, 10), e.admin(), nil).decode(t, &vps)
	cores := "o" + strconv.FormatUint(vps.option(t, "CPU cores"), 10)
	p := b.get("/m/configoptions/configure?type=vps&"+cores+"=99", nil)
	if p.code != http.StatusUnprocessableEntity || !strings.Contains(p.body, `aria-describedby="`+cores+`-error"`) || strings.Contains(p.body, `data-figure="total"`) {
		t.Fatalf("out of range: %d %s", p.code, p.body)
	}
}

// byoGame is the Build-Your-Own game group of the checkout tests, linked
// to the seeded product: 4 GB x 1.50 + 50 GB x 0.08 = 10.00 a month.
func byoGame(t *testing.T, e *env) (groupDoc, url.Values) {
	g := e.createGroup(t, map[string]any{
		"name": "Game server", "mode": "build_your_own", "service_type": "game", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "RAM", "type": "slider", "provisioning_key": "ram_gb", "required": true, "min": 1, "max": 16, "step": 1, "unit": "GB",
				"unit_prices": map[string]string{"monthly": "1.50", "hourly": "0.0020"}},
			{"name": "Storage", "type": "slider", "provisioning_key": "disk_gb", "required": true, "min": 10, "max": 200, "step": 10, "unit": "GB", "sort": 1,
				"unit_prices": map[string]string{"monthly": "0.08", "hourly": "0.0001"}},
		},
	})
	q := url.Values{"type": {"game"}, "product": {strconv.FormatUint(e.seeded.ProductID, 10)}, "plan": {strconv.FormatUint(e.seeded.PlanID, 10)}, "currency": {"EUR"}}
	q.Set("o"+strconv.FormatUint(g.option(t, "RAM"), 10), "4")
	q.Set("o"+strconv.FormatUint(g.option(t, "Storage"), 10), "50")
	return g, q
}

// TestCheckoutPageCoupon orders from the checkout page with a coupon: the
// summary shows the discount, placing the order sends the client to the
// panel's invoice, and the same form posted again is the same order.
func TestCheckoutPageCoupon(t *testing.T) {
	e := newEnv(t)
	_, q := byoGame(t, e)
	if _, err := e.db.Exec("INSERT INTO coupons (type, applies_to, recurring, code, value) VALUES ('percentage', 'all', NULL, 'TENOFF', 10.00)"); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	// Without a session the checkout sends the visitor through the
	// panel's login, the selection kept.
	if p := b.get("/m/configoptions/checkout?"+q.Encode(), nil); p.code != http.StatusSeeOther || !strings.HasPrefix(p.location, "https://panel.example/upsell/checkout?next=") {
		t.Fatalf("no session: %d %q", p.code, p.location)
	}
	// The configurator's Deploy Now is a GET of the checkout with the
	// selection; the user's link opens it.
	ql := url.Values{}
	for k, v := range q {
		ql[k] = v
	}
	ql.Set("link", e.link(e.seeded.UserID, 0, time.Hour))
	p := b.open("/m/configoptions/checkout?" + ql.Encode())
	if p.code != http.StatusOK {
		t.Fatalf("checkout page: %d %s", p.code, p.body)
	}
	if f := figures(p.body); f["due_today"] != "10.00" || f["recurring"] != "10.00" {
		t.Fatalf("checkout figures %v, want 10.00 due and recurring", f)
	}
	form := hidden(p.body)
	for k, v := range q {
		form[k] = v
	}
	form.Set("coupon", "TENOFF")
	live := b.post("/m/configoptions/checkout/summary", form, map[string]string{"Upsell-Live": "summary"})
	if f := figures(live.body); live.code != http.StatusOK || f["discount"] != "1.00" || f["due_today"] != "9.00" || f["recurring"] != "10.00" || strings.Contains(live.body, "<form") {
		t.Fatalf("summary with the coupon: %d %v %s", live.code, f, live.body)
	}
	before := e.checkoutCounts(t)
	placed := b.post("/m/configoptions/checkout/place", form, nil)
	var invoice uint64
	if err := e.db.Get(&invoice, "SELECT MAX(id) FROM invoices"); err != nil {
		t.Fatal(err)
	}
	if placed.code != http.StatusSeeOther || !strings.Contains(placed.location, strconv.FormatUint(invoice, 10)) {
		t.Fatalf("place: %d %q, want a 303 to invoice %d", placed.code, placed.location, invoice)
	}
	var total string
	if err := e.db.Get(&total, "SELECT CAST(SUM(price * quantity) AS DECIMAL(17,2)) FROM invoice_items WHERE invoice_id = ?", invoice); err != nil || total != "9.00" {
		t.Fatalf("invoice total %q %v, want 9.00", total, err)
	}
	again := b.post("/m/configoptions/checkout/place", form, nil)
	if again.code != http.StatusSeeOther || again.location != placed.location {
		t.Fatalf("replayed form: %d %q, want %q", again.code, again.location, placed.location)
	}
	after := e.checkoutCounts(t)
	if after[0] != before[0]+1 || after[5] != before[5]+1 {
		t.Fatalf("rows %v -> %v, want one order", before, after)
	}

	// A forged CSRF token: 403 and nothing created.
	forged := url.Values{}
	for k, v := range form {
		forged[k] = v
	}
	forged.Set("csrf", "forged")
	forged.Set("key", "another-order")
	if p := b.post("/m/configoptions/checkout/place", forged, nil); p.code != http.StatusForbidden {
		t.Fatalf("forged csrf: %d %s", p.code, p.body)
	}
	if now := e.checkoutCounts(t); now != after {
		t.Fatalf("a forged form wrote rows: %v -> %v", after, now)
	}
}

// TestCheckoutPageRequiredOptions: a checkout missing several required
// options is refused with 422, each failing option named next to its
// field, and no order.
func TestCheckoutPageRequiredOptions(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup(t, map[string]any{
		"name": "Extras", "mode": "preset", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "Location", "type": "dropdown", "required": true, "values": []map[string]any{
				{"label": "Frankfurt", "raw": "fra", "prices": map[string]string{"monthly": "0.00"}},
				{"label": "Helsinki", "raw": "hel", "prices": map[string]string{"monthly": "1.00"}}}},
			{"name": "Terms accepted", "type": "checkbox", "required": true, "sort": 1, "values": []map[string]any{
				{"label": "I accept", "raw": "1", "prices": map[string]string{"monthly": "0.00"}}}},
			{"name": "Extra RAM", "type": "quantity", "provisioning_key": "ram_gb", "min": 0, "max": 16, "step": 1, "unit": "GB", "sort": 2,
				"unit_prices": map[string]string{"monthly": "2.00"}},
		},
	})
	b := e.browser(t)
	q := url.Values{"product": {strconv.FormatUint(e.seeded.ProductID, 10)}, "plan": {strconv.FormatUint(e.seeded.PlanID, 10)}, "currency": {"EUR"},
		"link": {e.link(e.seeded.UserID, 0, time.Hour)}}
	p := b.open("/m/configoptions/checkout?" + q.Encode())
	if p.code != http.StatusOK || strings.Contains(p.body, "aria-invalid") || strings.Contains(p.body, `data-figure="due_today"`) {
		t.Fatalf("the checkout as first shown: %d %s; want the form, nothing marked and no total yet", p.code, p.body)
	}
	form := hidden(p.body)
	before := e.checkoutCounts(t)
	placed := b.post("/m/configoptions/checkout/place", form, nil)
	if placed.code != http.StatusUnprocessableEntity {
		t.Fatalf("place: %d %s", placed.code, placed.body)
	}
	for _, name := range []string{"Location", "Terms accepted"} {
		id := "o" + strconv.FormatUint(g.option(t, name), 10)
		if !strings.Contains(placed.body, `<a href="#`+id+`">`+name+`</a>`) || !strings.Contains(placed.body, `id="`+id+`-error"`) {
			t.Errorf("%s is not named next to its field: %s", name, placed.body)
		}
	}
	if strings.Contains(placed.body, "#o"+strconv.FormatUint(g.option(t, "Extra RAM"), 10)+`"`) {
		t.Errorf("an optional option is reported")
	}
	if after := e.checkoutCounts(t); after != before {
		t.Fatalf("a refused checkout wrote rows: %v -> %v", before, after)
	}
}

// TestOptionChangePage upgrades a service's RAM from its change page (an
// invoice for the difference), then cancels the unpaid change.
func TestOptionChangePage(t *testing.T) {
	f := newChangeFixture(t)
	b := f.browser(t)
	svc := strconv.FormatUint(f.seeded.ServiceID, 10)
	p := b.open("/m/configoptions/change?link=" + url.QueryEscape(f.link(f.seeded.UserID, f.seeded.ServiceID, time.Hour)))
	if p.code != http.StatusOK || !strings.Contains(p.body, "4 GB") {
		t.Fatalf("change page: %d %s", p.code, p.body)
	}
	for _, attr := range []string{`action="change/confirm?service=` + svc + `"`, `data-live-url="change/review?service=` + svc + `"`} {
		if !strings.Contains(p.body, attr) {
			t.Errorf("the change form has no %s", attr)
		}
	}
	ram := "o" + strconv.FormatUint(f.ram, 10)
	form := hidden(p.body)
	form.Set(ram, "8")
	// The JSON quote of the same change.
	jr := f.do("POST", "/m/configoptions/change/quote", f.client(""), map[string]any{"choices": []map[string]any{{"option_id": f.ram, "quantity": 8}}})
	var quote changeAnswer
	jr.decode(t, &quote)
	live := b.post("/m/configoptions/change/review?service="+svc, form, map[string]string{"Upsell-Live": "summary"})
	lf := figures(live.body)
	if live.code != http.StatusOK || strings.Contains(live.body, "<form") {
		t.Fatalf("review: %d %s", live.code, live.body)
	}
	sameAmount(t, "due today", lf["due_today"], quote.DueToday)
	sameAmount(t, "recurring", lf["recurring"], quote.RecurringAfter)
	before := f.state(t)
	placed := b.post("/m/configoptions/change/confirm?service="+svc, form, nil)
	if placed.code != http.StatusSeeOther || !strings.HasPrefix(placed.location, "https://panel.example/") {
		t.Fatalf("confirm: %d %q %s", placed.code, placed.location, placed.body)
	}
	again := b.post("/m/configoptions/change/confirm?service="+svc, form, nil)
	if again.code != http.StatusSeeOther || again.location != placed.location {
		t.Fatalf("replayed confirm: %d %q, want %q", again.code, again.location, placed.location)
	}
	if s := f.state(t); s.changes != before.changes+1 || s.invoices != before.invoices+1 || s.quantity != 4 {
		t.Fatalf("after the upgrade %+v (before %+v): want one change and one invoice, nothing applied", s, before)
	}
	p = b.get("/m/configoptions/change?service="+svc, nil)
	if p.code != http.StatusOK || !strings.Contains(p.body, "Cancel this change") {
		t.Fatalf("the pending change is not shown: %d %s", p.code, p.body)
	}
	if !strings.Contains(p.body, `action="change/withdraw?service=`+svc+`"`) {
		t.Errorf("the cancel form does not name the service")
	}
	withdraw := hidden(p.body)
	cancelled := b.post("/m/configoptions/change/withdraw?service="+svc, url.Values{"csrf": {withdraw.Get("csrf")}}, nil)
	if cancelled.code != http.StatusSeeOther {
		t.Fatalf("cancel: %d %s", cancelled.code, cancelled.body)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM ext_configoptions_changes WHERE state = 'cancelled'"); n != 1 {
		t.Fatalf("cancelled changes: %d", n)
	}
	p = b.get("/m/configoptions/change?service="+svc+"&done=cancelled", nil)
	if p.code != http.StatusOK || strings.Contains(p.body, "Cancel this change") || !strings.Contains(p.body, "was cancelled") {
		t.Fatalf("after cancelling: %d %s", p.code, p.body)
	}
	// A form without its token changes nothing.
	if p := b.post("/m/configoptions/change/confirm?service="+svc, url.Values{ram: {"8"}, "key": {"k2"}}, nil); p.code != http.StatusForbidden {
		t.Fatalf("no csrf: %d", p.code)
	}
}
