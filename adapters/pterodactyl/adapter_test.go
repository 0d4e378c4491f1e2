package pterodactyl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/pterosim"
)

func TestDescribe(t *testing.T) {
	info, err := New().Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "pterodactyl" || !reflect.DeepEqual(info.Panels, []string{"Pterodactyl", "Pelican"}) {
		t.Fatalf("describe: %+v", info)
	}
	for _, r := range []hostapi.Resource{hostapi.MemoryMiB, hostapi.SwapMiB, hostapi.DiskMiB, hostapi.IOWeight,
		hostapi.CPUPercent, hostapi.Databases, hostapi.Backups, hostapi.Ports} {
		if !contains(info.Resources, r) {
			t.Errorf("resource %s not declared", r)
		}
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestFlavorOf(t *testing.T) {
	tests := []struct {
		name    string
		ref     hostapi.ServerRef
		want    flavor
		invalid bool
	}{
		{"pterodactyl key", hostapi.ServerRef{Secret: "ptla_x"}, pterodactylFlavor, false},
		{"pelican key", hostapi.ServerRef{Secret: "papp_x"}, pelicanFlavor, false},
		{"old pelican key", hostapi.ServerRef{Secret: "peli_x"}, pelicanFlavor, false},
		{"option wins over key", hostapi.ServerRef{Secret: "ptla_x", Options: map[string]string{"flavor": "Pelican"}}, pelicanFlavor, false},
		{"explicit pterodactyl", hostapi.ServerRef{Secret: "papp_x", Options: map[string]string{"flavor": "pterodactyl"}}, pterodactylFlavor, false},
		{"unknown flavor", hostapi.ServerRef{Secret: "ptla_x", Options: map[string]string{"flavor": "wisp"}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := flavorOf(tt.ref)
			if tt.invalid {
				if !errors.Is(err, hostapi.ErrInvalid) {
					t.Fatalf("got %v, want CodeInvalid", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v %v, want %v", got, err, tt.want)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		field    string // "" = accepted
	}{
		{"none", nil, ""},
		{"all", map[string]string{
			"request_timeout": "15s", "retry_max": "2", "retry_wait_min": "10ms", "retry_wait_max": "1s",
			"max_retry_after": "30s", "rate_limit_per_minute": "0", "port_attempts": "5", "allocations_per_page": "100",
		}, ""},
		{"unknown key", map[string]string{"request_timeot": "15s"}, "request_timeot"},
		{"bad duration", map[string]string{"request_timeout": "soon"}, "request_timeout"},
		{"negative rate", map[string]string{"rate_limit_per_minute": "-1"}, "rate_limit_per_minute"},
		{"wait bounds swapped", map[string]string{"retry_wait_min": "2s", "retry_wait_max": "1s"}, "retry_wait_min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Configure(context.Background(), hostapi.Host{}, tt.settings)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var he *hostapi.Error
			if !errors.As(err, &he) || he.Code != hostapi.CodeInvalid || he.Field != tt.field {
				t.Fatalf("got %v, want CodeInvalid on %s", err, tt.field)
			}
		})
	}
}

func TestRead(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			p := newPanel(t, f)
			a := New(fastOptions()...)
			want := hostapi.Limits{
				hostapi.MemoryMiB: 2048, hostapi.SwapMiB: 0, hostapi.DiskMiB: 10240, hostapi.IOWeight: 500,
				hostapi.CPUPercent: 100, hostapi.Databases: hostapi.Unlimited, hostapi.Backups: 3, hostapi.Ports: 1,
			}
			for name, ref := range map[string]hostapi.ServerRef{"by id": p.ref(), "by service": p.refByService()} {
				got, err := a.Read(context.Background(), ref)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !maps.Equal(got, want) {
					t.Fatalf("%s: got %v, want %v", name, got, want)
				}
			}
			if c := p.sim.Requests(pterosim.RouteGetServerByExternalID); c != 1 {
				t.Fatalf("external id lookups: %d", c)
			}
			req, _ := p.sim.LastRequest(pterosim.RouteGetServer)
			if req.Header.Get("Accept") != "application/json" || req.Header.Get("Authorization") != "Bearer "+p.key ||
				req.Header.Get("Content-Type") != "application/json" || !strings.Contains(req.URL, "include=allocations") {
				t.Fatalf("request: %s %v", req.URL, req.Header)
			}
		})
	}
}

func TestReadMissingServer(t *testing.T) {
	p := newPanel(t, pterosim.Pterodactyl)
	a := New(fastOptions()...)
	for _, ref := range []hostapi.ServerRef{
		{ServerID: "999", Endpoint: p.http.URL, Secret: p.key},
		{ServiceID: 7, Endpoint: p.http.URL, Secret: p.key},
	} {
		if _, err := a.Read(context.Background(), ref); !errors.Is(err, hostapi.ErrNotFound) {
			t.Fatalf("%v: got %v, want not found", ref, err)
		}
		if _, err := a.Apply(context.Background(), ref, hostapi.Target{hostapi.MemoryMiB: 1}); !errors.Is(err, hostapi.ErrNotFound) {
			t.Fatalf("%v: got %v, want not found", ref, err)
		}
	}
}

// TestApplyKeepsEveryOtherField: the build endpoint replaces everything, so
// every value outside the target must come back unchanged.
func TestApplyKeepsEveryOtherField(t *testing.T) {
	tests := []struct {
		name   string
		target hostapi.Target
		// edit turns the starting server into the expected one.
		edit func(*pterosim.Server)
	}{
		{"memory", hostapi.Target{hostapi.MemoryMiB: 4096}, func(s *pterosim.Server) { s.Limits.Memory = 4096 }},
		{"disk and cpu", hostapi.Target{hostapi.DiskMiB: 20480, hostapi.CPUPercent: 250},
			func(s *pterosim.Server) { s.Limits.Disk, s.Limits.CPU = 20480, 250 }},
		{"swap unlimited", hostapi.Target{hostapi.SwapMiB: -1}, func(s *pterosim.Server) { s.Limits.Swap = -1 }},
		{"io", hostapi.Target{hostapi.IOWeight: 800}, func(s *pterosim.Server) { s.Limits.IO = 800 }},
		{"databases from unlimited to 3", hostapi.Target{hostapi.Databases: 3},
			func(s *pterosim.Server) { s.FeatureLimits.Databases = ptr(3) }},
		{"backups to 0", hostapi.Target{hostapi.Backups: 0}, func(s *pterosim.Server) { s.FeatureLimits.Backups = 0 }},
		{"memory with ports in place", hostapi.Target{hostapi.MemoryMiB: 3072, hostapi.Ports: 1},
			func(s *pterosim.Server) { s.Limits.Memory = 3072 }},
	}
	for _, f := range flavors {
		for _, tt := range tests {
			t.Run(f.String()+"/"+tt.name, func(t *testing.T) {
				p := newPanel(t, f)
				want := p.state(t)
				tt.edit(&want)
				got, err := New(fastOptions()...).Apply(context.Background(), p.ref(), tt.target)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Changed || !got.After.Satisfies(tt.target) || got.Before[hostapi.MemoryMiB] != 2048 {
					t.Fatalf("applied: %+v", got)
				}
				if !maps.Equal(got.After, p.limits(t)) {
					t.Fatalf("After %v, panel holds %v", got.After, p.limits(t))
				}
				have := p.state(t)
				want.UpdatedAt = have.UpdatedAt
				if !reflect.DeepEqual(have, want) {
					t.Fatalf("server after apply:\n got %+v\nwant %+v", have, want)
				}
				// Exactly a GET and a PATCH.
				counts := p.sim.RequestCounts()
				if want := map[string]int{pterosim.RouteGetServer: 1, pterosim.RouteUpdateBuild: 1}; !maps.Equal(counts, want) {
					t.Fatalf("requests %v, want %v", counts, want)
				}
				checkBuildBody(t, p)
			})
		}
	}
}

// checkBuildBody checks the shape of the last PATCH: the full state in the
// limits object, the flavor's OOM field, all feature limits, the primary.
func checkBuildBody(t *testing.T, p *panel) {
	t.Helper()
	req, ok := p.sim.LastRequest(pterosim.RouteUpdateBuild)
	if !ok {
		t.Fatal("no PATCH")
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, flat := range []string{"memory", "swap", "disk", "io", "cpu", "threads"} {
		if _, sent := body[flat]; sent {
			t.Errorf("flat field %q sent", flat)
		}
	}
	oom, otherOOM := "oom_disabled", "oom_killer"
	if p.flavor == pterosim.Pelican {
		oom, otherOOM = otherOOM, oom
	}
	if _, sent := body[oom]; !sent {
		t.Errorf("%s not sent", oom)
	}
	if _, sent := body[otherOOM]; sent {
		t.Errorf("%s sent to %s", otherOOM, p.flavor)
	}
	if string(body["allocation"]) != fmt.Sprint(p.primary) {
		t.Errorf("allocation %s, want the primary %d", body["allocation"], p.primary)
	}
	var limits, features map[string]json.RawMessage
	_ = json.Unmarshal(body["limits"], &limits)
	_ = json.Unmarshal(body["feature_limits"], &features)
	for _, k := range []string{"memory", "swap", "disk", "io", "cpu", "threads"} {
		if _, sent := limits[k]; !sent {
			t.Errorf("limits.%s not sent", k)
		}
	}
	for _, k := range []string{"databases", "allocations", "backups"} {
		if _, sent := features[k]; !sent {
			t.Errorf("feature_limits.%s not sent", k)
		}
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
}

func TestApplyNoOpWhenInPlace(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			p := newPanel(t, f)
			target := hostapi.Target{hostapi.MemoryMiB: 2048, hostapi.Databases: hostapi.Unlimited, hostapi.Ports: 1}
			got, err := New(fastOptions()...).Apply(context.Background(), p.ref(), target)
			if err != nil {
				t.Fatal(err)
			}
			if got.Changed || !maps.Equal(got.Before, got.After) {
				t.Fatalf("applied: %+v", got)
			}
			if n := p.totalRequests(); n != 1 {
				t.Fatalf("%d requests, want 1: %v", n, p.sim.RequestCounts())
			}
		})
	}
}

func TestApplyByServiceIDCostsTwoRequests(t *testing.T) {
	p := newPanel(t, pterosim.Pterodactyl)
	a := New(fastOptions()...)
	if _, err := a.Apply(context.Background(), p.refByService(), hostapi.Target{hostapi.MemoryMiB: 4096}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{pterosim.RouteGetServerByExternalID: 1, pterosim.RouteUpdateBuild: 1}
	if counts := p.sim.RequestCounts(); !maps.Equal(counts, want) {
		t.Fatalf("requests %v, want %v", counts, want)
	}
	// The same target again is a no-op found by one lookup.
	got, err := a.Apply(context.Background(), p.refByService(), hostapi.Target{hostapi.MemoryMiB: 4096})
	if err != nil || got.Changed {
		t.Fatalf("second apply: %+v %v", got, err)
	}
	if n := p.sim.Requests(pterosim.RouteGetServerByExternalID); n != 2 || p.sim.Requests(pterosim.RouteUpdateBuild) != 1 {
		t.Fatalf("requests %v", p.sim.RequestCounts())
	}
}

func TestApplyPorts(t *testing.T) {
	tests := []struct {
		name      string
		opts      []panelOption
		target    int64
		wantLimit *int // feature_limits.allocations afterwards
	}{
		{"two more, limit above stays", nil, 3, ptr(5)},
		{"one more, null limit set", []panelOption{withServer(func(s *pterosim.Server) { s.FeatureLimits.Allocations = nil })}, 2, ptr(2)},
		{"three more, limit raised", []panelOption{withServer(func(s *pterosim.Server) { s.FeatureLimits.Allocations = ptr(1) })}, 4, ptr(4)},
	}
	for _, f := range flavors {
		for _, tt := range tests {
			t.Run(f.String()+"/"+tt.name, func(t *testing.T) {
				p := newPanel(t, f, tt.opts...)
				before := p.state(t)
				got, err := New(fastOptions()...).Apply(context.Background(), p.ref(), hostapi.Target{hostapi.Ports: tt.target})
				if err != nil {
					t.Fatal(err)
				}
				if got.After[hostapi.Ports] != tt.target || p.limits(t)[hostapi.Ports] != tt.target {
					t.Fatalf("after %v, panel %v", got.After, p.limits(t))
				}
				after := p.state(t)
				// The primary's IP first: .1:25566 and .1:25567 before .2:25565.
				wantAdded := append(append([]int{}, p.sameIP...), p.otherIP)[:tt.target-1]
				if !sameSet(after.AdditionalAllocations, wantAdded) {
					t.Fatalf("attached %v, want %v", after.AdditionalAllocations, wantAdded)
				}
				if !reflect.DeepEqual(after.FeatureLimits.Allocations, tt.wantLimit) {
					t.Fatalf("allocation limit %v, want %v", deref(after.FeatureLimits.Allocations), deref(tt.wantLimit))
				}
				if after.AllocationID != before.AllocationID || !reflect.DeepEqual(after.Limits, before.Limits) {
					t.Fatalf("primary or limits changed: %+v", after)
				}
				want := map[string]int{pterosim.RouteGetServer: 1, pterosim.RouteListNodeAllocations: 1, pterosim.RouteUpdateBuild: 1}
				if counts := p.sim.RequestCounts(); !maps.Equal(counts, want) {
					t.Fatalf("requests %v, want %v", counts, want)
				}
				list, _ := p.sim.LastRequest(pterosim.RouteListNodeAllocations)
				if !strings.Contains(list.URL, "filter%5Bserver_id%5D=0") {
					t.Fatalf("free allocations listed with %s", list.URL)
				}
			})
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[int]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x]--; seen[x] < 0 {
			return false
		}
	}
	return true
}

func TestApplyPortStolenRetriesOtherPort(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			p := newPanel(t, f)
			// Another request wins the first pick just before the PATCH.
			p.sim.StealOnNextBuild(999, p.sameIP[0])
			got, err := New(fastOptions()...).Apply(context.Background(), p.ref(),
				hostapi.Target{hostapi.Ports: 2, hostapi.MemoryMiB: 3072})
			if err != nil {
				t.Fatal(err)
			}
			if got.After[hostapi.Ports] != 2 || !got.Changed {
				t.Fatalf("applied %+v", got)
			}
			s := p.state(t)
			if !sameSet(s.AdditionalAllocations, []int{p.sameIP[1]}) || s.Limits.Memory != 3072 {
				t.Fatalf("server %+v", s)
			}
			if n := p.sim.Requests(pterosim.RouteUpdateBuild); n != 2 {
				t.Fatalf("%d PATCHes, want 2", n)
			}
		})
	}
}

func TestApplyPortsTakenEveryTime(t *testing.T) {
	var current atomic.Pointer[panel]
	thief := withHandler(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p := current.Load(); r.Method == http.MethodPatch {
				p.sim.StealOnNextBuild(999, append(append([]int{}, p.sameIP...), p.otherIP)...)
			}
			next.ServeHTTP(w, r)
		})
	})
	p := newPanel(t, pterosim.Pterodactyl, thief, withFreeAllocations(func(sim *pterosim.Sim, node int) {
		// More free ports, which the thief does not know about.
		if _, err := sim.AddAllocations(node, "10.0.0.3", 30000, 30001, 30002); err != nil {
			t.Fatal(err)
		}
	}))
	current.Store(p)
	_, err := New(fastOptions(WithPortAttempts(2))...).Apply(context.Background(), p.ref(), hostapi.Target{hostapi.Ports: 3})
	if !errors.Is(err, hostapi.ErrConflict) {
		t.Fatalf("got %v, want conflict", err)
	}
	if n := p.sim.Requests(pterosim.RouteUpdateBuild); n != 2 {
		t.Fatalf("%d PATCHes, want 2 (port_attempts)", n)
	}
}

func TestApplyNoFreePorts(t *testing.T) {
	tests := []struct {
		name   string
		opts   []panelOption
		target int64
	}{
		{"node has none", []panelOption{withoutFreeAllocations()}, 2},
		{"node has too few", nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPanel(t, pterosim.Pterodactyl, tt.opts...)
			before := p.state(t)
			_, err := New(fastOptions()...).Apply(context.Background(), p.ref(),
				hostapi.Target{hostapi.Ports: tt.target, hostapi.MemoryMiB: 4096})
			if !errors.Is(err, hostapi.ErrCapacity) || !strings.Contains(err.Error(), "free allocation") {
				t.Fatalf("got %v, want a capacity error about free allocations", err)
			}
			if after := p.state(t); !reflect.DeepEqual(after, before) {
				t.Fatalf("server changed:\n%+v\n%+v", before, after)
			}
			if n := p.sim.Requests(pterosim.RouteUpdateBuild); n != 0 {
				t.Fatalf("%d PATCHes", n)
			}
		})
	}
}

func TestApplyPaginatesFreeAllocations(t *testing.T) {
	var sameIP []int
	p := newPanel(t, pterosim.Pterodactyl, withoutFreeAllocations(), withFreeAllocations(func(sim *pterosim.Sim, node int) {
		// Four on another IP come first in id order, the primary's IP last.
		if _, err := sim.AddAllocations(node, "10.0.0.9", 26000, 26001, 26002, 26003); err != nil {
			t.Fatal(err)
		}
		var err error
		if sameIP, err = sim.AddAllocations(node, "10.0.0.1", 27000, 27001); err != nil {
			t.Fatal(err)
		}
	}))
	_, err := New(fastOptions(WithAllocationsPerPage(2))...).Apply(context.Background(), p.ref(), hostapi.Target{hostapi.Ports: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.state(t); !sameSet(s.AdditionalAllocations, sameIP) {
		t.Fatalf("attached %v, want %v", s.AdditionalAllocations, sameIP)
	}
	if n := p.sim.Requests(pterosim.RouteListNodeAllocations); n != 3 {
		t.Fatalf("%d list requests, want 3 pages", n)
	}
	last, _ := p.sim.LastRequest(pterosim.RouteListNodeAllocations)
	if !strings.Contains(last.URL, "page=3") || !strings.Contains(last.URL, "per_page=2") {
		t.Fatalf("last page request %s", last.URL)
	}
}

func TestApplyRefusesFewerPorts(t *testing.T) {
	p := newPanel(t, pterosim.Pterodactyl)
	a := New(fastOptions()...)
	if _, err := a.Apply(context.Background(), p.ref(), hostapi.Target{hostapi.Ports: 2}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Apply(context.Background(), p.ref(), hostapi.Target{hostapi.Ports: 1})
	var he *hostapi.Error
	if !errors.As(err, &he) || he.Code != hostapi.CodeInvalid || he.Field != "ports" {
		t.Fatalf("got %v, want CodeInvalid on ports", err)
	}
	if n := p.sim.Requests(pterosim.RouteUpdateBuild); n != 1 {
		t.Fatalf("%d PATCHes", n)
	}
}

func TestApplyInvalidTarget(t *testing.T) {
	tests := []struct {
		name   string
		target hostapi.Target
		field  string
	}{
		{"unknown resource", hostapi.Target{"gpu_count": 1}, "gpu_count"},
		{"resource of another adapter", hostapi.Target{hostapi.TrafficGB: 100}, "traffic_gb"},
		{"negative memory", hostapi.Target{hostapi.MemoryMiB: -1}, "memory_mib"},
		{"swap below unlimited", hostapi.Target{hostapi.SwapMiB: -2}, "swap_mib"},
		{"no ports", hostapi.Target{hostapi.Ports: 0}, "ports"},
		{"empty", hostapi.Target{}, "target"},
	}
	p := newPanel(t, pterosim.Pterodactyl)
	a := New(fastOptions()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Apply(context.Background(), p.ref(), tt.target)
			var he *hostapi.Error
			if !errors.As(err, &he) || he.Code != hostapi.CodeInvalid || he.Field != tt.field {
				t.Fatalf("got %v, want CodeInvalid on %s", err, tt.field)
			}
		})
	}
	if n := p.totalRequests(); n != 0 {
		t.Fatalf("%d requests for invalid targets", n)
	}
}

func TestApplyPanelRefusesValue(t *testing.T) {
	tests := []struct {
		flavor pterosim.Flavor
		io     int64
	}{
		{pterosim.Pterodactyl, 5}, // 10..1000
		{pterosim.Pelican, 1001},  // 0..1000
	}
	for _, tt := range tests {
		t.Run(tt.flavor.String(), func(t *testing.T) {
			p := newPanel(t, tt.flavor)
			before := p.state(t)
			_, err := New(fastOptions()...).Apply(context.Background(), p.ref(), hostapi.Target{hostapi.IOWeight: tt.io})
			var he *hostapi.Error
			if !errors.As(err, &he) || he.Code != hostapi.CodeInvalid || he.Field != "limits.io" ||
				!strings.Contains(he.Message, "between") {
				t.Fatalf("got %#v, want CodeInvalid on limits.io with the panel's message", err)
			}
			if !reflect.DeepEqual(p.state(t), before) {
				t.Fatal("server changed")
			}
			if n := p.sim.Requests(pterosim.RouteUpdateBuild); n != 1 {
				t.Fatalf("a 422 was retried: %d PATCHes", n)
			}
		})
	}
}

func TestApplyRetriesAfter429(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			var current atomic.Pointer[panel]
			// The GET uses up the window; the PATCH is refused with a 429
			// whose Retry-After runs to the window's end. Time moves on
			// when the 429 goes out, so the retry finds a fresh window.
			advance := withHandler(statusHook(func(status int) {
				if status == http.StatusTooManyRequests {
					current.Load().clock.Advance(time.Minute)
				}
			}))
			p := newPanel(t, f, withRateLimit(pterosim.RateLimit{Limit: 1}), advance)
			current.Store(p)
			a := New(fastOptions(WithMaxRetryAfter(time.Millisecond))...)
			got, err := a.Apply(context.Background(), p.ref(), hostapi.Target{hostapi.MemoryMiB: 4096})
			if err != nil || !got.Changed {
				t.Fatalf("apply: %+v %v", got, err)
			}
			if p.sim.Throttled() != 1 || p.sim.Requests(pterosim.RouteUpdateBuild) != 2 || p.sim.Requests(pterosim.RouteGetServer) != 1 {
				t.Fatalf("throttled %d, requests %v", p.sim.Throttled(), p.sim.RequestCounts())
			}
			if p.state(t).Limits.Memory != 4096 {
				t.Fatal("not applied")
			}
		})
	}
}

func TestApplyRidesOut5xx(t *testing.T) {
	tests := []struct {
		name      string
		fault     pterosim.Fault
		wantCount map[string]int
	}{
		{"proxy errors on the read", pterosim.Fault{Method: http.MethodGet, Status: http.StatusBadGateway, Count: 2},
			map[string]int{pterosim.RouteGetServer: 3, pterosim.RouteUpdateBuild: 1}},
		{"worker crash on the update", pterosim.Fault{Method: http.MethodPatch, Status: http.StatusInternalServerError, Count: 1},
			// The failed PATCH is followed by a GET to see whether it applied.
			map[string]int{pterosim.RouteGetServer: 2, pterosim.RouteUpdateBuild: 2}},
		{"gateway timeouts on the update", pterosim.Fault{Method: http.MethodPatch, Status: http.StatusGatewayTimeout, Count: 2},
			map[string]int{pterosim.RouteGetServer: 3, pterosim.RouteUpdateBuild: 3}},
	}
	for _, f := range flavors {
		for _, tt := range tests {
			t.Run(f.String()+"/"+tt.name, func(t *testing.T) {
				p := newPanel(t, f)
				p.sim.InjectFault(tt.fault)
				got, err := New(fastOptions()...).Apply(context.Background(), p.ref(), hostapi.Target{hostapi.MemoryMiB: 4096})
				if err != nil || !got.Changed || got.After[hostapi.MemoryMiB] != 4096 {
					t.Fatalf("apply: %+v %v", got, err)
				}
				if counts := p.sim.RequestCounts(); !maps.Equal(counts, tt.wantCount) {
					t.Fatalf("requests %v, want %v", counts, tt.wantCount)
				}
			})
		}
	}
}

func TestApplyGivesUpOnPersistent5xx(t *testing.T) {
	const retries = 3
	tests := []struct {
		name  string
		fault pterosim.Fault
		// reads and patches expected: bounded attempts
		wantGets, wantPatches int
	}{
		{"panel down", pterosim.Fault{Status: http.StatusServiceUnavailable, Count: 1000}, retries + 1, 0},
		{"update always fails", pterosim.Fault{Method: http.MethodPatch, Status: http.StatusInternalServerError, Count: 1000},
			retries + 2, retries + 1},
	}
	for _, f := range flavors {
		for _, tt := range tests {
			t.Run(f.String()+"/"+tt.name, func(t *testing.T) {
				p := newPanel(t, f)
				before := p.state(t)
				p.sim.InjectFault(tt.fault)
				_, err := New(fastOptions()...).Apply(context.Background(), p.ref(), hostapi.Target{hostapi.MemoryMiB: 4096})
				if !errors.Is(err, hostapi.ErrUnavailable) {
					t.Fatalf("got %v, want unavailable", err)
				}
				if !reflect.DeepEqual(p.state(t), before) {
					t.Fatal("server changed")
				}
				if g, u := p.sim.Requests(pterosim.RouteGetServer), p.sim.Requests(pterosim.RouteUpdateBuild); g != tt.wantGets || u != tt.wantPatches {
					t.Fatalf("%d GETs and %d PATCHes, want %d and %d", g, u, tt.wantGets, tt.wantPatches)
				}
			})
		}
	}
}

// TestApplyWingsSyncFailure: Pelican answers 500 after committing when the
// Wings sync fails; Pterodactyl swallows the failure. Neither needs a second
// PATCH.
func TestApplyWingsSyncFailure(t *testing.T) {
	tests := []struct {
		flavor pterosim.Flavor
		gets   int
	}{
		{pterosim.Pterodactyl, 1},
		{pterosim.Pelican, 2}, // the GET after the 500 finds the target in place
	}
	for _, tt := range tests {
		t.Run(tt.flavor.String(), func(t *testing.T) {
			p := newPanel(t, tt.flavor)
			p.sim.FailWingsSync(1)
			got, err := New(fastOptions()...).Apply(context.Background(), p.ref(),
				hostapi.Target{hostapi.MemoryMiB: 4096, hostapi.Ports: 2})
			if err != nil || !got.Changed || got.After[hostapi.MemoryMiB] != 4096 || got.After[hostapi.Ports] != 2 {
				t.Fatalf("apply: %+v %v", got, err)
			}
			if u, g := p.sim.Requests(pterosim.RouteUpdateBuild), p.sim.Requests(pterosim.RouteGetServer); u != 1 || g != tt.gets {
				t.Fatalf("%d PATCHes and %d GETs, want 1 and %d", u, g, tt.gets)
			}
		})
	}
}

func TestRedirectTrap(t *testing.T) {
	tests := []struct {
		name     string
		location string
		code     hostapi.Code
		field    string
		mention  string
	}{
		{"login page", "/auth/login", hostapi.CodePermission, "", "login page"},
		{"another host", "https://panel.example.com/api/application/servers/1", hostapi.CodeInvalid, "endpoint", "redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits int
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits++
				mu.Unlock()
				http.Redirect(w, r, tt.location, http.StatusFound)
			}))
			defer srv.Close()
			ref := hostapi.ServerRef{ServerID: "1", Endpoint: srv.URL, Secret: pterodactylKey}
			_, err := New(fastOptions()...).Apply(context.Background(), ref, hostapi.Target{hostapi.MemoryMiB: 4096})
			var he *hostapi.Error
			if !errors.As(err, &he) || he.Code != tt.code || he.Field != tt.field || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("got %v (%#v)", err, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if hits != 1 {
				t.Fatalf("%d requests: the redirect was followed or retried", hits)
			}
		})
	}
}

func TestApplyHonoursCancellation(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			p := newPanel(t, f)
			before := p.state(t)
			p.sim.SetLatency(time.Hour)
			defer p.sim.SetLatency(0)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := New(fastOptions()...).Apply(ctx, p.ref(), hostapi.Target{hostapi.MemoryMiB: 4096})
				done <- err
			}()
			// Cancel once the (slow) read is in flight.
			waitFor(t, context.Background(), func() bool { return p.sim.Requests(pterosim.RouteGetServer) == 1 })
			cancel()
			err := <-done
			if !errors.Is(err, context.Canceled) || !errors.Is(err, hostapi.ErrUnavailable) {
				t.Fatalf("got %v, want a cancellation", err)
			}
			if !reflect.DeepEqual(p.state(t), before) {
				t.Fatal("server changed")
			}
		})
	}
}

func TestRequestTimeout(t *testing.T) {
	p := newPanel(t, pterosim.Pterodactyl)
	p.sim.SetLatency(time.Hour)
	defer p.sim.SetLatency(0)
	a := New(fastOptions(WithRequestTimeout(20*time.Millisecond), WithRetries(1, time.Millisecond, time.Millisecond))...)
	_, err := a.Read(context.Background(), p.ref())
	if !errors.Is(err, hostapi.ErrUnavailable) || errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want unavailable", err)
	}
	if n := p.sim.Requests(pterosim.RouteGetServer); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

func TestPermissionErrors(t *testing.T) {
	p := newPanel(t, pterosim.Pterodactyl)
	a := New(fastOptions()...)
	ref := p.ref()
	ref.Secret = "ptla_" + strings.Repeat("x", 43) // unknown to the panel
	if _, err := a.Read(context.Background(), ref); !errors.Is(err, hostapi.ErrPermission) {
		t.Fatalf("got %v, want permission denied", err)
	}
	if n := p.sim.Requests(pterosim.RouteGetServer); n != 1 {
		t.Fatalf("a 401 was retried: %d", n)
	}
}

// TestKeyNeverInErrors provokes every kind of error, including a panel that
// echoes the Authorization header back, and looks for the key in the
// errors and the logs.
func TestKeyNeverInErrors(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := hclog.New(&hclog.LoggerOptions{Output: &lockedWriter{w: &logs, mu: &logMu}, Level: hclog.Trace})
	a := New(fastOptions(WithLogger(logger))...)
	ctx := context.Background()
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Errorf("expected an error")
			return
		}
		errs = append(errs, err)
	}
	for _, f := range flavors {
		p := newPanel(t, f)
		ref := p.ref()
		_, err := a.Read(ctx, hostapi.ServerRef{ServerID: "999", Endpoint: p.http.URL, Secret: p.key})
		collect(err)
		_, err = a.Apply(ctx, ref, hostapi.Target{hostapi.IOWeight: 5000})
		collect(err)
		_, err = a.Apply(ctx, ref, hostapi.Target{hostapi.Ports: 10})
		collect(err)
		collect(a.CheckCapacity(ctx, ref, hostapi.Target{hostapi.MemoryMiB: 1 << 30}))
		p.sim.InjectFault(pterosim.Fault{Method: http.MethodPatch, Count: 100})
		_, err = a.Apply(ctx, ref, hostapi.Target{hostapi.MemoryMiB: 4096})
		collect(err)
		p.sim.InjectFault(pterosim.Fault{Status: http.StatusBadGateway, Count: 100})
		_, err = a.Read(ctx, ref)
		collect(err)
		bad := ref
		bad.Secret = "ptla_" + strings.Repeat("y", 43)
		_, err = a.Read(ctx, bad)
		if err == nil || strings.Contains(err.Error(), bad.Secret) {
			t.Errorf("wrong key leaked or accepted: %v", err)
		}
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		auth := r.Header.Get("Authorization")
		fmt.Fprintf(w, `{"errors":[{"code":"ValidationException","status":"422","detail":"bad token %s","meta":{"source_field":"%s","rule":"x"}}]}`, auth, auth)
	}))
	defer echo.Close()
	_, err := a.Read(ctx, hostapi.ServerRef{ServerID: "1", Endpoint: echo.URL, Secret: pterodactylKey})
	collect(err)
	if !errors.Is(err, hostapi.ErrInvalid) {
		t.Errorf("echoing panel: %v", err)
	}

	for _, err := range errs {
		var he *hostapi.Error
		if !errors.As(err, &he) {
			t.Errorf("untyped error %v", err)
			continue
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), he.Field} {
			if strings.Contains(text, pterodactylKey) || strings.Contains(text, pelicanKey) {
				t.Errorf("key in error: %s", text)
			}
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if logs.Len() == 0 {
		t.Error("nothing logged: the log check checked nothing")
	}
	if strings.Contains(logs.String(), pterodactylKey) || strings.Contains(logs.String(), pelicanKey) {
		t.Errorf("key in logs:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestConcurrentAppliesDoNotLoseUpdates: each apply changes one resource of
// the same server; with a full-replace API, only serialization keeps all of
// them. Half the callers find the server by service id.
func TestConcurrentAppliesDoNotLoseUpdates(t *testing.T) {
	for _, f := range flavors {
		t.Run(f.String(), func(t *testing.T) {
			p := newPanel(t, f)
			a := New(fastOptions()...)
			targets := []hostapi.Target{
				{hostapi.MemoryMiB: 4096}, {hostapi.DiskMiB: 20480}, {hostapi.CPUPercent: 300},
				{hostapi.SwapMiB: 512}, {hostapi.Databases: 2}, {hostapi.Backups: 7}, {hostapi.Ports: 2}, {hostapi.IOWeight: 900},
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(targets))
			for i, target := range targets {
				ref := p.ref()
				if i%2 == 1 {
					ref = p.refByService()
				}
				wg.Go(func() {
					_, err := a.Apply(context.Background(), ref, target)
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			got := p.limits(t)
			for _, target := range targets {
				if !got.Satisfies(target) {
					t.Fatalf("lost update %v: panel holds %v", target, got)
				}
			}
		})
	}
}

func TestCheckCapacity(t *testing.T) {
	tests := []struct {
		name     string
		overMem  int
		overDisk int
		target   hostapi.Target
		fits     bool
	}{
		// Node: 8192 MiB memory, 40000 MiB disk; servers: ours (2048 MiB,
		// 10240 MiB) and another (4096 MiB, 20000 MiB).
		{"memory up to the total", 0, 0, hostapi.Target{hostapi.MemoryMiB: 4096}, true},
		{"memory one over", 0, 0, hostapi.Target{hostapi.MemoryMiB: 4097}, false},
		{"memory with 50% overallocation", 50, 0, hostapi.Target{hostapi.MemoryMiB: 8192}, true},
		{"memory over 50% overallocation", 50, 0, hostapi.Target{hostapi.MemoryMiB: 8193}, false},
		{"overallocate -1 follows the panel's rule (99%)", -1, 0, hostapi.Target{hostapi.MemoryMiB: 4096}, false},
		{"disk up to the total", 0, 0, hostapi.Target{hostapi.DiskMiB: 20000}, true},
		{"disk one over", 0, 0, hostapi.Target{hostapi.DiskMiB: 20001}, false},
		{"decrease always fits", -50, -50, hostapi.Target{hostapi.MemoryMiB: 1024, hostapi.DiskMiB: 1024}, true},
		{"other resources are not counted", 0, 0, hostapi.Target{hostapi.CPUPercent: 10000}, true},
		{"free ports", 0, 0, hostapi.Target{hostapi.Ports: 4}, true},
		{"too few free ports", 0, 0, hostapi.Target{hostapi.Ports: 5}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPanel(t, pterosim.Pterodactyl, withNode(func(n *pterosim.Node) {
				n.Memory, n.Disk, n.MemoryOverallocate, n.DiskOverallocate = 8192, 40000, tt.overMem, tt.overDisk
			}))
			other, err := p.sim.AddAllocations(p.node, "10.0.0.5", 28000)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.sim.AddServer(pterosim.Server{NodeID: p.node, AllocationID: other[0],
				Limits: pterosim.Limits{Memory: 4096, Disk: 20000, IO: 500}}); err != nil {
				t.Fatal(err)
			}
			err = New(fastOptions()...).CheckCapacity(context.Background(), p.ref(), tt.target)
			if tt.fits {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, hostapi.ErrCapacity) {
				t.Fatalf("got %v, want capacity", err)
			}
			t.Log(err)
		})
	}
}

// TestApplyDetectsTargetNotHeld: a panel (or a proxy) that stores something
// else than what was sent must not be reported as a success.
func TestApplyDetectsTargetNotHeld(t *testing.T) {
	clamp := withHandler(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				var body map[string]any
				_ = json.NewDecoder(r.Body).Decode(&body)
				body["limits"].(map[string]any)["memory"] = 3000
				data, _ := json.Marshal(body)
				r.Body = io.NopCloser(bytes.NewReader(data))
				r.ContentLength = int64(len(data))
			}
			next.ServeHTTP(w, r)
		})
	})
	p := newPanel(t, pterosim.Pterodactyl, clamp)
	_, err := New(fastOptions()...).Apply(context.Background(), p.ref(), hostapi.Target{hostapi.MemoryMiB: 4096, hostapi.DiskMiB: 20480})
	if !errors.Is(err, hostapi.ErrConflict) || !strings.Contains(err.Error(), "memory_mib (want 4096, panel has 3000)") ||
		strings.Contains(err.Error(), "disk_mib") {
		t.Fatalf("got %v, want a conflict naming memory_mib only", err)
	}
}

// TestApplyWhenBuildReplyLacksAllocations: the reply is checked for the
// attached ports; without them in it, one GET looks, and only then.
func TestApplyWhenBuildReplyLacksAllocations(t *testing.T) {
	dropInclude := withHandler(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				r.URL.RawQuery = ""
			}
			next.ServeHTTP(w, r)
		})
	})
	tests := []struct {
		name   string
		target hostapi.Target
		gets   int
	}{
		{"no ports: the reply suffices", hostapi.Target{hostapi.MemoryMiB: 4096}, 1},
		{"ports: one GET to see them", hostapi.Target{hostapi.Ports: 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPanel(t, pterosim.Pterodactyl, dropInclude)
			got, err := New(fastOptions()...).Apply(context.Background(), p.ref(), tt.target)
			if err != nil || !maps.Equal(got.After, p.limits(t)) {
				t.Fatalf("apply: %+v %v (panel %v)", got, err, p.limits(t))
			}
			if g, u := p.sim.Requests(pterosim.RouteGetServer), p.sim.Requests(pterosim.RouteUpdateBuild); g != tt.gets || u != 1 {
				t.Fatalf("%d GETs and %d PATCHes", g, u)
			}
		})
	}
}

// TestPelicanServerWithoutAllocation: Pelican allows a server without a
// primary; the build body must still carry "allocation": null.
func TestPelicanServerWithoutAllocation(t *testing.T) {
	p := newPanel(t, pterosim.Pelican, withoutPrimary())
	a := New(fastOptions()...)
	got, err := a.Apply(context.Background(), p.ref(), hostapi.Target{hostapi.MemoryMiB: 4096})
	if err != nil || got.Before[hostapi.Ports] != 0 || got.After[hostapi.MemoryMiB] != 4096 {
		t.Fatalf("apply: %+v %v", got, err)
	}
	req, _ := p.sim.LastRequest(pterosim.RouteUpdateBuild)
	if !bytes.Contains(req.Body, []byte(`"allocation":null`)) {
		t.Fatalf("body %s", req.Body)
	}
	if got, err = a.Apply(context.Background(), p.ref(), hostapi.Target{hostapi.Ports: 1}); err != nil || got.After[hostapi.Ports] != 1 {
		t.Fatalf("adding a port: %+v %v", got, err)
	}
}
