package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// Drain benchmark knobs, read from the environment.
const (
	// envDrainN is the backlog size (default 10000).
	envDrainN = "UPSELL_DRAIN_N"
	// envDrainWorkers is the number of job workers draining it (default 4).
	envDrainWorkers = "UPSELL_DRAIN_WORKERS"
)

// Backlog shape: the orders are spread round-robin over drainServices
// services, each with its own server (100 orders each at 10,000 invoices),
// and the per-service open-order limit is raised to exactly the orders per
// service. drainBuyers buy at once while the backlog is set up.
const (
	drainServices = 100
	drainBuyers   = 8
)

// BenchmarkDrain10k drains a backlog of paid Micro-Upsell invoices (10,000
// by default, UPSELL_DRAIN_N to change it) against the Pterodactyl double,
// its rate limit and the adapter's pacing off (the harness default), with
// UPSELL_DRAIN_WORKERS job workers (default 4) sharing the plugin processes.
//
// The backlog is real state: every order is bought through POST
// /m/microupsell/orders with the client's link (drainBuyers at once), its
// invoice paid (a succeeded transaction, status paid) and recorded in the
// inbox. Only the drain is timed: from starting the workers until every job
// is done. The workers are RunIntake's job workers without its poller and
// reconcile scheduler, whose own statements would blur the figures; the
// double sits behind a pass-through pterosim.Gate that counts requests per
// server. It reports invoices/s, SQL statements per invoice (MariaDB's
// server-wide Questions counter: keep other clients of the server quiet) and
// Pterodactyl API requests per invoice, then checks that every order was
// applied exactly once: one build PATCH per order on its own server, each
// server's memory and each service's price raised once per order, one
// purchase log entry and one applied event per order.
//
// The setup costs more than the drain, so run it once (at 10,000 the whole
// run takes several minutes: give it -timeout 30m):
//
//	UPSELL_DRAIN_N=500 go test -run XXX -bench Drain10k -benchtime 1x ./internal/e2e/
//
// Should the runner ask for b.N > 1, each iteration sets up and drains a
// fresh backlog of the same size on the same services, the drain alone
// timed; ns/op is then the time to drain one backlog.
func BenchmarkDrain10k(b *testing.B) {
	n := envInt(b, envDrainN, 10000)
	workers := envInt(b, envDrainWorkers, 4)
	nServices := min(drainServices, n)
	perService := (n + nServices - 1) / nServices
	e := newEnvWith(b, map[string]string{"max_open_orders": strconv.Itoa(perService), "max_apply_attempts": "3"})
	// Concurrent workers need real row locks, and the figures MariaDB's
	// counter.
	e.db.RequireMySQL(b)
	gate := e.gateSim(b)
	pkg := e.createPackage(map[string]any{"name": "+1 MiB", "resource": "memory_mib", "amount": 1, "monthly_prices": map[string]string{"EUR": "0.10"}})
	services := []uint64{e.seeded.ServiceID}
	for len(services) < nServices {
		services = append(services, e.addService())
	}
	servers := serversByService(e)

	var (
		drained  time.Duration
		sql      int64
		requests int
		// failures collects the workers' warnings: failed attempts.
		failures bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(&failures, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b.ResetTimer()
	for round := range b.N {
		b.StopTimer()
		started := time.Now()
		e.backlog(b, pkg, services, n, round)
		b.Logf("round %d: %d invoices bought, paid and recorded in %s", round, n, time.Since(started).Round(time.Millisecond))
		reqBefore := e.sim.RequestCounts()
		for {
			q := questions(b, e)
			watch := e.watchOtherClients(b)
			b.StartTimer()
			t0 := time.Now()
			e.drainWith(b, workers, logger)
			drained += time.Since(t0)
			b.StopTimer()
			samples, others := watch()
			after := questions(b, e)
			// Minus the closing counter query and the watcher's own.
			sql += after - q - 1 - int64(samples)
			if others > 0 {
				b.Logf("WARNING: up to %d sessions of other databases were open on the server during the drain: sql/invoice counts their statements too", others)
			}
			// Workers stop at the first empty claim; a job another worker
			// failed meanwhile (retried at once) would still be due.
			if e.jobsLeft(b) == 0 {
				break
			}
		}
		for route, c := range e.sim.RequestCounts() {
			requests += c - reqBefore[route]
		}
		e.checkDrained(b, gate, services, servers, n*(round+1))
	}
	invoices := float64(n * b.N)
	b.ReportMetric(invoices/drained.Seconds(), "invoices/s")
	b.ReportMetric(float64(sql)/invoices, "sql/invoice")
	b.ReportMetric(float64(requests)/invoices, "ptero-req/invoice")
	b.ReportMetric(float64(n), "backlog")
	var attempts int
	_ = e.db.Get(&attempts, "SELECT COALESCE(SUM(attempts), 0) FROM upsell_jobs")
	b.Logf("%d invoices drained by %d workers in %s: %.0f/s, %.1f SQL statements and %.2f API requests per invoice, %d job attempts; panel requests since the start (setup included): %v",
		int(invoices), workers, drained.Round(time.Millisecond), invoices/drained.Seconds(), float64(sql)/invoices, float64(requests)/invoices, attempts, e.sim.RequestCounts())
	if failures.Len() > 0 {
		lines := strings.Split(strings.TrimSpace(failures.String()), "\n")
		b.Logf("%d worker warnings (failed attempts, retried), the first: %s", len(lines), strings.Join(lines[:min(len(lines), 5)], "\n"))
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// serversByService maps each panel service to its server on the double
// (the harness names servers by service id in external_id).
func serversByService(e *env) map[uint64]int {
	out := map[uint64]int{}
	for id := 1; ; id++ {
		srv, ok := e.sim.Server(id)
		if !ok {
			return out
		}
		sid, _ := strconv.ParseUint(srv.ExternalID, 10, 64)
		out[sid] = id
	}
}

// backlog buys n orders round-robin over services through the client API,
// drainBuyers at once, pays each invoice and records it in the inbox.
func (e *env) backlog(b *testing.B, pkg uint64, services []uint64, n, round int) {
	links := make([]string, len(services))
	for i, s := range services {
		links[i] = e.link(e.seeded.UserID, s, time.Hour)
	}
	var (
		next   atomic.Int64
		failed atomic.Bool
		wg     sync.WaitGroup
	)
	for range drainBuyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := e.buyAndPay(pkg, links[i%len(links)], fmt.Sprintf("drain-%d-%d", round, i)); err != nil {
					b.Error(err)
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() {
		b.FailNow()
	}
}

// buyAndPay is one client's purchase and payment, safe to run from several
// goroutines (it reports errors instead of failing the benchmark).
func (e *env) buyAndPay(pkg uint64, link, key string) error {
	r, err := e.post("/m/microupsell/orders", map[string]string{"X-Upsell-Link": link, "Idempotency-Key": key}, map[string]any{"package_id": pkg})
	if err != nil {
		return err
	}
	if r.code != http.StatusCreated {
		return fmt.Errorf("buy %s: %d %s", key, r.code, r.body)
	}
	var o orderOut
	if err := json.Unmarshal(r.body, &o); err != nil || o.InvoiceID == 0 {
		return fmt.Errorf("buy %s: %s (%v)", key, r.body, err)
	}
	// As e.pay: a succeeded transaction for the total, then status paid.
	var total string
	if err := e.db.Get(&total, "SELECT CAST(SUM(price * quantity) AS CHAR) FROM invoice_items WHERE invoice_id = ?", o.InvoiceID); err != nil {
		return err
	}
	now := time.Now().UTC()
	if _, err := e.db.Exec("INSERT INTO invoice_transactions (invoice_id, amount, transaction_id, status, created_at, updated_at) VALUES (?, ?, ?, 'succeeded', ?, ?)",
		o.InvoiceID, total, "tx-"+strconv.FormatUint(o.InvoiceID, 10), now, now); err != nil {
		return err
	}
	if _, err := e.db.Exec("UPDATE invoices SET status = 'paid' WHERE id = ?", o.InvoiceID); err != nil {
		return err
	}
	_, err = e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromPoller)
	return err
}

// post is e.do for goroutines: it returns errors instead of failing.
func (e *env) post(path string, header map[string]string, body any) (response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return response{}, err
	}
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, bytes.NewReader(raw))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, out}, err
}

// watchOtherClients samples, every half second until the returned function
// is called, how many sessions of other databases the server has open (other
// test binaries): MariaDB's Questions counter is server-wide. The function
// returns the number of samples taken (statements to discount) and the most
// sessions seen. The caller reads the counter before starting the watch and
// after ending it.
func (e *env) watchOtherClients(b *testing.B) func() (int, int) {
	name := e.db.Name
	var samples, most int
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			var n int
			if err := e.db.Get(&n, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB IS NOT NULL AND DB <> ?", name); err == nil {
				most = max(most, n)
			}
			samples++
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() (int, int) {
		close(stop)
		<-done
		return samples, most
	}
}

// drainWith runs workers job workers until each finds no due job.
func (e *env) drainWith(b *testing.B, workers int, logger *slog.Logger) {
	var wg sync.WaitGroup
	for i := range workers {
		w := &intake.Worker{DB: e.db.DB, Modules: e.d.Supervisor, Owner: "drain" + strconv.Itoa(i), Logger: logger,
			Backoff: func(int) time.Duration { return 0 }}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				did, err := w.RunOnce(context.Background())
				if err != nil {
					b.Error(err)
					return
				}
				if !did {
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// jobsLeft counts jobs not done; a dead one fails the benchmark.
func (e *env) jobsLeft(b *testing.B) int {
	var jobs []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := e.db.Select(&jobs, "SELECT state, COUNT(*) AS n FROM upsell_jobs WHERE state <> 'done' GROUP BY state"); err != nil {
		b.Fatal(err)
	}
	left := 0
	for _, j := range jobs {
		if j.State == "dead" {
			b.Fatalf("%d jobs dead", j.N)
		}
		left += j.N
	}
	return left
}

// checkDrained checks that every order so far (total) was applied exactly
// once.
func (e *env) checkDrained(b *testing.B, gate *pterosim.Gate, services []uint64, servers map[uint64]int, total int) {
	var notApplied int
	if err := e.db.Get(&notApplied, "SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE state <> 'applied'"); err != nil {
		b.Fatal(err)
	}
	if notApplied != 0 {
		b.Fatalf("%d orders not applied", notApplied)
	}
	var held []struct {
		Service uint64 `db:"service_id"`
		N       int    `db:"n"`
		Price   string `db:"price"`
	}
	if err := e.db.Select(&held, `SELECT o.service_id, COUNT(*) AS n, CAST(s.price AS CHAR) AS price
FROM ext_micro_upsell_order_addons o JOIN services s ON s.id = o.service_id GROUP BY o.service_id, s.price`); err != nil {
		b.Fatal(err)
	}
	if len(held) != len(services) {
		b.Fatalf("orders on %d services, want %d", len(held), len(services))
	}
	sum := 0
	for _, h := range held {
		sum += h.N
		id := servers[h.Service]
		srv, ok := e.sim.Server(id)
		if !ok {
			b.Fatalf("service %d has no server", h.Service)
		}
		patches := gate.Requests(http.MethodPatch, "/api/application/servers/"+strconv.Itoa(id)+"/build")
		wantPrice := decimal.RequireFromString("10.00").Add(decimal.RequireFromString("0.10").Mul(decimal.NewFromInt(int64(h.N))))
		if patches != h.N || srv.Limits.Memory != 4096+h.N || h.Price != wantPrice.StringFixed(2) {
			b.Fatalf("service %d: %d orders, %d build PATCHes, memory %d, price %s; want %d PATCHes, memory %d, price %s",
				h.Service, h.N, patches, srv.Limits.Memory, h.Price, h.N, 4096+h.N, wantPrice.StringFixed(2))
		}
	}
	if sum != total {
		b.Fatalf("%d orders, want %d", sum, total)
	}
	for q, want := range map[string]int{
		"SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.applied'":                total,
		"SELECT COUNT(*) FROM ext_micro_upsell_order_events WHERE state = 'applied'":      total,
		"SELECT COUNT(*) FROM upsell_jobs WHERE state = 'done' AND kind = 'event'":        total,
		"SELECT COUNT(DISTINCT subject) FROM upsell_audit WHERE action = 'addon.applied'": total,
	} {
		var got int
		if err := e.db.Get(&got, q); err != nil {
			b.Fatal(err)
		}
		if got != want {
			b.Fatalf("%s: %d, want %d", q, got, want)
		}
	}
	if n := e.sim.Throttled(); n != 0 {
		b.Fatalf("the double answered 429 %d times", n)
	}
}
