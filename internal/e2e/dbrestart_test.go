package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/internal/pterosim"
	"github.com/upsell-io/upsell/internal/testdb"
)

// trafficLog records what background clients got. Every answer must be a
// success or a 503: a 500, a 4xx or a broken connection is a failure.
type trafficLog struct {
	mu         sync.Mutex
	unexpected []string
	// answered counts every request; ok and down those answered with a
	// success and with 503.
	answered, ok, down atomic.Int64
}

func (l *trafficLog) record(what string, code int, body []byte, err error, okCodes ...int) {
	l.answered.Add(1)
	switch {
	case err != nil:
		l.fail(fmt.Sprintf("%s: %v", what, err))
	case code == http.StatusServiceUnavailable:
		l.down.Add(1)
	default:
		for _, c := range okCodes {
			if code == c {
				l.ok.Add(1)
				return
			}
		}
		l.fail(fmt.Sprintf("%s: %d %s", what, code, body))
	}
}

func (l *trafficLog) fail(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.unexpected) < 20 {
		l.unexpected = append(l.unexpected, s)
	}
}

func (l *trafficLog) failures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.unexpected...)
}

// send is env.do for goroutines: it returns the transport error instead of
// failing the test.
func (e *env) send(method, path string, header map[string]string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// sendWebhook delivers a signed invoice.paid webhook, as a bridge does,
// reporting a failure instead of failing the test (it runs in traffic
// goroutines).
func (e *env) sendWebhook(invoiceID uint64) (int, []byte, error) {
	header, body := e.signedWebhook(invoiceID)
	return e.send("POST", "/webhooks/paymenter", header, body)
}

// serverOf finds the double's server of a panel service.
func (e *env) serverOf(serviceID uint64) (pterosim.Server, bool) {
	for id := 1; ; id++ {
		s, ok := e.sim.Server(id)
		if !ok {
			return pterosim.Server{}, false
		}
		if s.ExternalID == strconv.FormatUint(serviceID, 10) {
			return s, true
		}
	}
}

// buyUntilDone posts a purchase with one Idempotency-Key until it is
// answered 200/201, as a client retrying after a 503 does.
func (e *env) buyUntilDone(log *trafficLog, serviceID, pkg uint64, key string) (orderOut, bool) {
	body := []byte(fmt.Sprintf(`{"package_id":%d}`, pkg))
	for {
		code, b, err := e.send("POST", "/m/microupsell/orders", e.clientOf(serviceID, key), body)
		log.record("buy "+key, code, b, err, http.StatusCreated, http.StatusOK)
		if err != nil {
			return orderOut{}, false
		}
		switch code {
		case http.StatusCreated, http.StatusOK:
			var o orderOut
			if err := json.Unmarshal(b, &o); err != nil || o.ID == 0 {
				log.fail(fmt.Sprintf("buy %s: %d %s", key, code, b))
				return orderOut{}, false
			}
			return o, true
		case http.StatusServiceUnavailable:
			time.Sleep(10 * time.Millisecond)
		default:
			return orderOut{}, false
		}
	}
}

// TestDatabaseRestartUnderTraffic stops the database while clients quote
// and buy and bridges deliver paid invoices, and starts it again: while it
// is down every request answers 503 and /readyz says the database is
// unreachable; afterwards the same daemon (no restart) serves again, each
// Idempotency-Key made one order and one invoice, and each paid invoice was
// applied exactly once.
func TestDatabaseRestartUnderTraffic(t *testing.T) {
	srv := testdb.StartServer(t)
	e := newEnvWith(t, map[string]string{"max_apply_attempts": "5"}, onServer(srv.DSN()))
	pkg := e.ramPackage()
	services := []uint64{e.seeded.ServiceID, e.addService(), e.addService()}
	invoicesBefore := e.snapshot().invoices

	// The daemon's own intake: the poller and two workers, as serve runs
	// them, riding out the outage.
	e.d.Config.Poller.Interval = 100 * time.Millisecond
	intakeCtx, stopIntake := context.WithCancel(context.Background())
	intakeDone := e.d.RunIntake(intakeCtx, 2)
	defer func() { stopIntake(); intakeDone.Wait() }()

	// Before the outage: one paid order per service.
	var buys trafficLog
	paid := map[uint64]bool{}
	var firstInvoices []uint64
	for _, svc := range services {
		o, ok := e.buyUntilDone(&buys, svc, pkg, fmt.Sprintf("s%d-a", svc))
		if !ok {
			t.Fatalf("buy before the outage: %v", buys.failures())
		}
		firstInvoices = append(firstInvoices, o.InvoiceID)
	}

	// Traffic: quotes on every service, and per service a buyer making two
	// more orders and then repeating the last request (a client retrying).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var quotes trafficLog
	for _, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, b, err := e.send("GET", "/m/microupsell/packages", e.clientOf(svc, ""), nil)
				quotes.record("quote", code, b, err, http.StatusOK)
				if err != nil {
					return
				}
			}
		}()
	}
	type bought struct {
		svc   uint64
		key   string
		order orderOut
	}
	results := make(chan bought, 2*len(services))
	// made is done once every buyer has its two orders (or has failed).
	var made sync.WaitGroup
	for _, svc := range services {
		wg.Add(1)
		made.Add(1)
		go func() {
			defer wg.Done()
			var last orderOut
			for _, round := range []string{"b", "c"} {
				key := fmt.Sprintf("s%d-%s", svc, round)
				o, ok := e.buyUntilDone(&buys, svc, pkg, key)
				if !ok {
					made.Done()
					return
				}
				results <- bought{svc, key, o}
				last = o
			}
			made.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				o, ok := e.buyUntilDone(&buys, svc, pkg, fmt.Sprintf("s%d-c", svc))
				if !ok {
					return
				}
				if o.ID != last.ID || o.InvoiceID != last.InvoiceID {
					buys.fail(fmt.Sprintf("the same key answered order %d (invoice %d), then order %d (invoice %d)", last.ID, last.InvoiceID, o.ID, o.InvoiceID))
					return
				}
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	for quotes.answered.Load() < 20 {
		time.Sleep(5 * time.Millisecond)
	}
	// The first orders are paid just before the outage, so the workers
	// may be applying them when it starts.
	for _, id := range firstInvoices {
		e.pay(id)
		paid[id] = true
		if code, b, err := e.sendWebhook(id); err != nil || code != http.StatusAccepted {
			t.Fatalf("webhook before the outage: %d %s %v", code, b, err)
		}
	}

	t.Log("stopping the database")
	srv.Stop()

	// Down: every kind of request answers 503, at once.
	downKey := fmt.Sprintf("s%d-down", services[0])
	for _, c := range []struct {
		name, method, path string
		header             map[string]string
		body               []byte
	}{
		{"quote", "GET", "/m/microupsell/packages", e.clientOf(services[0], ""), nil},
		{"buy", "POST", "/m/microupsell/orders", e.clientOf(services[0], downKey), []byte(fmt.Sprintf(`{"package_id":%d}`, pkg))},
		{"admin orders", "GET", "/m/microupsell/admin/orders", e.admin(), nil},
		{"admin jobs", "GET", "/api/v1/admin/jobs", e.admin(), nil},
	} {
		code, b, err := e.send(c.method, c.path, c.header, c.body)
		if err != nil || code != http.StatusServiceUnavailable {
			t.Errorf("%s while the database is down: %d %s %v, want 503", c.name, code, b, err)
		}
		if strings.Contains(string(b), "127.0.0.1") {
			t.Errorf("%s while the database is down: %s tells the client where the database is", c.name, b)
		}
	}
	if code, b, err := e.sendWebhook(firstInvoices[0]); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("webhook while the database is down: %d %s %v, want 503 (the bridge retries)", code, b, err)
	}
	code, b, err := e.send("GET", "/readyz", nil, nil)
	if err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while the database is down: %d %s %v, want 503", code, b, err)
	}
	var ready struct {
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	_ = json.Unmarshal(b, &ready)
	if len(ready.Checks) != 1 || ready.Checks[0].Name != "database" || ready.Checks[0].OK ||
		!strings.Contains(ready.Checks[0].Detail, "unreachable") || !strings.Contains(ready.Checks[0].Detail, "connection refused") {
		t.Errorf("/readyz while the database is down: %s, want the one failing check: database unreachable (connection refused)", b)
	}
	// Let the background clients meet the outage too.
	for at := quotes.answered.Load(); quotes.answered.Load() < at+20; {
		time.Sleep(5 * time.Millisecond)
	}

	t.Log("starting the database again")
	srv.Start()

	// Up again, without restarting the daemon.
	for {
		code, _, err := e.send("GET", "/readyz", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusOK {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for at := quotes.answered.Load(); quotes.answered.Load() < at+20; {
		time.Sleep(5 * time.Millisecond)
	}
	t.Log("ready again")
	made.Wait()
	close(results)
	byKey := map[string]orderOut{}
	for b := range results {
		byKey[b.key] = b.order
	}
	close(stop)
	wg.Wait()
	for _, f := range append(buys.failures(), quotes.failures()...) {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}
	if quotes.down.Load() == 0 {
		t.Fatal("no background request met the outage")
	}

	// Pay the orders made around the outage; the bridges deliver (again)
	// for every paid invoice.
	for _, o := range byKey {
		e.pay(o.InvoiceID)
		paid[o.InvoiceID] = true
	}
	for id := range paid {
		if code, b, err := e.sendWebhook(id); err != nil || code != http.StatusAccepted {
			t.Fatalf("webhook after the outage: %d %s %v", code, b, err)
		}
	}
	want := 3 * len(services)
	t.Log("waiting for the paid invoices to be applied")
	for i := 0; ; i++ {
		if i%500 == 0 {
			var states []string
			_ = e.db.Select(&states, "SELECT CONCAT(id, ':', state, ':', attempts) FROM upsell_jobs WHERE kind = 'event' AND state <> 'done'")
			t.Logf("jobs not done yet (id:state:attempts): %v", states)
		}
		var done, dead int
		if err := e.db.Get(&done, "SELECT COUNT(*) FROM upsell_jobs WHERE kind = 'event' AND state = 'done'"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.Get(&dead, "SELECT COUNT(*) FROM upsell_jobs WHERE state = 'dead'"); err != nil {
			t.Fatal(err)
		}
		if dead > 0 {
			var errs []string
			_ = e.db.Select(&errs, "SELECT COALESCE(last_error, '') FROM upsell_jobs WHERE state = 'dead'")
			t.Fatalf("%d jobs dead: %q", dead, errs)
		}
		if done == want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopIntake()
	intakeDone.Wait()

	// Nothing lost, nothing doubled.
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := e.db.Get(&n, q, args...); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct {
		what string
		got  int
		want int
	}{
		{"orders", count("SELECT COUNT(*) FROM ext_micro_upsell_order_addons"), want},
		{"applied orders", count("SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE state = 'applied'"), want},
		{"orders with the key refused while down", count("SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE idempotency_key = ?", downKey), 0},
		{"distinct order invoices", count("SELECT COUNT(DISTINCT invoice_id) FROM ext_micro_upsell_order_addons"), want},
		{"panel invoices made", count("SELECT COUNT(*) FROM invoices") - invoicesBefore, want},
		{"invoices upsell owns", count("SELECT COUNT(*) FROM upsell_panel_invoices"), want},
		{"inbox rows", count("SELECT COUNT(*) FROM upsell_inbox"), want},
		{"paid-invoice jobs", count("SELECT COUNT(*) FROM upsell_jobs WHERE kind = 'event'"), want},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	for _, svc := range services {
		for _, round := range []string{"a", "b", "c"} {
			key := fmt.Sprintf("s%d-%s", svc, round)
			if n := count("SELECT COUNT(*) FROM ext_micro_upsell_order_addons WHERE service_id = ? AND idempotency_key = ?", svc, key); n != 1 {
				t.Errorf("key %s: %d orders, want 1", key, n)
			}
		}
		// Each order applied once: the price rose by the three recurring
		// increases and the server by three times the package.
		var price, increases string
		if err := e.db.Get(&price, "SELECT CAST(price AS CHAR) FROM services WHERE id = ?", svc); err != nil {
			t.Fatal(err)
		}
		if err := e.db.Get(&increases, "SELECT CAST(SUM(recurring_increase) AS CHAR) FROM ext_micro_upsell_order_addons WHERE service_id = ?", svc); err != nil {
			t.Fatal(err)
		}
		if wantPrice := decimal.RequireFromString("10.00").Add(decimal.RequireFromString(increases)); !decimal.RequireFromString(price).Equal(wantPrice) {
			t.Errorf("service %d price %s, want %s (10.00 + %s)", svc, price, wantPrice.StringFixed(2), increases)
		}
		s, ok := e.serverOf(svc)
		if !ok || s.Limits.Memory != 4096+3*1024 {
			t.Errorf("service %d server memory %d, want %d", svc, s.Limits.Memory, 4096+3*1024)
		}
	}
	t.Logf("background requests: %d quotes answered, %d refused with 503; %d purchases answered, %d refused with 503",
		quotes.ok.Load(), quotes.down.Load(), buys.ok.Load(), buys.down.Load())
}
