package pterodactyl

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/pterosim"
)

// 48-character application keys, as the panels issue them.
const (
	pterodactylKey = "ptla_Zx3kQ9wLmN2pR7sT" + "v4yB8cD1fG5hJ0kL6mN9pQ2rS"
	pelicanKey     = "papp_Yw2jP8vKlM1oQ6rS" + "u3xA7bC0eF4gH9jK5lM8nP1qR"
)

var flavors = []pterosim.Flavor{pterosim.Pterodactyl, pterosim.Pelican}

func keyFor(f pterosim.Flavor) string {
	if f == pterosim.Pelican {
		return pelicanKey
	}
	return pterodactylKey
}

// fastOptions keep retries quick and pacing off, so tests never wait on
// wall-clock backoff.
func fastOptions(extra ...Option) []Option {
	return append([]Option{WithRetries(3, time.Millisecond, 2*time.Millisecond), WithRateLimit(0)}, extra...)
}

func ptr[T any](v T) *T { return &v }

// panel is a simulated panel with one node and one server on it:
//
//	node 1: 16 GiB memory, 100000 MiB disk
//	allocations: 10.0.0.1:25565 (the server's primary), free 10.0.0.2:25565,
//	10.0.0.1:25566 and 10.0.0.1:25567
//	server: external id 42, memory 2048, swap 0, disk 10240, io 500, cpu 100,
//	threads "0-1", OOM killer off, databases unlimited, allocations limit 5,
//	backups 3
type panel struct {
	sim     *pterosim.Sim
	http    *httptest.Server
	flavor  pterosim.Flavor
	key     string
	node    int
	server  int
	primary int
	otherIP int   // the free allocation on 10.0.0.2
	sameIP  []int // the free allocations on the primary's IP
	clock   *fakeClock
}

type panelOption func(*panelSetup)

type panelSetup struct {
	cfg       pterosim.Config
	node      pterosim.Node
	server    pterosim.Server
	noFree    bool
	noPrimary bool
	wrap      []func(http.Handler) http.Handler
	extraFree func(sim *pterosim.Sim, node int)
}

func withRateLimit(rl pterosim.RateLimit) panelOption {
	return func(s *panelSetup) { s.cfg.RateLimit = rl }
}

func withServer(edit func(*pterosim.Server)) panelOption {
	return func(s *panelSetup) { edit(&s.server) }
}

func withNode(edit func(*pterosim.Node)) panelOption {
	return func(s *panelSetup) { edit(&s.node) }
}

// withoutPrimary gives the server no allocation at all (Pelican only); the
// would-be primary stays free.
func withoutPrimary() panelOption {
	return func(s *panelSetup) { s.noPrimary = true }
}

func withoutFreeAllocations() panelOption {
	return func(s *panelSetup) { s.noFree = true }
}

func withFreeAllocations(add func(sim *pterosim.Sim, node int)) panelOption {
	return func(s *panelSetup) { s.extraFree = add }
}

func withHandler(wrap func(http.Handler) http.Handler) panelOption {
	return func(s *panelSetup) { s.wrap = append(s.wrap, wrap) }
}

func newPanel(t testing.TB, f pterosim.Flavor, opts ...panelOption) *panel {
	t.Helper()
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	setup := panelSetup{
		cfg: pterosim.Config{
			Flavor:    f,
			Keys:      []pterosim.APIKey{{Token: keyFor(f)}},
			RateLimit: pterosim.RateLimit{Disabled: true},
			Now:       clock.Now,
		},
		node: pterosim.Node{Memory: 16384, Disk: 100000, FQDN: "node1.example.com"},
		server: pterosim.Server{
			ExternalID: "42",
			Limits: pterosim.Limits{
				Memory: 2048, Swap: 0, Disk: 10240, IO: 500, CPU: 100, Threads: ptr("0-1"), OOMDisabled: true,
			},
			FeatureLimits: pterosim.FeatureLimits{Databases: nil, Allocations: ptr(5), Backups: 3},
			UserID:        1, NestID: 1, EggID: 1,
		},
	}
	for _, o := range opts {
		o(&setup)
	}
	p := &panel{sim: pterosim.New(setup.cfg), flavor: f, key: keyFor(f), clock: clock}
	var err error
	if p.node, err = p.sim.AddNode(setup.node); err != nil {
		t.Fatal(err)
	}
	ids, err := p.sim.AddAllocations(p.node, "10.0.0.1", 25565)
	if err != nil {
		t.Fatal(err)
	}
	p.primary = ids[0]
	if !setup.noFree {
		other, err := p.sim.AddAllocations(p.node, "10.0.0.2", 25565)
		if err != nil {
			t.Fatal(err)
		}
		p.otherIP = other[0]
		if p.sameIP, err = p.sim.AddAllocations(p.node, "10.0.0.1", 25566, 25567); err != nil {
			t.Fatal(err)
		}
	}
	if setup.extraFree != nil {
		setup.extraFree(p.sim, p.node)
	}
	srv := setup.server
	srv.NodeID, srv.AllocationID = p.node, p.primary
	if setup.noPrimary {
		srv.AllocationID = 0
	}
	if p.server, err = p.sim.AddServer(srv); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = p.sim
	for _, w := range setup.wrap {
		h = w(h)
	}
	p.http = httptest.NewServer(h)
	t.Cleanup(p.http.Close)
	return p
}

// ref names the server by its panel id.
func (p *panel) ref() hostapi.ServerRef {
	return hostapi.ServerRef{ServiceID: 42, ServerID: strconv.Itoa(p.server), Endpoint: p.http.URL, Secret: p.key}
}

// refByService names the server by the billing panel's service id only.
func (p *panel) refByService() hostapi.ServerRef {
	return hostapi.ServerRef{ServiceID: 42, Endpoint: p.http.URL, Secret: p.key}
}

func (p *panel) state(t testing.TB) pterosim.Server {
	t.Helper()
	s, ok := p.sim.Server(p.server)
	if !ok {
		t.Fatalf("server %d vanished", p.server)
	}
	return s
}

// limits is the server's true state as upsell resources, read from the
// simulator without the adapter.
func (p *panel) limits(t testing.TB) hostapi.Limits {
	s := p.state(t)
	l := hostapi.Limits{
		hostapi.MemoryMiB: int64(s.Limits.Memory), hostapi.SwapMiB: int64(s.Limits.Swap),
		hostapi.DiskMiB: int64(s.Limits.Disk), hostapi.IOWeight: int64(s.Limits.IO),
		hostapi.CPUPercent: int64(s.Limits.CPU), hostapi.Databases: hostapi.Unlimited,
		hostapi.Backups: int64(s.FeatureLimits.Backups),
		hostapi.Ports:   int64(len(s.AdditionalAllocations)),
	}
	if s.AllocationID != 0 {
		l[hostapi.Ports]++
	}
	if s.FeatureLimits.Databases != nil {
		l[hostapi.Databases] = int64(*s.FeatureLimits.Databases)
	}
	return l
}

// totalRequests sums the simulator's request counters.
func (p *panel) totalRequests() int {
	n := 0
	for _, c := range p.sim.RequestCounts() {
		n += c
	}
	return n
}

// fakeClock drives the simulator's rate limit windows without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// statusHook calls fn with each response status before it is written.
func statusHook(fn func(status int)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(&hookedWriter{ResponseWriter: w, hook: fn}, r)
		})
	}
}

type hookedWriter struct {
	http.ResponseWriter
	hook func(int)
}

func (w *hookedWriter) WriteHeader(status int) {
	w.hook(status)
	w.ResponseWriter.WriteHeader(status)
}

// waitFor polls cond until it holds or the test's context ends.
func waitFor(t testing.TB, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition never held")
		case <-time.After(time.Millisecond):
		}
	}
}
