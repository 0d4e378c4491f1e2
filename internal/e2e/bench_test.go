package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/auth"
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

func get(b testing.TB, c *http.Client, url string, header map[string]string) {
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
// host -> module process, the offer prefetched by the host) with a bare
// net/http handler doing the same work in one process: verify the link, run
// the same two queries with statements prepared once, scan every column,
// answer JSON. Side by side, with 1 and 8 requests in flight per core: the
// first is latency, the second throughput under load.
//
// "upsell" is the daemon as it runs: the host reads the service and the
// offer for every request and reuses the module's reply while they are
// unchanged (HTTPResponse.ReuseUntil). "upsell-ask" turns that reuse off, so
// every request also crosses to the module process: the cost of a first
// view, or of a list whose service or holdings just changed.
func BenchmarkQuote(b *testing.B) {
	e := newEnv(b)
	for range 3 {
		e.ramPackage()
	}
	client := e.client("")
	url := e.http.URL + "/m/microupsell/packages"
	bare := bareQuoteServer(b, e)
	mc := e.moduleClient(b, "microupsell")
	for _, inFlight := range []int{1, 8} {
		b.Run(fmt.Sprintf("upsell/inflight=%d", inFlight), func(b *testing.B) {
			runGets(b, e, inFlight, e.http.Client(), url, client)
		})
		b.Run(fmt.Sprintf("upsell-ask/inflight=%d", inFlight), func(b *testing.B) {
			mc.MemoizeReplies(0)
			defer mc.MemoizeReplies(hostapi.DefaultReplyMemoEntries)
			runGets(b, e, inFlight, e.http.Client(), url, client)
		})
		b.Run(fmt.Sprintf("bare/inflight=%d", inFlight), func(b *testing.B) {
			runGets(b, e, inFlight, bare.Client(), bare.URL, client)
		})
	}
}

// runGets GETs url with inFlight requests per core at once and reports
// statements per request.
func runGets(b *testing.B, e *env, inFlight int, c *http.Client, url string, header map[string]string) {
	b.SetParallelism(inFlight)
	before := questions(b, e)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			get(b, c, url, header)
		}
	})
	b.StopTimer()
	reportSQL(b, e, before)
}

// bareQuoteServer is the baseline upsell's quote is held to: the same link
// check and the same reads (the service with its plan and product, then
// packages with prices and holdings in one query; panel settings are
// cached on both sides), statements prepared once, every column scanned,
// a JSON answer of the same shape.
func bareQuoteServer(b testing.TB, e *env) *httptest.Server {
	prep := func(q string) *sql.Stmt {
		st, err := e.db.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}
	service := prep("SELECT s.id, s.user_id, s.product_id, s.plan_id, s.status, s.currency_code, s.quantity, s.price, s.expires_at, s.label, s.created_at, p.name, pl.type, pl.billing_period, pl.billing_unit FROM services s LEFT JOIN products p ON p.id = s.product_id LEFT JOIN plans pl ON pl.id = s.plan_id WHERE s.id = ?")
	offer := prep(`SELECT p.id, p.name, p.resource, p.amount, p.active, p.product_id, p.max_per_service, p.sort, pp.currency, pp.monthly_price, COALESCE(h.n, 0)
FROM ext_micro_upsell_packages p
LEFT JOIN ext_micro_upsell_package_prices pp ON pp.package_id = p.id
LEFT JOIN (SELECT package_id, COUNT(*) AS n FROM ext_micro_upsell_order_addons
  WHERE service_id = ? AND state IN ('awaiting_payment', 'paid', 'applying', 'applied') GROUP BY package_id) h ON h.package_id = p.id
ORDER BY p.sort, p.id`)
	secret := []byte(e.cfg.Security.LinkSecret.Reveal())
	type item struct {
		ID       uint64 `json:"package_id"`
		Name     string `json:"name"`
		Resource string `json:"resource"`
		Amount   int64  `json:"amount"`
		Price    string `json:"monthly_price"`
		Held     int    `json:"held"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		l, err := auth.VerifyLink(secret, r.Header.Get("X-Upsell-Link"), time.Now(), e.cfg.Security.LinkTTL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var (
			sid, uid, qty             uint64
			product, plan, period     sql.NullInt64
			status, cur, price        string
			label, pname, ptype, unit sql.NullString
			exp, created              sql.NullTime
		)
		if err := service.QueryRowContext(ctx, l.ServiceID).Scan(&sid, &uid, &product, &plan, &status, &cur, &qty, &price, &exp, &label, &created, &pname, &ptype, &period, &unit); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rows, err := offer.QueryContext(ctx, l.ServiceID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		items := []item{}
		for rows.Next() {
			var (
				it                   item
				active               bool
				productID, max, sort sql.NullInt64
				currency, monthly    sql.NullString
			)
			if err := rows.Scan(&it.ID, &it.Name, &it.Resource, &it.Amount, &active, &productID, &max, &sort, &currency, &monthly, &it.Held); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			it.Price = monthly.String
			items = append(items, it)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"service_id": sid, "currency": cur, "recurring_price": price, "packages": items})
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
