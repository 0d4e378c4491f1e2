//go:build faults

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// The module process dies right after each step of the paid-invoice
// pipeline, once. The supervisor restarts it, the job is retried, and the
// state converges: resources applied once, price raised once, log written
// once. Built with -tags faults (make test runs it).
func TestCrashBetweenStepsConverges(t *testing.T) {
	for _, step := range []string{"claimed", "target_stored", "applied", "finished"} {
		t.Run(step, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "crashed")
			e := newEnvWith(t, map[string]string{"crash_after": step, "crash_once_file": marker})
			o := e.buy(e.ramPackage(), "k")
			e.pay(o.InvoiceID)
			if _, err := e.inbox.RecordPaid(context.Background(), o.InvoiceID, intake.FromWebhook); err != nil {
				t.Fatal(err)
			}
			e.sim.ResetStats()
			if did, err := e.worker.RunOnce(context.Background()); !did || err != nil {
				t.Fatalf("first run: %v %v", did, err)
			}
			if _, err := os.Stat(marker); err != nil {
				t.Fatalf("the module did not stop after %s", step)
			}
			// Wait for the supervisor to bring the module back, then retry.
			for {
				st := e.d.Supervisor.Statuses()
				restarted := false
				for _, s := range st {
					if s.Name == "microupsell" && s.State == "running" && s.Restarts >= 1 {
						restarted = true
					}
				}
				if restarted {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if _, err := e.db.Exec("UPDATE upsell_jobs SET run_after = ? WHERE state = 'pending'", time.Now().UTC().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			e.drain()

			if got := e.order(o.ID); got.State != "applied" {
				t.Fatalf("order after the crash: %+v", got)
			}
			s := e.snapshot()
			if s.memory != 5120 || s.price != "12.00" {
				t.Fatalf("end state %+v", s)
			}
			if n := e.sim.Requests(pterosim.RouteUpdateBuild); n != 1 {
				t.Fatalf("%d build PATCHes", n)
			}
			if n := e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.applied'"); n != 1 {
				t.Fatalf("%d purchase log entries", n)
			}
			if n := e.count(t, "SELECT COUNT(*) FROM ext_micro_upsell_order_events WHERE state = 'applied'"); n != 1 {
				t.Fatalf("%d applied events", n)
			}
			if n := e.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE state = 'done'"); n != 1 {
				t.Fatalf("%d jobs done", n)
			}
		})
	}
}
