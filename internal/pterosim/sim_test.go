package pterosim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testKey      = "ptla_AbCdEfGhIjKlMnOp0123456789abcdefghijklmnopqrstuv"
	testKey2     = "ptla_QrStUvWxYz012345abcdefghijklmnopqrstuvwxyz0123"
	otherUserKey = "ptla_ZzZzZzZzZzZzZzZz0123456789abcdefghijklmnopqrstuv"
)

// fakeClock is an injectable clock that tests advance by hand.
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
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a panel with two nodes and two servers:
//
//	node 1: ip 10.0.0.1 ports 25565..25574 (alloc[0..9]), ip 10.0.0.2 port 25565 (secondIP)
//	node 2: ip 10.0.1.1 port 25565 (foreign)
//	server 1 "ext-1":  primary alloc[0], additional alloc[1]
//	server 2 "ext-10": primary alloc[2], additional alloc[3]
type fixture struct {
	t        *testing.T
	sim      *Sim
	clock    *fakeClock
	alloc    []int
	secondIP int
	foreign  int
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}}
	if cfg.Keys == nil {
		cfg.Keys = []APIKey{
			{Token: testKey, Owner: "admin-uuid"},
			{Token: testKey2, Owner: "admin-uuid"},
			{Token: otherUserKey, Owner: "other-admin-uuid"},
		}
	}
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	if cfg.RateLimit == (RateLimit{}) {
		cfg.RateLimit.Disabled = true
	}
	f.sim = New(cfg)
	must[int](t)(f.sim.AddNode(Node{Name: "node-a", FQDN: "a.example.test", Memory: 16384, Disk: 102400, MemoryOverallocate: 10}))
	must[int](t)(f.sim.AddNode(Node{Name: "node-b", FQDN: "b.example.test"}))
	f.alloc = must[[]int](t)(f.sim.AddAllocations(1, "10.0.0.1", 25565, 25566, 25567, 25568, 25569, 25570, 25571, 25572, 25573, 25574))
	f.secondIP = must[[]int](t)(f.sim.AddAllocations(1, "10.0.0.2", 25565))[0]
	f.foreign = must[[]int](t)(f.sim.AddAllocations(2, "10.0.1.1", 25565))[0]
	databases := 1
	must[int](t)(f.sim.AddServer(Server{
		ExternalID: "ext-1", Name: "alpha", NodeID: 1, UserID: 7, NestID: 1, EggID: 5,
		AllocationID: f.alloc[0], AdditionalAllocations: []int{f.alloc[1]},
		Limits:        Limits{Memory: 1024, Swap: 0, Disk: 5120, IO: 500, CPU: 100, OOMDisabled: true},
		FeatureLimits: FeatureLimits{Databases: &databases, Backups: 2},
		Container:     Container{StartupCommand: "java -jar server.jar", Image: "ghcr.io/pterodactyl/yolks:java_17", Environment: map[string]string{"SERVER_JARFILE": "server.jar"}},
	}))
	must[int](t)(f.sim.AddServer(Server{
		ExternalID: "ext-10", Name: "beta", NodeID: 1, UserID: 8,
		AllocationID: f.alloc[2], AdditionalAllocations: []int{f.alloc[3]},
		Limits: Limits{Memory: 2048, Disk: 10240, IO: 500, CPU: 200},
	}))
	return f
}

// must fails the test if a setup call returned an error: must[int](t)(call()).
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// request builds a request with the headers a well-behaved client sends.
// Options can change or drop them.
func (f *fixture) request(method, path string, body any, opts ...func(*http.Request)) *http.Request {
	f.t.Helper()
	var rdr *bytes.Reader
	switch b := body.(type) {
	case nil:
		rdr = bytes.NewReader(nil)
	case string:
		rdr = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rdr = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(method, path, rdr)
	r.Header.Set("Authorization", "Bearer "+testKey)
	r.Header.Set("Accept", "application/json")
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func (f *fixture) do(method, path string, body any, opts ...func(*http.Request)) *httptest.ResponseRecorder {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.sim.ServeHTTP(rec, f.request(method, path, body, opts...))
	return rec
}

func withHeader(name, value string) func(*http.Request) {
	return func(r *http.Request) {
		if value == "" {
			r.Header.Del(name)
		} else {
			r.Header.Set(name, value)
		}
	}
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("response is not JSON (status %d): %v\n%s", rec.Code, err, rec.Body.String())
	}
	return doc
}

// get walks a decoded JSON document along a dotted path.
func get(t *testing.T, doc any, path string) any {
	t.Helper()
	v, ok := lookup(doc, path)
	if !ok {
		t.Fatalf("no %q in %v", path, doc)
	}
	return v
}

// errorsOf returns the error entries of an error envelope.
func errorsOf(t *testing.T, rec *httptest.ResponseRecorder) []map[string]any {
	t.Helper()
	var env struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || len(env.Errors) == 0 {
		t.Fatalf("no error envelope (status %d): %s", rec.Code, rec.Body.String())
	}
	return env.Errors
}

func expectError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) map[string]any {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d: %s", rec.Code, status, rec.Body.String())
	}
	e := errorsOf(t, rec)[0]
	if e["code"] != code || e["status"] != fmt.Sprint(status) {
		t.Fatalf("error = %v, want code %s and status %q (a string)", e, code, fmt.Sprint(status))
	}
	return e
}

func TestAuthenticationAndThe302Trap(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		name         string
		method, path string
		body         any
		opts         []func(*http.Request)
		wantStatus   int
		wantLocation string // for 302
		wantCode     string // for JSON errors
	}{
		{
			name: "missing key with JSON accept is 401", method: "GET", path: "/api/application/servers/1",
			opts: []func(*http.Request){withHeader("Authorization", "")}, wantStatus: 401, wantCode: "AuthenticationException",
		},
		{
			name: "wrong key with JSON accept is 401", method: "GET", path: "/api/application/servers/1",
			opts: []func(*http.Request){withHeader("Authorization", "Bearer ptla_wrong")}, wantStatus: 401, wantCode: "AuthenticationException",
		},
		{
			name: "key without Bearer scheme is 401", method: "GET", path: "/api/application/servers/1",
			opts: []func(*http.Request){withHeader("Authorization", testKey)}, wantStatus: 401, wantCode: "AuthenticationException",
		},
		{
			name: "missing key without accept redirects to login", method: "GET", path: "/api/application/servers/1",
			opts:       []func(*http.Request){withHeader("Authorization", ""), withHeader("Accept", "")},
			wantStatus: 302, wantLocation: "http://example.com/auth/login",
		},
		{
			name: "html preferred over json redirects to login", method: "GET", path: "/api/application/servers/1",
			opts:       []func(*http.Request){withHeader("Authorization", ""), withHeader("Accept", "text/html, application/json;q=0.9")},
			wantStatus: 302, wantLocation: "http://example.com/auth/login",
		},
		{
			name: "vendor +json accept is JSON", method: "GET", path: "/api/application/servers/1",
			opts:       []func(*http.Request){withHeader("Authorization", ""), withHeader("Accept", "Application/vnd.pterodactyl.v1+json")},
			wantStatus: 401, wantCode: "AuthenticationException",
		},
		{
			name: "ajax request accepting anything is JSON", method: "GET", path: "/api/application/servers/1",
			opts:       []func(*http.Request){withHeader("Authorization", ""), withHeader("Accept", ""), withHeader("X-Requested-With", "XMLHttpRequest")},
			wantStatus: 401, wantCode: "AuthenticationException",
		},
		{
			name: "validation error without accept redirects back", method: "PATCH", path: "/api/application/servers/1/build",
			body: map[string]any{}, opts: []func(*http.Request){withHeader("Accept", "")},
			wantStatus: 302, wantLocation: "http://example.com/",
		},
		{
			name: "validation error without accept redirects to the referer", method: "PATCH", path: "/api/application/servers/1/build",
			body: map[string]any{}, opts: []func(*http.Request){withHeader("Accept", ""), withHeader("Referer", "http://example.com/admin")},
			wantStatus: 302, wantLocation: "http://example.com/admin",
		},
		{
			name: "display exception without accept redirects back", method: "PATCH", path: "/api/application/servers/1/build",
			body: func() map[string]any {
				b := validBuild(f.alloc[0])
				b["remove_allocations"] = []int{f.alloc[0]}
				return b
			}(),
			opts: []func(*http.Request){withHeader("Accept", "")}, wantStatus: 302, wantLocation: "http://example.com/",
		},
		{
			name: "malformed JSON is 400", method: "PATCH", path: "/api/application/servers/1/build",
			body: `{"allocation": 1,`, wantStatus: 400, wantCode: "BadRequestHttpException",
		},
		{
			name: "trailing garbage after JSON is 400", method: "PATCH", path: "/api/application/servers/1/build",
			body: `{"allocation": 1} x`, wantStatus: 400, wantCode: "BadRequestHttpException",
		},
		{
			name: "malformed body not sent as JSON is not parsed", method: "PATCH", path: "/api/application/servers/1/build",
			body: `{"allocation": 1,`, opts: []func(*http.Request){withHeader("Content-Type", "text/plain")},
			wantStatus: 422, wantCode: "ValidationException",
		},
		{
			name: "unknown route is 404", method: "GET", path: "/api/application/widgets",
			wantStatus: 404, wantCode: "NotFoundHttpException",
		},
		{
			name: "wrong method is 405", method: "POST", path: "/api/application/servers/1/build",
			wantStatus: 405, wantCode: "MethodNotAllowedHttpException",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do(tc.method, tc.path, tc.body, tc.opts...)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body.String())
			}
			if tc.wantLocation != "" {
				if got := rec.Header().Get("Location"); got != tc.wantLocation {
					t.Errorf("Location = %q, want %q", got, tc.wantLocation)
				}
			}
			if tc.wantCode != "" {
				expectError(t, rec, tc.wantStatus, tc.wantCode)
			}
		})
	}

	t.Run("401 envelope is exact", func(t *testing.T) {
		rec := f.do("GET", "/api/application/servers/1", nil, withHeader("Authorization", ""))
		want := `{"errors":[{"code":"AuthenticationException","status":"401","detail":"Unauthenticated."}]}`
		if got := strings.TrimSpace(rec.Body.String()); got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
	})
	t.Run("404 without accept is an HTML page", func(t *testing.T) {
		rec := f.do("GET", "/api/application/servers/999", nil, withHeader("Accept", ""))
		if rec.Code != 404 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("got %d %q, want 404 text/html", rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

func TestAccessControl(t *testing.T) {
	f := newFixture(t, Config{Keys: []APIKey{
		{Token: testKey, ACL: &ACL{Servers: PermRead}},
		{Token: testKey2, NotAdmin: true},
	}})
	if rec := f.do("PATCH", "/api/application/servers/1/build", validBuild(f.alloc[0])); rec.Code != 403 {
		t.Errorf("PATCH without r_servers WRITE = %d, want 403", rec.Code)
	}
	expectError(t, f.do("GET", "/api/application/nodes/1", nil), 403, "AccessDeniedHttpException")
	expectError(t, f.do("GET", "/api/application/nodes/1/allocations", nil), 403, "AccessDeniedHttpException")

	doc := decode(t, f.do("GET", "/api/application/servers/1?include=allocations,node", nil))
	for _, rel := range []string{"allocations", "node"} {
		if got := get(t, doc, "attributes.relationships."+rel+".object"); got != "null_resource" {
			t.Errorf("%s include without read permission = %v, want null_resource", rel, got)
		}
	}
	rec := f.do("GET", "/api/application/servers/1", nil, withHeader("Authorization", "Bearer "+testKey2))
	e := expectError(t, rec, 403, "AccessDeniedHttpException")
	if e["detail"] != "This account does not have permission to access the API." {
		t.Errorf("detail = %v", e["detail"])
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, Config{RateLimit: RateLimit{Limit: 3, Window: time.Minute}})
	get := func(key string) *httptest.ResponseRecorder {
		return f.do("GET", "/api/application/servers/1", nil, withHeader("Authorization", "Bearer "+key))
	}
	// Two keys of the same owner share the budget.
	for i, key := range []string{testKey, testKey2, testKey} {
		rec := get(key)
		if rec.Code != 200 {
			t.Fatalf("request %d: status %d", i, rec.Code)
		}
		if got, want := rec.Header().Get("X-RateLimit-Remaining"), fmt.Sprint(2-i); got != want {
			t.Errorf("request %d: X-RateLimit-Remaining = %s, want %s", i, got, want)
		}
		if got := rec.Header().Get("X-RateLimit-Limit"); got != "3" {
			t.Errorf("X-RateLimit-Limit = %s, want 3", got)
		}
	}
	f.clock.Advance(15 * time.Second)
	rec := get(testKey2)
	expectError(t, rec, 429, "ThrottleRequestsException")
	wantHeaders := map[string]string{
		"Retry-After":           "45",
		"X-RateLimit-Limit":     "3",
		"X-RateLimit-Remaining": "0",
		"X-RateLimit-Reset":     fmt.Sprint(f.clock.Now().Add(45 * time.Second).Unix()),
	}
	for k, v := range wantHeaders {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if rec := get(otherUserKey); rec.Code != 200 {
		t.Errorf("another owner's key = %d, want 200: buckets are per owner", rec.Code)
	}
	if rec := f.do("GET", "/api/application/servers/1", nil, withHeader("Accept", "")); rec.Code != 429 {
		t.Errorf("429 for a non-JSON client = %d, want 429", rec.Code)
	}
	f.clock.Advance(44 * time.Second)
	if rec := get(testKey); rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("one second before the window ends: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	f.clock.Advance(time.Second)
	rec = get(testKey)
	if rec.Code != 200 {
		t.Fatalf("after the window: %d, want 200", rec.Code)
	}
	// The first request after the window ended opens a new window.
	if got := rec.Header().Get("X-RateLimit-Remaining"); got != "2" {
		t.Errorf("X-RateLimit-Remaining after recovery = %s, want 2", got)
	}
	if got := f.sim.Throttled(); got != 3 {
		t.Errorf("Throttled() = %d, want 3", got)
	}
	// Unauthenticated requests never reach the limiter.
	if rec := f.do("GET", "/api/application/servers/1", nil, withHeader("Authorization", "Bearer nope")); rec.Code != 401 {
		t.Errorf("bad key = %d, want 401", rec.Code)
	}
}

func TestRateLimitDefaults(t *testing.T) {
	for _, tc := range []struct {
		flavor Flavor
		want   string
	}{{Pterodactyl, "240"}, {Pelican, "256"}} {
		f := newFixture(t, Config{Flavor: tc.flavor, RateLimit: RateLimit{Window: time.Minute}})
		rec := f.do("GET", "/api/application/servers/1", nil)
		if got := rec.Header().Get("X-RateLimit-Limit"); got != tc.want {
			t.Errorf("%s: X-RateLimit-Limit = %s, want %s", tc.flavor, got, tc.want)
		}
	}
	f := newFixture(t, Config{}) // the fixture disables the limiter by default
	if got := f.do("GET", "/api/application/servers/1", nil).Header().Get("X-RateLimit-Limit"); got != "" {
		t.Errorf("disabled limiter sent X-RateLimit-Limit %q", got)
	}
}

func TestInjectedFaults(t *testing.T) {
	f := newFixture(t, Config{})
	f.sim.InjectFault(Fault{Method: "PATCH", PathPrefix: "/api/application/servers/", Status: 503, Count: 2})
	f.sim.InjectFault(Fault{PathPrefix: "/api/application/nodes/", Status: 502})

	if rec := f.do("GET", "/api/application/servers/1", nil); rec.Code != 200 {
		t.Errorf("GET does not match the PATCH fault: %d", rec.Code)
	}
	for i := range 2 {
		expectError(t, f.do("PATCH", "/api/application/servers/1/build", validBuild(f.alloc[0])), 503, "HttpException")
		if srv, _ := f.sim.Server(1); srv.Limits.Memory != 1024 {
			t.Fatalf("failed PATCH %d changed the server", i)
		}
	}
	if rec := f.do("PATCH", "/api/application/servers/1/build", validBuild(f.alloc[0])); rec.Code != 200 {
		t.Errorf("third PATCH = %d, want 200 once the fault is used up", rec.Code)
	}
	rec := f.do("GET", "/api/application/nodes/1/allocations", nil)
	if rec.Code != 502 || !strings.Contains(rec.Body.String(), "502 Bad Gateway") {
		t.Errorf("proxy fault = %d %s", rec.Code, rec.Body.String())
	}
	f.sim.InjectFault(Fault{})
	e := expectError(t, f.do("GET", "/api/application/servers/1", nil), 500, "Exception")
	if e["detail"] != genericErrorDetail {
		t.Errorf("500 detail = %v", e["detail"])
	}
}

func TestLatencyHonoursCancellation(t *testing.T) {
	f := newFixture(t, Config{})
	f.sim.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := validBuild(f.alloc[0])
	body["limits"].(map[string]any)["memory"] = 4096
	rec := httptest.NewRecorder()
	// ServeHTTP returns as soon as it sees the cancelled context instead of
	// waiting an hour; the change was committed before the delay, like a PATCH
	// whose Wings sync is slow.
	f.sim.ServeHTTP(rec, f.request("PATCH", "/api/application/servers/1/build", body).WithContext(ctx))
	if rec.Body.Len() != 0 {
		t.Errorf("a cancelled request got a body: %s", rec.Body.String())
	}
	if srv, _ := f.sim.Server(1); srv.Limits.Memory != 4096 {
		t.Errorf("memory = %d, want the committed 4096", srv.Limits.Memory)
	}
	f.sim.SetLatency(0)
	if rec := f.do("GET", "/api/application/servers/1", nil); rec.Code != 200 {
		t.Errorf("after removing latency: %d", rec.Code)
	}
}

func TestObservability(t *testing.T) {
	f := newFixture(t, Config{RateLimit: RateLimit{Limit: 2}})
	f.do("GET", "/api/application/servers/1", nil)
	f.do("GET", "/api/application/servers/2", nil)
	f.do("PATCH", "/api/application/servers/1/build", validBuild(f.alloc[0]), withHeader("X-Trace", "abc"))
	f.do("GET", "/api/application/nope", nil)

	want := map[string]int{RouteGetServer: 2, RouteUpdateBuild: 1, RouteUnmatched: 1}
	if got := f.sim.RequestCounts(); !mapsEqual(got, want) {
		t.Errorf("RequestCounts() = %v, want %v", got, want)
	}
	last, ok := f.sim.LastRequest(RouteUpdateBuild)
	if !ok || last.Header.Get("X-Trace") != "abc" || !bytes.Contains(last.Body, []byte(`"feature_limits"`)) {
		t.Errorf("LastRequest = %+v", last)
	}
	if last, _ := f.sim.LastRequest(RouteGetServer); last.URL != "/api/application/servers/2" {
		t.Errorf("last GET URL = %s", last.URL)
	}
	if got := f.sim.Throttled(); got != 1 {
		t.Errorf("Throttled() = %d, want 1 (the PATCH was the third request)", got)
	}
	f.sim.ResetStats()
	if n, t429 := f.sim.Requests(RouteGetServer), f.sim.Throttled(); n != 0 || t429 != 0 {
		t.Errorf("after ResetStats: %d requests, %d throttled", n, t429)
	}
	if _, ok := f.sim.LastRequest(RouteUpdateBuild); ok {
		t.Error("LastRequest survived ResetStats")
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSetupAPI(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"duplicate node", second(f.sim.AddNode(Node{ID: 1})), ErrConflict},
		{"allocations on unknown node", second(f.sim.AddAllocations(9, "10.0.0.1", 30000)), ErrNotFound},
		{"duplicate ip:port", second(f.sim.AddAllocations(1, "10.0.0.1", 25565)), ErrConflict},
		{"port below 1024", second(f.sim.AddAllocations(1, "10.0.0.1", 80)), ErrInvalid},
		{"server on unknown node", second(f.sim.AddServer(Server{NodeID: 9})), ErrNotFound},
		{"duplicate external id", second(f.sim.AddServer(Server{NodeID: 1, ExternalID: "ext-1", AllocationID: f.alloc[5]})), ErrConflict},
		{"taken allocation", second(f.sim.AddServer(Server{NodeID: 1, AllocationID: f.alloc[0]})), ErrConflict},
		{"allocation on another node", second(f.sim.AddServer(Server{NodeID: 1, AllocationID: f.foreign})), ErrInvalid},
		{"pterodactyl server without allocation", second(f.sim.AddServer(Server{NodeID: 1})), ErrInvalid},
		{"limits of unknown server", f.sim.SetServerLimits(99, Limits{}, FeatureLimits{}), ErrNotFound},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	srv, _ := f.sim.Server(1)
	if srv.AllocationID != f.alloc[0] || !slices.Equal(srv.AdditionalAllocations, []int{f.alloc[1]}) || len(srv.UUID) != 36 {
		t.Errorf("snapshot = %+v", srv)
	}
	// Snapshots are copies.
	*srv.FeatureLimits.Databases = 99
	if again, _ := f.sim.Server(1); *again.FeatureLimits.Databases != 1 {
		t.Error("mutating a snapshot changed the simulator")
	}
	if n, ok := f.sim.Node(1); !ok || n.DaemonSFTP != 2022 || n.Scheme != "https" || len(n.UUID) != 36 {
		t.Errorf("node defaults = %+v", n)
	}
	if _, ok := f.sim.Node(9); ok {
		t.Error("Node(9) found a node")
	}
	pelican := New(Config{Flavor: Pelican})
	must[int](t)(pelican.AddNode(Node{}))
	if id, err := pelican.AddServer(Server{NodeID: 1}); err != nil || pelican.Flavor() != Pelican {
		t.Errorf("Pelican server without an allocation: id %d, err %v", id, err)
	}
	// Someone else resets the server.
	if err := f.sim.SetServerLimits(1, Limits{Memory: 512, IO: 500}, FeatureLimits{Backups: 0}); err != nil {
		t.Fatal(err)
	}
	doc := decode(t, f.do("GET", "/api/application/servers/1", nil))
	if get(t, doc, "attributes.limits.memory") != 512.0 || get(t, doc, "attributes.feature_limits.databases") != nil {
		t.Errorf("GET after SetServerLimits = %v", doc)
	}
}

func second[T any](_ T, err error) error { return err }

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, Config{RateLimit: RateLimit{Limit: 1000}})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			body := validBuild(f.alloc[0])
			body["add_allocations"] = []int{f.alloc[4+i%6]}
			body["remove_allocations"] = []int{f.alloc[4+(i+1)%6]}
			rec := httptest.NewRecorder()
			f.sim.ServeHTTP(rec, f.request("PATCH", "/api/application/servers/1/build", body))
			if rec.Code != 200 {
				t.Errorf("PATCH = %d: %s", rec.Code, rec.Body.String())
			}
		})
		wg.Go(func() {
			f.sim.StealOnNextBuild(2, f.alloc[9])
			rec := httptest.NewRecorder()
			f.sim.ServeHTTP(rec, f.request("GET", "/api/application/nodes/1/allocations?filter[server_id]=0", nil))
			_ = f.sim.Requests(RouteUpdateBuild)
		})
	}
	wg.Wait()
	if got := f.sim.Requests(RouteUpdateBuild); got != 16 {
		t.Errorf("counted %d PATCHes, want 16", got)
	}
}
