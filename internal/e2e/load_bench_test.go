package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// BenchmarkBusySale is a sale as a provider sees one: 200 clients reloading
// their package list and 50 buyers pressing "buy" on their own services,
// all at once for UPSELL_BENCH_LOAD (default 30 s), against the daemon with
// the example config's pool of 10 connections. It reports each kind's
// throughput and p50/p99 latency, and fails on any error, on a buy without
// exactly one order and one invoice, or on a request that took a second
// connection while it held one. (One run per invocation: b.N is not used.)
// UPSELL_BENCH_NO_QUOTES=1 runs the buyers alone, for comparison.
func BenchmarkBusySale(b *testing.B) {
	duration := 30 * time.Second
	if v := os.Getenv("UPSELL_BENCH_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		duration = d
	}
	quoters, buyers := 200, 50
	if os.Getenv("UPSELL_BENCH_NO_QUOTES") != "" {
		quoters = 0
	}
	e := newEnvWith(b, map[string]string{"max_open_orders": "1000000"}, withPool(10))
	pkg := e.createPackage(map[string]any{"name": "+1 MiB", "resource": "memory_mib", "amount": 1, "monthly_prices": map[string]string{"EUR": "0.10"}})
	services := make([]uint64, buyers)
	for i := range services {
		services[i] = e.addService()
	}
	before := e.snapshot()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: quoters + buyers}}

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var mu sync.Mutex
	var buyLat, quoteLat []time.Duration
	var errs atomic.Int64
	var firstErr atomic.Value
	fail := func(format string, args ...any) {
		if errs.Add(1) == 1 {
			firstErr.Store(fmt.Sprintf(format, args...))
		}
	}
	do := func(method, path string, header map[string]string, body []byte, want int) (time.Duration, bool) {
		req, _ := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			fail("%s %s: %v", method, path, err)
			return 0, false
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != want {
			fail("%s %s: %d %s", method, path, resp.StatusCode, msg)
			return took, false
		}
		return took, true
	}
	var wg sync.WaitGroup
	stats := e.db.Stats()
	b.ResetTimer()
	for i := 0; i < quoters; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			header := e.clientOf(services[i%buyers], "")
			var mine []time.Duration
			for ctx.Err() == nil {
				if took, ok := do("GET", "/m/microupsell/packages", header, nil, http.StatusOK); ok {
					mine = append(mine, took)
				}
			}
			mu.Lock()
			quoteLat = append(quoteLat, mine...)
			mu.Unlock()
		}()
	}
	for i, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for n := 0; ctx.Err() == nil; n++ {
				header := e.clientOf(svc, fmt.Sprintf("sale-%d-%d", i, n))
				if took, ok := do("POST", "/m/microupsell/orders", header, []byte(fmt.Sprintf(`{"package_id":%d}`, pkg)), http.StatusCreated); ok {
					mine = append(mine, took)
				}
			}
			mu.Lock()
			buyLat = append(buyLat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	if n := errs.Load(); n > 0 {
		b.Fatalf("%d errors; first: %v", n, firstErr.Load())
	}
	after := e.snapshot()
	if got := after.orders - before.orders; got != len(buyLat) {
		b.Errorf("%d orders for %d buys answered 201", got, len(buyLat))
	}
	if got := after.invoices - before.invoices; got != len(buyLat) {
		b.Errorf("%d invoices for %d buys answered 201", got, len(buyLat))
	}
	if n := e.d.Ops.Breaches(hostapi.RequestOperation); n != 0 {
		b.Errorf("%d host calls of requests took a second connection while holding one", n)
	}
	report := func(name string, lat []time.Duration) {
		if len(lat) == 0 {
			b.Errorf("no %s answered", name)
			return
		}
		slices.Sort(lat)
		at := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		b.ReportMetric(float64(len(lat))/duration.Seconds(), name+"/s")
		b.ReportMetric(float64(at(0.50).Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(at(0.99).Microseconds())/1000, name+"-p99-ms")
	}
	report("buys", buyLat)
	if quoters > 0 {
		report("quotes", quoteLat)
	}
	waited := e.db.Stats()
	if n := waited.WaitCount - stats.WaitCount; n > 0 {
		b.ReportMetric(float64((waited.WaitDuration-stats.WaitDuration).Microseconds())/1000/float64(n), "pool-wait-ms")
		b.ReportMetric(float64(n)/duration.Seconds(), "pool-waits/s")
	}
}
