package filepanel_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"example.com/upsell-adapter-filepanel/filepanel"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/hostapitest"
)

// TestMain lets the test binary serve the adapter when a test starts it as a
// plugin subprocess (hostapitest.SelfCommand).
func TestMain(m *testing.M) {
	hostapitest.ServeIfRequested(map[string]func(){
		filepanel.Name: func() { hostapi.ServeAdapter(filepanel.New()) },
	})
	os.Exit(m.Run())
}

const token = "fp_0123456789abcdef0123456789abcdef"

// fakePanel is a panel directory in a test's temporary directory.
type fakePanel struct {
	mu   sync.Mutex
	base string
	dir  string // moves when the panel is "taken down"
}

func newFakePanel(t *testing.T, servers map[string]hostapi.Limits) *fakePanel {
	t.Helper()
	base := t.TempDir()
	p := &fakePanel{base: base, dir: filepath.Join(base, "panel")}
	if err := os.MkdirAll(filepath.Join(p.dir, "servers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, limits := range servers {
		doc := map[string]any{"name": name, "owner": "alice", "limits": limits}
		data, _ := json.Marshal(doc)
		if err := os.WriteFile(filepath.Join(p.dir, "servers", name+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *fakePanel) endpoint() string { return "file://" + filepath.Join(p.base, "panel") }

// state reads a server file directly, bypassing the adapter.
func (p *fakePanel) state(t testing.TB, name string) (hostapi.Limits, map[string]any) {
	t.Helper()
	p.mu.Lock()
	dir := p.dir
	p.mu.Unlock()
	raw, err := os.ReadFile(filepath.Join(dir, "servers", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Limits hostapi.Limits `json:"limits"`
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(raw, &all)
	return doc.Limits, all
}

// takeDown moves the panel directory away: the endpoint no longer answers.
func (p *fakePanel) takeDown(t testing.TB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	offline := filepath.Join(p.base, "offline")
	if err := os.Rename(p.dir, offline); err != nil {
		t.Fatal(err)
	}
	p.dir = offline
}

var initial = hostapi.Limits{hostapi.MemoryMiB: 1024, hostapi.DiskMiB: 10240, hostapi.CPUPercent: 100}

func conformanceServer(t *testing.T) hostapitest.ConformanceServer {
	p := newFakePanel(t, map[string]hostapi.Limits{"web-1": initial})
	return hostapitest.ConformanceServer{
		Ref:             hostapi.ServerRef{ServerID: "web-1", Endpoint: p.endpoint(), Secret: token},
		Missing:         hostapi.ServerRef{ServerID: "web-404", Endpoint: p.endpoint(), Secret: token},
		Initial:         initial,
		State:           func(t testing.TB) hostapi.Limits { l, _ := p.state(t, "web-1"); return l },
		MakeUnavailable: p.takeDown,
	}
}

// TestConformance runs upsell's adapter conformance suite against the
// adapter as upsell runs it: a separate plugin process.
func TestConformance(t *testing.T) {
	adapter, _ := hostapitest.StartAdapter(t, hostapitest.SelfCommand(t, filepanel.Name), nil, hostapi.Host{}, nil)
	hostapitest.RunAdapterConformance(t, hostapitest.ConformanceHarness{
		Adapter:   adapter,
		Target:    hostapi.Target{hostapi.MemoryMiB: 4096, hostapi.DiskMiB: 20480, hostapi.CPUPercent: 200},
		NewServer: conformanceServer,
	})
}

// TestConformanceDirect runs the suite on the adapter value itself, so that
// cancelled contexts reach the adapter's own code.
func TestConformanceDirect(t *testing.T) {
	hostapitest.RunAdapterConformance(t, hostapitest.ConformanceHarness{
		Adapter:   filepanel.New(),
		Target:    hostapi.Target{hostapi.MemoryMiB: 4096, hostapi.DiskMiB: 20480, hostapi.CPUPercent: 200},
		NewServer: conformanceServer,
	})
}

func TestApplyKeepsOtherFields(t *testing.T) {
	p := newFakePanel(t, map[string]hostapi.Limits{"web-1": initial})
	ref := hostapi.ServerRef{ServerID: "web-1", Endpoint: p.endpoint(), Secret: token}
	if _, err := filepanel.New().Apply(context.Background(), ref, hostapi.Target{hostapi.MemoryMiB: 2048}); err != nil {
		t.Fatal(err)
	}
	limits, doc := p.state(t, "web-1")
	if doc["owner"] != "alice" || limits[hostapi.DiskMiB] != 10240 || limits[hostapi.MemoryMiB] != 2048 {
		t.Fatalf("file after apply: %v", doc)
	}
	leftovers, _ := filepath.Glob(filepath.Join(p.dir, "servers", ".*.tmp"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestServiceIDNamesTheServer(t *testing.T) {
	p := newFakePanel(t, map[string]hostapi.Limits{"service-42": initial})
	got, err := filepanel.New().Read(context.Background(), hostapi.ServerRef{ServiceID: 42, Endpoint: p.endpoint(), Secret: token})
	if err != nil || got[hostapi.MemoryMiB] != 1024 {
		t.Fatalf("read: %v %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	p := newFakePanel(t, map[string]hostapi.Limits{"web-1": initial})
	a := filepanel.New()
	ctx := context.Background()
	tests := []struct {
		name string
		ref  hostapi.ServerRef
		want error
	}{
		{"wrong token", hostapi.ServerRef{ServerID: "web-1", Endpoint: p.endpoint(), Secret: "fp_wrong"}, hostapi.ErrPermission},
		{"path escape", hostapi.ServerRef{ServerID: "../token", Endpoint: p.endpoint(), Secret: token}, hostapi.ErrInvalid},
		{"relative endpoint", hostapi.ServerRef{ServerID: "web-1", Endpoint: "panel", Secret: token}, hostapi.ErrInvalid},
		{"no such panel", hostapi.ServerRef{ServerID: "web-1", Endpoint: "file:///nonexistent/panel", Secret: token}, hostapi.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Read(ctx, tt.ref)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "fp_wrong") {
				t.Fatalf("secret in error: %v", err)
			}
		})
	}
}

func TestCheckCapacity(t *testing.T) {
	p := newFakePanel(t, map[string]hostapi.Limits{"web-1": initial, "web-2": {hostapi.MemoryMiB: 3072}})
	if err := os.WriteFile(filepath.Join(p.dir, "capacity.json"), []byte(`{"memory_mib": 8192}`), 0o644); err != nil {
		t.Fatal(err)
	}
	a := filepanel.New()
	ref := hostapi.ServerRef{ServerID: "web-1", Endpoint: p.endpoint(), Secret: token}
	if err := a.CheckCapacity(context.Background(), ref, hostapi.Target{hostapi.MemoryMiB: 5120}); err != nil {
		t.Fatalf("5120 + 3072 fits in 8192: %v", err)
	}
	if err := a.CheckCapacity(context.Background(), ref, hostapi.Target{hostapi.MemoryMiB: 5121}); !errors.Is(err, hostapi.ErrCapacity) {
		t.Fatalf("got %v, want capacity", err)
	}
}
