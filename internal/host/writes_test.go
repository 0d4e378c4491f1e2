package host_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/host"
)

// serverAdapter is a resource adapter holding one server's limits in
// memory; its Apply reports back what it holds, as a real adapter's
// read-back does, capping memory at 6144 MiB to show the record keeps the
// read-back, not the target.
type serverAdapter struct {
	limits hostapi.Limits
	fail   error
}

func (a *serverAdapter) Describe(context.Context) (hostapi.AdapterInfo, error) {
	return hostapi.AdapterInfo{Name: "mem"}, nil
}
func (a *serverAdapter) Configure(context.Context, hostapi.Host, map[string]string) error { return nil }
func (a *serverAdapter) Read(context.Context, hostapi.ServerRef) (hostapi.Limits, error) {
	return a.limits.Clone(), nil
}
func (a *serverAdapter) Apply(_ context.Context, _ hostapi.ServerRef, t hostapi.Target) (hostapi.Applied, error) {
	if a.fail != nil {
		return hostapi.Applied{}, a.fail
	}
	before := a.limits.Clone()
	for r, v := range t {
		if r == hostapi.MemoryMiB && v > 6144 {
			v = 6144
		}
		a.limits[r] = v
	}
	return hostapi.Applied{Before: before, After: a.limits.Clone(), Changed: true}, nil
}
func (a *serverAdapter) CheckCapacity(context.Context, hostapi.ServerRef, hostapi.Target) error {
	return nil
}

type adapterSet map[string]hostapi.Adapter

func (s adapterSet) Adapter(name string) (hostapi.Adapter, error) {
	if a, ok := s[name]; ok {
		return a, nil
	}
	return nil, hostapi.Errorf(hostapi.CodeUnavailable, "no adapter %s", name)
}

// The host records the price and the limits each plugin writes, whichever
// plugin it is, and only what was written: a price change rolled back or
// refused, and an apply that failed, leave no record.
func TestServiceWritesRecordWhatEachPluginWrote(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	server := &serverAdapter{limits: hostapi.Limits{hostapi.MemoryMiB: 4096, hostapi.DiskMiB: 10240}}
	deps := f.deps
	deps.Adapters = adapterSet{"mem": server}
	deps.Router = func(context.Context, uint64) (host.Route, error) { return host.Route{Adapter: "mem"}, nil }
	addons := host.New(deps, "microupsell", "ext_micro_upsell_").Host()
	options := host.New(deps, "configoptions", "ext_configoptions_").Host()
	sid := f.seeded.ServiceID
	price := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }

	w, err := addons.Panel.ServiceWrites(ctx, sid)
	if err != nil || w.Price != nil || len(w.Limits) != 0 {
		t.Fatalf("before any write: %+v %v", w, err)
	}

	// A price set without a transaction, then one set in a module's
	// transaction by another module.
	if _, err := addons.Panel.UpdateRecurringPrice(ctx, "", hostapi.PriceChange{ServiceID: sid, From: price("10.00"), To: price("12.00")}); err != nil {
		t.Fatal(err)
	}
	tx, err := options.Store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := options.Panel.UpdateRecurringPrice(ctx, tx.ID(), hostapi.PriceChange{ServiceID: sid, From: price("12.00"), To: price("16.50")}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Rolled back and refused (a stale From) changes record nothing.
	tx, err = addons.Store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := addons.Panel.UpdateRecurringPrice(ctx, tx.ID(), hostapi.PriceChange{ServiceID: sid, From: price("16.50"), To: price("99.00")}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := addons.Panel.UpdateRecurringPrice(ctx, "", hostapi.PriceChange{ServiceID: sid, From: price("10.00"), To: price("50.00")}); !errors.Is(err, hostapi.ErrConflict) {
		t.Fatalf("stale price change: %v", err)
	}

	// Limits: the read-back is recorded (memory capped at 6144), per
	// resource, by the plugin that applied it; a failed apply records
	// nothing.
	if _, err := addons.Provision.Apply(ctx, sid, hostapi.Target{hostapi.MemoryMiB: 5120, hostapi.DiskMiB: 20480}); err != nil {
		t.Fatal(err)
	}
	if _, err := options.Provision.Apply(ctx, sid, hostapi.Target{hostapi.MemoryMiB: 8192}); err != nil {
		t.Fatal(err)
	}
	server.fail = hostapi.Errorf(hostapi.CodeUnavailable, "panel down")
	if _, err := addons.Provision.Apply(ctx, sid, hostapi.Target{hostapi.DiskMiB: 1024}); !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("failed apply: %v", err)
	}

	w, err = addons.Panel.ServiceWrites(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if w.Price == nil || !w.Price.Value.Equal(price("16.50")) || w.Price.Module != "configoptions" || w.Price.At.IsZero() {
		t.Fatalf("price write %+v, want 16.50 by configoptions", w.Price)
	}
	want := map[hostapi.Resource]hostapi.LimitWrite{
		hostapi.MemoryMiB: {Value: 6144, Module: "configoptions"},
		hostapi.DiskMiB:   {Value: 20480, Module: "microupsell"},
	}
	if len(w.Limits) != len(want) {
		t.Fatalf("limit writes %+v, want %+v", w.Limits, want)
	}
	for r, l := range want {
		got := w.Limits[r]
		if got.Value != l.Value || got.Module != l.Module || got.At.IsZero() {
			t.Errorf("%s write %+v, want %+v", r, got, l)
		}
	}
	var stored string
	if err := f.db.Get(&stored, "SELECT CAST(price AS CHAR) FROM services WHERE id = ?", sid); err != nil || stored != "16.50" {
		t.Fatalf("service price %s (%v)", stored, err)
	}
	// An adapter reads the record through its read-only panel.
	if w, err := host.ReadOnlyPanel(addons.Panel).ServiceWrites(ctx, sid); err != nil || w.Price == nil {
		t.Fatalf("read-only panel: %+v %v", w, err)
	}
}
