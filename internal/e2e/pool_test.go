package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// TestBuyStormOnATinyPool releases 20 buys at once, each on its own service,
// with quotes in flight, against a daemon whose pool holds 2 connections.
// A request that holds a pooled connection (an open transaction, a lock)
// while it waits for another one deadlocks here: with as many buyers as
// connections nobody can finish.
func TestBuyStormOnATinyPool(t *testing.T) {
	e := newEnvWith(t, map[string]string{"max_apply_attempts": "3"}, withPool(2))
	pkg := e.ramPackage()
	const buyers, quoters = 20, 8
	services := make([]uint64, buyers)
	for i := range services {
		services[i] = e.addService()
	}
	before := e.snapshot()

	// Every request must answer; a deadlock shows as the context's end.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type answer struct {
		what string
		code int
		body string
		err  error
	}
	answers := make(chan answer, buyers+quoters*5)
	start := make(chan struct{})
	var wg sync.WaitGroup
	send := func(what, method, path string, header map[string]string, body []byte) {
		req, _ := http.NewRequestWithContext(ctx, method, e.http.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := e.http.Client().Do(req)
		if err != nil {
			answers <- answer{what: what, err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers <- answer{what: what, code: resp.StatusCode, body: string(b)}
	}
	for i, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			send("buy", "POST", "/m/microupsell/orders", e.clientOf(svc, fmt.Sprintf("storm-%d", i)), []byte(fmt.Sprintf(`{"package_id":%d}`, pkg)))
		}()
	}
	for i := 0; i < quoters; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := 0; j < 5; j++ {
				svc := services[(i*5+j)%buyers]
				send("quote", "GET", "/m/microupsell/packages", e.clientOf(svc, ""), nil)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(answers)

	var buys, quotes int
	for a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("%s: no answer: %v", a.what, a.err)
		case a.what == "buy" && a.code != http.StatusCreated:
			t.Errorf("buy: %d %s", a.code, a.body)
		case a.what == "quote" && a.code != http.StatusOK:
			t.Errorf("quote: %d %s", a.code, a.body)
		case a.what == "buy":
			buys++
		default:
			quotes++
		}
	}
	if buys != buyers || quotes != quoters*5 {
		t.Fatalf("%d of %d buys and %d of %d quotes answered", buys, buyers, quotes, quoters*5)
	}
	after := e.snapshot()
	if got := after.orders - before.orders; got != buyers {
		t.Errorf("%d orders, want %d", got, buyers)
	}
	if got := after.invoices - before.invoices; got != buyers {
		t.Errorf("%d invoices, want %d", got, buyers)
	}
	var perService int
	if err := e.db.Get(&perService, "SELECT COUNT(*) FROM (SELECT service_id FROM ext_micro_upsell_order_addons GROUP BY service_id HAVING COUNT(*) > 1) d"); err != nil {
		t.Fatal(err)
	}
	if perService != 0 {
		t.Errorf("%d services hold more than one order", perService)
	}
	// The rule itself: no request took a second connection while it held
	// one (the host counts each call that would have).
	if n := e.d.Ops.Breaches(hostapi.RequestOperation); n != 0 {
		t.Errorf("%d host calls of requests took a second connection while holding one", n)
	}
}
