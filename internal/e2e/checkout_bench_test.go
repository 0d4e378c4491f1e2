package e2e

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkCheckout places Build-Your-Own orders through the daemon: link
// check, a fresh catalog read, the plan and tax from the panel, and one
// transaction writing the checkout, the panel's order, service, properties
// and first invoice, the selections and the log. Each order has its own
// Idempotency-Key; sequential and with 4 clients at once (the checkouts
// then contend on Paymenter's invoice number).
func BenchmarkCheckout(b *testing.B) {
	e := newEnv(b)
	g := e.createGroup(b, map[string]any{
		"name": "Game server", "mode": "build_your_own", "service_type": "game", "product_ids": []uint64{e.seeded.ProductID},
		"options": []map[string]any{
			{"name": "RAM", "type": "slider", "provisioning_key": "ram_gb", "required": true, "min": 1, "max": 16, "step": 1, "unit": "GB",
				"unit_prices": map[string]string{"monthly": "1.50", "hourly": "0.0020"}},
			{"name": "Storage", "type": "slider", "provisioning_key": "disk_gb", "required": true, "min": 10, "max": 200, "step": 10, "unit": "GB", "sort": 1,
				"unit_prices": map[string]string{"monthly": "0.08", "hourly": "0.0001"}},
		},
	})
	body := map[string]any{"product_id": e.seeded.ProductID, "plan_id": e.seeded.PlanID, "service_type": "game", "currency": "EUR",
		"choices": []map[string]any{{"option_id": g.option(b, "RAM"), "quantity": 4}, {"option_id": g.option(b, "Storage"), "quantity": 50}}}
	var n atomic.Int64
	order := func(b *testing.B) {
		key := fmt.Sprintf("bench-%d", n.Add(1))
		r, err := e.post("/m/configoptions/checkout", withKey(e.userLink(), key), body)
		if err != nil {
			b.Fatal(err)
		}
		if r.code != http.StatusCreated {
			b.Fatalf("checkout: %d %s", r.code, r.body)
		}
	}
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			order(b)
		}
	})
	b.Run("parallel4", func(b *testing.B) {
		b.SetParallelism(2) // 2 x GOMAXPROCS 2 = 4 clients
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				order(b)
			}
		})
	})
	b.StopTimer()
	if got, want := e.count(b, "SELECT COUNT(*) FROM ext_configoptions_checkouts WHERE state = 'awaiting_payment'"), int(n.Load()); got != want {
		b.Fatalf("checkouts: %d, want %d", got, want)
	}
}
