package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/upsell-io/upsell/internal/intake"
)

// questions reads MariaDB's server-wide statement counter; 0 on the
// embedded engine, where the metric is not reported.
func questions(b *testing.B, e *env) int64 {
	if e.db.Embedded {
		return 0
	}
	var name string
	var n int64
	if err := e.db.QueryRow("SHOW GLOBAL STATUS LIKE 'Questions'").Scan(&name, &n); err != nil {
		b.Fatal(err)
	}
	return n
}

// reportSQL reports statements per operation, minus the counter query.
func reportSQL(b *testing.B, e *env, before int64) {
	if e.db.Embedded {
		return
	}
	after := questions(b, e)
	b.ReportMetric(float64(after-before-1)/float64(b.N), "sql/op")
}

func get(b *testing.B, c *http.Client, url string, header map[string]string) {
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s", url, resp.Status)
	}
}

// BenchmarkQuote compares the client's package list through upsell (HTTP ->
// host -> module process -> host API) with the same queries behind a bare
// net/http handler with prepared statements, side by side, in parallel.
func BenchmarkQuote(b *testing.B) {
	e := newEnv(b)
	for range 3 {
		e.ramPackage()
	}
	client := e.client("")
	url := e.http.URL + "/m/microupsell/packages"
	b.Run("upsell", func(b *testing.B) {
		c := e.http.Client()
		before := questions(b, e)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get(b, c, url, client)
			}
		})
		b.StopTimer()
		reportSQL(b, e, before)
	})
	b.Run("bare", func(b *testing.B) {
		bare := bareQuoteServer(b, e)
		c := bare.Client()
		before := questions(b, e)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get(b, c, bare.URL, nil)
			}
		})
		b.StopTimer()
		reportSQL(b, e, before)
	})
}

// bareQuoteServer runs the same reads as upsell's quote (the service with
// its plan and product, then packages with prices and holdings in one query;
// panel settings are cached on both sides) with statements prepared once,
// and writes a JSON answer: the baseline upsell is held to.
func bareQuoteServer(b *testing.B, e *env) *httptest.Server {
	prep := func(q string) *sql.Stmt {
		st, err := e.db.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}
	service := prep("SELECT s.id, s.user_id, s.status, s.currency_code, s.price, s.expires_at, pl.billing_period, pl.billing_unit FROM services s LEFT JOIN plans pl ON pl.id = s.plan_id LEFT JOIN products p ON p.id = s.product_id WHERE s.id = ?")
	offer := prep(`SELECT p.id, p.name, p.resource, p.amount, p.active, p.product_id, p.max_per_service, p.sort, pp.currency, pp.monthly_price, COALESCE(h.n, 0)
FROM ext_micro_upsell_packages p
LEFT JOIN ext_micro_upsell_package_prices pp ON pp.package_id = p.id
LEFT JOIN (SELECT package_id, COUNT(*) AS n FROM ext_micro_upsell_order_addons
  WHERE service_id = ? AND state IN ('awaiting_payment', 'paid', 'applying', 'applied') GROUP BY package_id) h ON h.package_id = p.id
ORDER BY p.sort, p.id`)
	id := e.seeded.ServiceID
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var (
			sid, uid                 uint64
			status, cur, price, unit string
			period                   int
			exp                      sql.NullTime
		)
		if err := service.QueryRowContext(ctx, id).Scan(&sid, &uid, &status, &cur, &price, &exp, &period, &unit); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		rows, err := offer.QueryContext(ctx, id)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		for rows.Next() {
		}
		rows.Close()
		fmt.Fprintf(w, `{"service_id":%d,"currency":%q,"recurring_price":%q}`, sid, cur, price)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkBuy measures one purchase: order and panel invoice in one
// transaction.
func BenchmarkBuy(b *testing.B) {
	e := newEnvWith(b, map[string]string{"max_open_orders": "1000000"})
	pkg := e.ramPackage()
	before := questions(b, e)
	b.ResetTimer()
	for i := range b.N {
		e.buy(pkg, "bench-"+strconv.Itoa(i))
	}
	b.StopTimer()
	reportSQL(b, e, before)
}

// BenchmarkApply measures handling paid invoices end to end: job claim,
// payment checks, claim, per-service lock, read and apply through the
// adapter process against the Pterodactyl double, price raise, purchase log.
func BenchmarkApply(b *testing.B) {
	e := newEnvWith(b, map[string]string{"max_open_orders": "1000000"})
	pkg := e.createPackage(map[string]any{"name": "+1 MiB", "resource": "memory_mib", "amount": 1, "monthly_prices": map[string]string{"EUR": "0.10"}})
	for i := range b.N {
		o := e.buy(pkg, "apply-"+strconv.Itoa(i))
		e.pay(o.InvoiceID)
		if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromPoller); err != nil {
			b.Fatal(err)
		}
	}
	e.sim.ResetStats()
	before := questions(b, e)
	b.ResetTimer()
	e.drain()
	b.StopTimer()
	reportSQL(b, e, before)
	total := 0
	for _, n := range e.sim.RequestCounts() {
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "ptero-req/op")
	var applied int
	_ = e.db.Get(&applied, "SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE state = 'applied'")
	if applied != b.N {
		b.Fatalf("%d of %d orders applied", applied, b.N)
	}
}
