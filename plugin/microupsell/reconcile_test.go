package microupsell

import (
	"reflect"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// The worked cases start from the e2e seed: a 10.00 EUR monthly service on
// a 4096 MiB, 10240 MiB disk server, which bought +1024 MiB RAM (+2.00 a
// month) and, in some cases, +10240 MiB disk (+1.00).
func TestReconcileDrift(t *testing.T) {
	dec := decimal.RequireFromString
	ram := &holding{amounts: map[hostapi.Resource]int64{hostapi.MemoryMiB: 1024}, increase: dec("2.00")}
	ramDisk := &holding{amounts: map[hostapi.Resource]int64{hostapi.MemoryMiB: 1024, hostapi.DiskMiB: 10240}, increase: dec("3.00")}
	active := func(price string) hostapi.Service {
		return hostapi.Service{ID: 7, UserID: 3, Status: hostapi.ServiceActive, Currency: "EUR", Price: dec(price)}
	}
	exp := func(price string, l hostapi.Limits) expectation { return expectation{Price: dec(price), Limits: l} }
	type want struct {
		kinds    []string // kind/verdict/resource of each finding, in order
		target   hostapi.Target
		price    string // recurring price the fix sets; "" when no plan
		next     *expectation
		remember bool
		restores bool
		cause    bool
	}
	tests := []struct {
		name string
		in   observation
		want want
	}{
		{
			name: "nothing undone",
			in:   observation{held: ram, svc: active("12.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 5120, hostapi.DiskMiB: 10240}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{price: "12.00", next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120}}},
		},
		{
			// Paymenter's calculatePrice(): 10.00 again; 10.00 + 2.00.
			name: "price recomputed",
			in:   observation{held: ram, svc: active("10.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 5120}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"price_recomputed/restorable/"}, price: "12.00", restores: true, remember: true,
				next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120}}},
		},
		{
			// An upgrade to a 15.00 plan: the add-on goes on top, 17.00.
			name: "price recomputed on a new plan",
			in:   observation{held: ram, svc: active("15.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 5120}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"price_recomputed/restorable/"}, price: "17.00", restores: true, remember: true,
				next: &expectation{Price: dec("17.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120}}},
		},
		{
			// The upgrade job PATCHed 4096 back: 4096 + 1024 = 5120.
			name: "limits reset",
			in:   observation{held: ram, svc: active("12.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 4096}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"limit_reset/restorable/memory_mib"}, target: hostapi.Target{hostapi.MemoryMiB: 5120}, price: "12.00", restores: true, remember: true,
				next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120}}},
		},
		{
			// Both at once, two add-ons: disk reset to 10240 -> 20480,
			// memory untouched, price 10.00 + 3.00.
			name: "price and one of two limits",
			in: observation{held: ramDisk, svc: active("10.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 5120, hostapi.DiskMiB: 10240},
				exp: exp("13.00", hostapi.Limits{hostapi.MemoryMiB: 5120, hostapi.DiskMiB: 20480}), known: true},
			want: want{kinds: []string{"limit_reset/restorable/disk_mib", "price_recomputed/restorable/"}, target: hostapi.Target{hostapi.DiskMiB: 20480}, price: "13.00", restores: true, remember: true,
				next: &expectation{Price: dec("13.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120, hostapi.DiskMiB: 20480}}},
		},
		{
			// Reset to a smaller base than before: the add-on goes on top
			// of what the server has, 2048 + 1024.
			name: "limits reset below the old base",
			in:   observation{held: ram, svc: active("12.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 2048}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"limit_reset/restorable/memory_mib"}, target: hostapi.Target{hostapi.MemoryMiB: 3072}, price: "12.00", restores: true, remember: true,
				next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 3072}}},
		},
		{
			// An admin gave 6144: nothing paid for is missing; expected
			// from now on, nothing applied.
			name: "limit raised by an admin",
			in:   observation{held: ram, svc: active("12.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 6144}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"limit_raised/info/memory_mib"}, price: "12.00", remember: true,
				next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 6144}}},
		},
		{
			// Unlimited is above any number: never "restored" to -1 + 1024.
			name: "limit made unlimited",
			in:   observation{held: ram, svc: active("12.00"), cur: hostapi.Limits{hostapi.MemoryMiB: hostapi.Unlimited}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"limit_raised/info/memory_mib"}, price: "12.00", remember: true,
				next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: hostapi.Unlimited}}},
		},
		{
			name: "suspended services are restored too",
			in: observation{held: ram, svc: hostapi.Service{ID: 7, UserID: 3, Status: hostapi.ServiceSuspended, Currency: "EUR", Price: dec("10.00")},
				cur: hostapi.Limits{hostapi.MemoryMiB: 5120}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"price_recomputed/restorable/"}, price: "12.00", restores: true, remember: true,
				next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120}}},
		},
		{
			// Even with the price recomputed: a cancelled service is a
			// refund, not a restoration; the server is not even read.
			name: "cancelled with add-ons",
			in: observation{held: ram, svc: hostapi.Service{ID: 7, UserID: 3, Status: hostapi.ServiceCancelled, Currency: "EUR", Price: dec("10.00")},
				exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"service_inactive/needs_human/"}},
		},
		{
			name: "pending with add-ons",
			in:   observation{held: ram, svc: hostapi.Service{ID: 7, Status: hostapi.ServicePending, Price: dec("12.00")}},
			want: want{kinds: []string{"service_inactive/needs_human/"}},
		},
		{
			name: "service deleted from the panel",
			in:   observation{held: ram, svcErr: hostapi.Errorf(hostapi.CodeNotFound, "paymenter: service 7 not found")},
			want: want{kinds: []string{"service_missing/needs_human/"}},
		},
		{
			name: "panel down",
			in:   observation{held: ram, svcErr: hostapi.Errorf(hostapi.CodeUnavailable, "database is gone")},
			want: want{kinds: []string{"panel_unreachable/error/"}, cause: true},
		},
		{
			name: "adapter unreachable",
			in:   observation{held: ram, svc: active("10.00"), curErr: hostapi.Errorf(hostapi.CodeUnavailable, "pterodactyl: 502"), exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"adapter_unreachable/error/"}, cause: true},
		},
		{
			// Applied before the module kept expectations: the present
			// state becomes the baseline, whatever it is.
			name: "no expectation yet",
			in:   observation{held: ram, svc: active("10.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 4096, hostapi.DiskMiB: 10240}},
			want: want{kinds: []string{"no_baseline/info/"}, remember: true,
				next: &expectation{Price: dec("10.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 4096}}},
		},
		{
			// A second add-on's resource missing from an older expectation:
			// recorded as it is, the known one still checked.
			name: "no expectation for one resource",
			in: observation{held: ramDisk, svc: active("13.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 4096, hostapi.DiskMiB: 20480},
				exp: exp("13.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"no_baseline/info/disk_mib", "limit_reset/restorable/memory_mib"}, target: hostapi.Target{hostapi.MemoryMiB: 5120}, price: "13.00", restores: true, remember: true,
				next: &expectation{Price: dec("13.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120, hostapi.DiskMiB: 20480}}},
		},
		{
			// The configurable-options module downgraded the RAM option
			// 8 GB -> 2 GB on a service holding +1024: it set 3072 (the
			// add-on kept) and 14.00 (the add-on's 2.00 kept). Nothing the
			// client paid for is missing: rebased, nothing applied.
			name: "option downgrade by another module",
			in: observation{held: ram, svc: active("14.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 3072},
				exp: exp("20.00", hostapi.Limits{hostapi.MemoryMiB: 9216}), known: true,
				writes: hostapi.ServiceWrites{ServiceID: 7, Price: &hostapi.PriceWrite{Value: dec("14.00"), Module: "configoptions"},
					Limits: map[hostapi.Resource]hostapi.LimitWrite{hostapi.MemoryMiB: {Value: 3072, Module: "configoptions"}}}},
			want: want{kinds: []string{"moved_by_upsell/info/memory_mib", "moved_by_upsell/info/"}, price: "14.00", remember: true,
				next: &expectation{Price: dec("14.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 3072}}},
		},
		{
			// After that downgrade Paymenter resets the server to the
			// product's 2048 and recomputes 10.00: the panel, not upsell,
			// set both, so the add-on goes back on top: 3072, 12.00.
			name: "panel undoes after another module's change",
			in: observation{held: ram, svc: active("10.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 2048},
				exp: exp("14.00", hostapi.Limits{hostapi.MemoryMiB: 3072}), known: true,
				writes: hostapi.ServiceWrites{ServiceID: 7, Price: &hostapi.PriceWrite{Value: dec("14.00"), Module: "configoptions"},
					Limits: map[hostapi.Resource]hostapi.LimitWrite{hostapi.MemoryMiB: {Value: 3072, Module: "configoptions"}}}},
			want: want{kinds: []string{"limit_reset/restorable/memory_mib", "price_recomputed/restorable/"}, target: hostapi.Target{hostapi.MemoryMiB: 3072},
				price: "12.00", restores: true, remember: true, next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 3072}}},
		},
		{
			// Upsell's record names a value the panel no longer holds (it
			// reset the server after an upgrade): a reset as before.
			name: "upgrade by another module then reset",
			in: observation{held: ram, svc: active("20.00"), cur: hostapi.Limits{hostapi.MemoryMiB: 4096},
				exp: exp("20.00", hostapi.Limits{hostapi.MemoryMiB: 9216}), known: true,
				writes: hostapi.ServiceWrites{ServiceID: 7, Price: &hostapi.PriceWrite{Value: dec("20.00"), Module: "configoptions"},
					Limits: map[hostapi.Resource]hostapi.LimitWrite{hostapi.MemoryMiB: {Value: 9216, Module: "configoptions"}}}},
			want: want{kinds: []string{"limit_reset/restorable/memory_mib"}, target: hostapi.Target{hostapi.MemoryMiB: 5120},
				price: "20.00", restores: true, remember: true, next: &expectation{Price: dec("20.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120}}},
		},
		{
			// Adding 1024 to nothing would be a guess.
			name: "adapter does not report the resource",
			in:   observation{held: ram, svc: active("10.00"), cur: hostapi.Limits{hostapi.DiskMiB: 10240}, exp: exp("12.00", hostapi.Limits{hostapi.MemoryMiB: 5120}), known: true},
			want: want{kinds: []string{"resource_unreported/needs_human/memory_mib", "price_recomputed/restorable/"}, price: "12.00", restores: true, remember: true,
				next: &expectation{Price: dec("12.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.serviceID = 7
			d, p := drift(tc.in)
			var kinds []string
			for _, f := range d.Findings {
				kinds = append(kinds, f.Kind+"/"+string(f.Verdict)+"/"+string(f.Resource))
				if f.Message == "" || f.Outcome != "" {
					t.Errorf("finding %+v: wants a message and no outcome yet", f)
				}
			}
			if !reflect.DeepEqual(kinds, tc.want.kinds) {
				t.Errorf("findings %v, want %v", kinds, tc.want.kinds)
			}
			if !reflect.DeepEqual(p.target, tc.want.target) {
				t.Errorf("target %v, want %v", p.target, tc.want.target)
			}
			if tc.want.price != "" && !p.price.Equal(dec(tc.want.price)) {
				t.Errorf("price %s, want %s", p.price, tc.want.price)
			}
			if p.restores() != tc.want.restores || p.remember != tc.want.remember || (p.cause != nil) != tc.want.cause {
				t.Errorf("restores %v remember %v cause %v, want %v %v %v", p.restores(), p.remember, p.cause, tc.want.restores, tc.want.remember, tc.want.cause)
			}
			if tc.want.next != nil && (!p.next.Price.Equal(tc.want.next.Price) || !limitsEqual(p.next.Limits, tc.want.next.Limits)) {
				t.Errorf("next expectation %s %v, want %s %v", p.next.Price, p.next.Limits, tc.want.next.Price, tc.want.next.Limits)
			}
			if d.ServiceID != 7 || d.AddOnIncrease != tc.in.held.increase.StringFixed(2) || len(d.Limits) != len(tc.in.held.amounts) {
				t.Errorf("report head %+v", d)
			}
		})
	}
}

// The report shows expected and current side by side, for the admin and
// the CLI's table.
func TestReconcileDriftReport(t *testing.T) {
	dec := decimal.RequireFromString
	d, _ := drift(observation{serviceID: 7,
		held: &holding{amounts: map[hostapi.Resource]int64{hostapi.MemoryMiB: 1024, hostapi.DiskMiB: 10240}, increase: dec("3.00")},
		svc:  hostapi.Service{ID: 7, UserID: 3, Status: hostapi.ServiceActive, Currency: "EUR", Price: dec("10.00")},
		cur:  hostapi.Limits{hostapi.MemoryMiB: 4096, hostapi.DiskMiB: 20480},
		exp:  expectation{Price: dec("13.00"), Limits: hostapi.Limits{hostapi.MemoryMiB: 5120, hostapi.DiskMiB: 20480}}, known: true})
	i64 := func(v int64) *int64 { return &v }
	want := serviceDrift{ServiceID: 7, UserID: 3, Status: "active", Currency: "EUR", ExpectedPrice: "13.00", PanelPrice: "10.00", AddOnIncrease: "3.00",
		Limits: []limitView{
			{Resource: hostapi.DiskMiB, AddOns: 10240, Expected: i64(20480), Current: i64(20480)},
			{Resource: hostapi.MemoryMiB, AddOns: 1024, Expected: i64(5120), Current: i64(4096)},
		},
		Findings: []finding{
			{Kind: kindLimitReset, Verdict: Restorable, Resource: hostapi.MemoryMiB, Expected: "5120", Actual: "4096", Repair: "5120",
				Message: "memory_mib 4096 -> 5120 (was 5120 after the add-ons)"},
			{Kind: kindPriceRecomputed, Verdict: Restorable, Expected: "13.00", Actual: "10.00", Repair: "13.00",
				Message: "recurring price 10.00 -> 13.00 EUR (the panel had set 10.00, upsell 13.00)"},
		}}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("report\n%+v\nwant\n%+v", d, want)
	}
}

func TestReconcileAbove(t *testing.T) {
	for _, tc := range []struct {
		a, b int64
		want bool
	}{
		{5120, 4096, true}, {4096, 5120, false}, {5120, 5120, false},
		{hostapi.Unlimited, 5120, true}, {5120, hostapi.Unlimited, false}, {hostapi.Unlimited, hostapi.Unlimited, false},
	} {
		if got := above(tc.a, tc.b); got != tc.want {
			t.Errorf("above(%d, %d) = %v", tc.a, tc.b, got)
		}
	}
}
