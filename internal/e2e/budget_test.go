package e2e

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/intake"
)

// The panel allows 240 requests per window (a minute in production, a second
// here so the test runs in seconds); the adapter paces itself to 200. A
// backlog of paid orders over 12 services, drained by several workers at
// once, stays under the budget: not a single 429.
func TestBacklogDrainsUnderThePanelBudget(t *testing.T) {
	const orders = 120
	e := newEnvWith(t, map[string]string{"max_open_orders": "1000"}, withPanelBudget(240, 200, time.Second))
	// Four workers at once: the per-service locks need real row locking.
	e.db.RequireMySQL(t)
	pkg := e.createPackage(map[string]any{"name": "+1 MiB", "resource": "memory_mib", "amount": 1, "monthly_prices": map[string]string{"EUR": "0.10"}})
	services := []uint64{e.seeded.ServiceID}
	for range 11 {
		services = append(services, e.addService())
	}
	for i := range orders {
		r := e.do("POST", "/m/microupsell/orders", e.clientOf(services[i%len(services)], "b-"+strconv.Itoa(i)), map[string]any{"package_id": pkg})
		var o orderOut
		r.decode(t, &o)
		if o.InvoiceID == 0 {
			t.Fatalf("buy: %d %s", r.code, r.body)
		}
		e.pay(o.InvoiceID)
		if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromPoller); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	before := e.sim.RequestCounts()
	var wg sync.WaitGroup
	for i := range 4 {
		w := &intake.Worker{DB: e.db.DB, Modules: e.d.Supervisor, Owner: "w" + strconv.Itoa(i), Logger: discard(), Backoff: func(int) time.Duration { return 0 }}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				did, err := w.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if !did {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	requests := 0
	for route, n := range e.sim.RequestCounts() {
		requests += n - before[route]
	}
	var applied int
	_ = e.db.Get(&applied, "SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE state = 'applied'")
	if applied != orders {
		t.Fatalf("%d of %d orders applied", applied, orders)
	}
	if n := e.sim.Throttled(); n != 0 {
		t.Fatalf("the panel answered 429 %d times", n)
	}
	t.Logf("drained %d orders with %d panel requests in %s: %.0f requests per window of 1s (budget 240, pace 200)",
		orders, requests, elapsed.Round(time.Millisecond), float64(requests)/elapsed.Seconds())
}
