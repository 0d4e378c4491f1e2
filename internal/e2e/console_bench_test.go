package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// BenchmarkConsoleOverview serves the console's overview (orders today and
// per day, revenue per month by currency, jobs, plugins) over 10,000
// invoices upsell created in the last year, seeded directly: two in three
// paid an hour after they were created, one in five in USD. Then 40,000
// older invoices are added: the figures read only the last year (plus a
// month's grace) through upsell_panel_invoices_created_idx, so the time and
// the statements per request stay where they were.
func BenchmarkConsoleOverview(b *testing.B) {
	e := newEnv(b)
	e.db.RequireMySQL(b)
	now := time.Now()
	e.seedUpsellInvoices(b, 10000, now.Add(-365*24*time.Hour), now)
	c := e.adminCookieClient(b)
	base := e.http.URL + "/console/"
	b.Run("invoices=10000", func(b *testing.B) { e.benchOverview(b, c, base) })
	e.seedUpsellInvoices(b, 40000, now.Add(-5*365*24*time.Hour), now.Add(-400*24*time.Hour))
	b.Run("invoices=10000+40000-older", func(b *testing.B) { e.benchOverview(b, c, base) })
}

func (e *env) benchOverview(b *testing.B, c *http.Client, url string) {
	// One request first: its figures, and the settings the binding caches.
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `aria-labelledby="revenue-USD-title"`) {
		b.Fatalf("overview: %d\n%s", resp.StatusCode, body)
	}
	before := questions(b, e)
	b.ResetTimer()
	for b.Loop() {
		get(b, c, url, nil)
	}
	b.StopTimer()
	reportSQL(b, e, before)
}

// adminCookieClient is a client holding an admin session, as a browser
// signed in from the panel.
func (e *env) adminCookieClient(b testing.TB) *http.Client {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.http.URL + "/console/?link=" + url.QueryEscape(e.adminLink(7, time.Minute)))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "upsell_a" {
			cookie = ck
		}
	}
	if cookie == nil {
		b.Fatalf("no admin session: %s", resp.Status)
	}
	return &http.Client{Transport: cookieTransport{cookie}}
}

type cookieTransport struct{ c *http.Cookie }

func (t cookieTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.AddCookie(t.c)
	return http.DefaultTransport.RoundTrip(r)
}

// seedUpsellInvoices writes n invoices upsell created (panel rows, items,
// payments, and their upsell_panel_invoices owner), created evenly from
// from to to, a thousand rows a statement.
func (e *env) seedUpsellInvoices(b testing.TB, n int, from, to time.Time) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var next uint64
	if err := e.db.Get(&next, "SELECT COALESCE(MAX(id), 0) + 1 FROM invoices"); err != nil {
		b.Fatal(err)
	}
	step := to.Sub(from) / time.Duration(n)
	const batch = 1000
	for start := 0; start < n; start += batch {
		var invoices, items, payments, owners []string
		var invArgs, itemArgs, payArgs, ownerArgs []any
		for i := start; i < min(start+batch, n); i++ {
			id := next + uint64(i)
			created := from.Add(step * time.Duration(i))
			wall := created.In(berlin).Format(time.DateTime)
			currency := "EUR"
			if i%5 == 0 {
				currency = "USD"
			}
			status := "pending"
			if i%3 != 0 {
				status = "paid"
				payments = append(payments, "(?, ?, ?, 'succeeded', ?, ?)")
				paidAt := created.Add(time.Hour).In(berlin).Format(time.DateTime)
				payArgs = append(payArgs, id, "2.50", fmt.Sprintf("bench-%d", id), paidAt, paidAt)
			}
			invoices = append(invoices, "(?, ?, ?, ?, ?, ?)")
			invArgs = append(invArgs, id, status, currency, e.seeded.UserID, wall, wall)
			items = append(items, "(?, '1.25', 2, '+1 GB RAM', 'upsell', ?, ?)")
			itemArgs = append(itemArgs, id, wall, wall)
			owners = append(owners, "('paymenter', ?, 'microupsell', ?, ?)")
			ownerArgs = append(ownerArgs, id, fmt.Sprintf("paymenter:%d", id), created.UTC())
		}
		for _, st := range []struct {
			query string
			rows  []string
			args  []any
		}{
			{"INSERT INTO invoices (id, status, currency_code, user_id, created_at, updated_at) VALUES ", invoices, invArgs},
			{"INSERT INTO invoice_items (invoice_id, price, quantity, description, reference_type, created_at, updated_at) VALUES ", items, itemArgs},
			{"INSERT INTO invoice_transactions (invoice_id, amount, transaction_id, status, created_at, updated_at) VALUES ", payments, payArgs},
			{"INSERT INTO upsell_panel_invoices (panel, invoice_id, module, idempotency_key, created_at) VALUES ", owners, ownerArgs},
		} {
			if len(st.rows) == 0 {
				continue
			}
			if _, err := e.db.Exec(st.query+strings.Join(st.rows, ", "), st.args...); err != nil {
				b.Fatal(err)
			}
		}
	}
}
