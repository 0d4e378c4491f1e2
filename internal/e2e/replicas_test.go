package e2e

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/daemon"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/obs"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// Two replicas share one database: 50 paid invoices, each delivered five
// times by webhook and seen by both replicas' pollers, while both replicas'
// workers drain the queue. Every order is applied exactly once: one PATCH
// each, the memory grown by exactly 50 x 1 MiB, the price by 50 x 0.10.
func TestTwoReplicasApplyEachInvoiceOnce(t *testing.T) {
	e := newEnvWith(t, map[string]string{"max_open_orders": "1000"})
	e.db.RequireMySQL(t)
	const orders = 50
	pkg := e.createPackage(map[string]any{"name": "+1 MiB", "resource": "memory_mib", "amount": 1, "monthly_prices": map[string]string{"EUR": "0.10"}})
	invoices := make([]uint64, orders)
	for i := range invoices {
		o := e.buy(pkg, "r-"+strconv.Itoa(i))
		e.pay(o.InvoiceID)
		invoices[i] = o.InvoiceID
	}
	e.sim.ResetStats()

	// The second replica: its own daemon and plugin processes, same database.
	sockets, _ := os.MkdirTemp("", "upr")
	t.Cleanup(func() { os.RemoveAll(sockets) })
	cfg2 := e.cfg
	cfg2.Plugins.SocketDir = sockets
	d2, err := daemon.New(context.Background(), cfg2, e.db.DB, discard(), obs.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d2.Close)
	if err := d2.StartPlugins(context.Background()); err != nil {
		t.Fatal(err)
	}
	replicas := []*daemon.Daemon{e.d, d2}

	ctx, stop := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	for r, d := range replicas {
		for i := range 2 {
			w := &intake.Worker{DB: e.db.DB, Modules: d.Supervisor, Invoices: d.Panel, Owner: "replica" + strconv.Itoa(r) + "-" + strconv.Itoa(i),
				Logger: discard(), Backoff: func(int) time.Duration { return 10 * time.Millisecond }}
			workers.Add(1)
			go func() { defer workers.Done(); w.Run(ctx, 5*time.Millisecond) }()
		}
	}
	var deliveries sync.WaitGroup
	for _, inv := range invoices {
		for range 5 {
			deliveries.Add(1)
			go func() {
				defer deliveries.Done()
				if _, err := e.inbox.RecordPaid(context.Background(), inv, intake.FromWebhook); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	for _, d := range replicas {
		p := &intake.Poller{Inbox: &intake.Inbox{DB: d.DB, Panel: "paymenter", Invoices: d.Panel}, Panel: d.Panel, Logger: discard(), Batch: 20}
		deliveries.Add(1)
		go func() {
			defer deliveries.Done()
			for range 4 {
				if _, err := p.Poll(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	deliveries.Wait()
	for {
		var applied int
		if err := e.db.Get(&applied, "SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE state = 'applied'"); err != nil {
			t.Fatal(err)
		}
		var open int
		_ = e.db.Get(&open, "SELECT COUNT(*) FROM upsell_jobs WHERE state IN ('pending', 'running')")
		if applied == orders && open == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	workers.Wait()

	s := e.snapshot()
	if s.memory != 4096+orders || s.price != "15.00" || s.jobs != orders {
		t.Fatalf("end state %+v, want memory %d, price 15.00, %d jobs", s, 4096+orders, orders)
	}
	if n := e.sim.Requests(pterosim.RouteUpdateBuild); n != orders {
		t.Fatalf("%d build PATCHes for %d orders", n, orders)
	}
	var audits, raises int
	_ = e.db.Get(&audits, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.applied'")
	_ = e.db.Get(&raises, "SELECT COUNT(*) FROM ext_micro_upsell_order_events WHERE state = 'applied'")
	if audits != orders || raises != orders {
		t.Fatalf("%d purchase log entries, %d applied events, want %d each", audits, raises, orders)
	}
}
