package e2e

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/pterosim"
	"github.com/upsell-io/upsell/internal/supervisor"
)

// A plugin process is SIGKILLed while it is in the middle of applying a paid
// order: the adapter while its request to the panel is held at the gate (the
// first read, the build PATCH before the panel sees it, or the PATCH's answer
// after the panel committed it), or the module while the adapter's PATCH is
// held. No fault injection inside the plugins: real processes die. The
// supervisor restarts the plugin, the job's failed attempt is retried after
// its backoff, and the order ends applied once: limits raised once, price
// raised once, one purchase log entry.
func TestAdapterCrashMidJobAppliesOnce(t *testing.T) {
	tests := []struct {
		name   string
		method string
		prefix string
		phase  pterosim.Phase
		// state is the order's state after the killed attempt.
		state string
	}{
		{"first read", "GET", "/api/application/", pterosim.BeforePanel, "paid"},
		{"build patch not sent", "PATCH", "/api/application/servers/", pterosim.BeforePanel, "applying"},
		{"build patch committed, answer lost", "PATCH", "/api/application/servers/", pterosim.AfterPanel, "applying"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := startCrashCase(t)
			hold := c.gate.Hold(tc.method, tc.prefix, tc.phase)
			pid := c.e.pluginPID(t, "pterodactyl")
			first := c.runFirstAttempt()

			c.await(hold.Arrived(), "the adapter's request to reach the gate")
			kill(t, pid)
			// The dead process's connection closed: its request is given up.
			c.await(hold.Dropped(), "the killed adapter's request to be dropped")
			c.awaitFirstAttempt(first)
			c.checkRetryPending(tc.state)

			c.e.awaitRestart(c.ctx, t, "pterodactyl", pid)
			c.drainRetries()
			c.checkAppliedOnce()
		})
	}
}

// The module process dies while the adapter's build PATCH is held. Its
// open per-service lock is rolled back by the host, the supervisor restarts
// it, and the retry applies the order once.
func TestModuleCrashMidJobAppliesOnce(t *testing.T) {
	c := startCrashCase(t)
	hold := c.gate.Hold("PATCH", "/api/application/servers/", pterosim.BeforePanel)
	pid := c.e.pluginPID(t, "microupsell")
	first := c.runFirstAttempt()

	c.await(hold.Arrived(), "the adapter's build PATCH to reach the gate")
	kill(t, pid)
	c.awaitFirstAttempt(first)
	// The module's call into the host (and on to the adapter) may or may not
	// have been cancelled with it; either way the PATCH may now go on: if it
	// reaches the panel, the retry finds the target already met.
	select {
	case <-hold.Dropped():
		t.Log("the adapter's PATCH was cancelled with the module's call")
	default:
		t.Log("the adapter's PATCH was still held when the module died; releasing it")
	}
	hold.Release()
	c.checkRetryPending("applying")

	c.e.awaitRestart(c.ctx, t, "microupsell", pid)
	c.drainRetries()
	c.checkAppliedOnce()
}

// crashCase is one bought and paid order whose job is about to run, with the
// double behind a gate.
type crashCase struct {
	t     *testing.T
	e     *env
	ctx   context.Context
	gate  *pterosim.Gate
	order orderOut
	// worker retries after a short backoff, so a test waits for the retry
	// instead of making it due by hand.
	worker *intake.Worker
}

func startCrashCase(t *testing.T) *crashCase {
	t.Helper()
	e := newEnv(t)
	c := &crashCase{t: t, e: e, ctx: testContext(t), gate: e.gateSim(t)}
	c.order = e.buy(e.ramPackage(), "k")
	e.pay(c.order.InvoiceID)
	if _, err := e.inbox.RecordPaid(context.Background(), c.order.InvoiceID, intake.FromWebhook); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetStats()
	c.worker = &intake.Worker{DB: e.db.DB, Modules: e.d.Supervisor, Owner: "crash", Logger: discard(),
		Backoff: func(int) time.Duration { return 100 * time.Millisecond }}
	return c
}

// runFirstAttempt runs the job once in the background.
func (c *crashCase) runFirstAttempt() <-chan error {
	done := make(chan error, 1)
	go func() {
		did, err := c.worker.RunOnce(context.Background())
		if err == nil && !did {
			err = errors.New("no job to run")
		}
		done <- err
	}()
	return done
}

// await waits for ch to close, failing the test at its deadline.
func (c *crashCase) await(ch <-chan struct{}, what string) {
	c.t.Helper()
	select {
	case <-ch:
	case <-c.ctx.Done():
		c.t.Fatalf("gave up waiting for %s", what)
	}
}

// awaitFirstAttempt waits for the killed attempt's outcome to be recorded.
func (c *crashCase) awaitFirstAttempt(done <-chan error) {
	c.t.Helper()
	select {
	case err := <-done:
		if err != nil {
			c.t.Fatalf("first attempt: %v", err)
		}
	case <-c.ctx.Done():
		c.t.Fatal("the first attempt did not end after the plugin was killed")
	}
}

// checkRetryPending checks that the killed attempt is recorded as failed and
// due again, and that it changed nothing visible.
func (c *crashCase) checkRetryPending(state string) {
	c.t.Helper()
	var job struct {
		State     string  `db:"state"`
		Attempts  int     `db:"attempts"`
		LastError *string `db:"last_error"`
	}
	if err := c.e.db.Get(&job, "SELECT state, attempts, last_error FROM upsell_jobs"); err != nil {
		c.t.Fatal(err)
	}
	if job.State != "pending" || job.Attempts != 1 || job.LastError == nil {
		c.t.Fatalf("job after the killed attempt: %+v, want pending after 1 attempt with its error", job)
	}
	c.t.Logf("killed attempt recorded: %s", *job.LastError)
	// From the table: the module may still be down.
	var got string
	if err := c.e.db.Get(&got, "SELECT state FROM ext_micro_upsell_order_addons WHERE id = ?", c.order.ID); err != nil {
		c.t.Fatal(err)
	}
	if got != state {
		c.t.Fatalf("order %s after the killed attempt, want %s", got, state)
	}
	if s := c.e.snapshot(); s.price != "10.00" {
		c.t.Fatalf("price raised by the killed attempt: %+v", s)
	}
}

// drainRetries runs a worker until the order is applied and its job done.
func (c *crashCase) drainRetries() {
	c.t.Helper()
	ctx, stop := context.WithCancel(c.ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.worker.Run(ctx, 5*time.Millisecond) }()
	defer func() { stop(); <-done }()
	for {
		var applied, finished int
		if err := c.e.db.Get(&applied, "SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE state = 'applied'"); err != nil {
			c.t.Fatal(err)
		}
		if err := c.e.db.Get(&finished, "SELECT COUNT(*) FROM upsell_jobs WHERE state IN ('done', 'dead')"); err != nil {
			c.t.Fatal(err)
		}
		if applied == 1 && finished == 1 {
			return
		}
		select {
		case <-c.ctx.Done():
			var jobs []struct {
				State     string  `db:"state"`
				Attempts  int     `db:"attempts"`
				LastError *string `db:"last_error"`
			}
			_ = c.e.db.Select(&jobs, "SELECT state, attempts, last_error FROM upsell_jobs")
			c.t.Fatalf("the retry did not apply the order: %+v; jobs %+v", c.e.order(c.order.ID), jobs)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkAppliedOnce checks the end state: applied once, by the retry.
func (c *crashCase) checkAppliedOnce() {
	c.t.Helper()
	e, t := c.e, c.t
	if got := e.order(c.order.ID); got.State != "applied" {
		t.Fatalf("order %+v", got)
	}
	if s := e.snapshot(); s.memory != 5120 || s.disk != 10240 || s.price != "12.00" {
		t.Fatalf("end state %+v, want memory 5120 and price 12.00", s)
	}
	// The double saw one build PATCH: a held-back one never reached it, and
	// after a lost answer the retry reads the target as met.
	if n := e.sim.Requests(pterosim.RouteUpdateBuild); n != 1 {
		t.Fatalf("%d build PATCHes reached the panel, want 1", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_audit WHERE action = 'addon.applied'"); n != 1 {
		t.Fatalf("%d purchase log entries", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ext_micro_upsell_order_events WHERE state = 'applied'"); n != 1 {
		t.Fatalf("%d applied events", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM upsell_jobs WHERE state = 'done' AND attempts = 2"); n != 1 {
		t.Fatalf("the job is not done at its second attempt")
	}
}

// gateSim puts a pterosim.Gate in front of the env's Pterodactyl double and
// points the panel's server (its host setting, read on every call) at it.
func (e *env) gateSim(t testing.TB) *pterosim.Gate {
	t.Helper()
	g := pterosim.NewGate(e.sim)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	// Cleanups run last first: nothing is held when the server closes.
	t.Cleanup(g.ReleaseAll)
	res, err := e.db.Exec("UPDATE settings SET value = ? WHERE `key` = 'host' AND settingable_type = ?", srv.URL, `App\Models\Server`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d server host settings redirected to the gate, want 1", n)
	}
	return g
}

// pluginPID is the process id of a running plugin.
func (e *env) pluginPID(t testing.TB, name string) int {
	t.Helper()
	for _, s := range e.d.Supervisor.Statuses() {
		if s.Name == name && s.State == supervisor.Running && s.PID > 0 {
			return s.PID
		}
	}
	t.Fatalf("plugin %s is not running: %+v", name, e.d.Supervisor.Statuses())
	return 0
}

// awaitRestart waits until the supervisor runs the plugin again in a
// process other than old.
func (e *env) awaitRestart(ctx context.Context, t testing.TB, name string, old int) {
	t.Helper()
	for {
		for _, s := range e.d.Supervisor.Statuses() {
			if s.Name == name && s.State == supervisor.Running && s.PID > 0 && s.PID != old {
				if s.Restarts < 1 {
					t.Fatalf("plugin %s runs in a new process without a restart counted: %+v", name, s)
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("plugin %s was not restarted: %+v", name, e.d.Supervisor.Statuses())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL to a process (os.Process.Kill on Unix).
func kill(t testing.TB, pid int) {
	t.Helper()
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
}

// testContext ends a little before the test's deadline (two minutes without
// one), so bounded waits fail with a message instead of a panic.
func testContext(t *testing.T) context.Context {
	deadline := time.Now().Add(2 * time.Minute)
	if d, ok := t.Deadline(); ok {
		deadline = d.Add(-10 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}
