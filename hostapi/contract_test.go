package hostapi_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/shopspring/decimal"
	"google.golang.org/grpc"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/hostapitest"
	pb "github.com/upsell-io/upsell/hostapi/internal/upsellv1"
)

func TestMain(m *testing.M) {
	hostapitest.ServeIfRequested(map[string]func(){
		"echo":      func() { hostapi.ServeModule(&echoModule{}) },
		"bare":      func() { servePlugin(plugin.PluginSet{"bare": &barePlugin{}}) },
		"barehost":  func() { servePlugin(plugin.PluginSet{"bare": &barePlugin{callHost: true}}) },
		"fixedpool": func() { hostapi.ServeAdapter(&fixedAdapter{}) },
	})
	os.Exit(m.Run())
}

// echoModule exercises the host API from inside a plugin.
type echoModule struct{ host hostapi.Host }

func (m *echoModule) Describe(context.Context) (hostapi.ModuleInfo, error) {
	return hostapi.ModuleInfo{Name: "echo", Version: "1.0.0", TablePrefix: "ext_echo_",
		Routes:     []hostapi.Route{{Method: "GET", Path: "/settings", Access: hostapi.AccessPublic}},
		Migrations: []hostapi.Migration{{Version: 1, Name: "init", SQL: "CREATE TABLE ext_echo_x (id INT)"}}}, nil
}

func (m *echoModule) Configure(_ context.Context, host hostapi.Host, _ map[string]string) error {
	m.host = host
	return nil
}

func (m *echoModule) HandleHTTP(ctx context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
	switch req.Path {
	case "/settings":
		s, err := m.host.Panel.Settings(ctx)
		if err != nil {
			return hostapi.HTTPResponse{}, err
		}
		return hostapi.HTTPResponse{Status: 200, Body: []byte(s.Timezone)}, nil
	case "/service":
		id, _ := strconv.ParseUint(req.Query["id"][0], 10, 64)
		s, err := m.host.Panel.Service(ctx, id)
		if err != nil {
			return hostapi.HTTPResponse{}, err
		}
		return hostapi.HTTPResponse{Status: 200, Body: []byte(s.Price.String() + " " + s.Currency + " user " + strconv.FormatUint(req.Principal.UserID, 10))}, nil
	case "/invalid":
		return hostapi.HTTPResponse{}, hostapi.Invalid("quantity", "must be at most 8")
	case "/panic":
		panic("boom")
	case "/wait":
		<-ctx.Done()
		return hostapi.HTTPResponse{}, ctx.Err()
	case "/exit":
		os.Exit(7)
	}
	return hostapi.HTTPResponse{Status: http.StatusNotFound}, nil
}

func (m *echoModule) HandleEvent(_ context.Context, ev hostapi.Event) (hostapi.EventResult, error) {
	return hostapi.EventResult{Handled: ev.Kind == hostapi.InvoicePaidEvent, Message: "invoice " + strconv.FormatUint(ev.InvoiceID, 10)}, nil
}

// fixedAdapter holds limits in memory: enough to test the adapter wire.
type fixedAdapter struct{}

func (fixedAdapter) Describe(context.Context) (hostapi.AdapterInfo, error) {
	return hostapi.AdapterInfo{Name: "fixedpool", Version: "0.1.0", Resources: []hostapi.Resource{hostapi.MemoryMiB}}, nil
}
func (fixedAdapter) Configure(context.Context, hostapi.Host, map[string]string) error { return nil }
func (fixedAdapter) Read(_ context.Context, ref hostapi.ServerRef) (hostapi.Limits, error) {
	if ref.ServiceID == 404 {
		return nil, hostapi.Errorf(hostapi.CodeNotFound, "no server for service %d", ref.ServiceID)
	}
	return hostapi.Limits{hostapi.MemoryMiB: 1024}, nil
}
func (fixedAdapter) Apply(_ context.Context, _ hostapi.ServerRef, t hostapi.Target) (hostapi.Applied, error) {
	after := hostapi.Limits{hostapi.MemoryMiB: t[hostapi.MemoryMiB]}
	return hostapi.Applied{Before: hostapi.Limits{hostapi.MemoryMiB: 1024}, After: after, Changed: true}, nil
}
func (fixedAdapter) CheckCapacity(_ context.Context, _ hostapi.ServerRef, t hostapi.Target) error {
	if t[hostapi.MemoryMiB] > 8192 {
		return &hostapi.Error{Code: hostapi.CodeCapacity, Message: "node is full"}
	}
	return nil
}

// memPanel is a host-side Panel for testing the wire: it answers from
// memory and counts calls.
type memPanel struct {
	hostapi.Panel
	calls atomic.Int64
}

func (p *memPanel) Settings(context.Context) (hostapi.PanelSettings, error) {
	p.calls.Add(1)
	return hostapi.PanelSettings{Panel: "paymenter", Timezone: "Europe/Berlin"}, nil
}

func (p *memPanel) Service(_ context.Context, id uint64) (hostapi.Service, error) {
	p.calls.Add(1)
	if id != 7 {
		return hostapi.Service{}, hostapi.Errorf(hostapi.CodeNotFound, "service %d", id)
	}
	return hostapi.Service{ID: 7, Price: decimal.RequireFromString("12.50"), Currency: "EUR"}, nil
}

type runner func(t testing.TB, host hostapi.Host) hostapi.Module

var runners = map[string]runner{
	"in-process": func(t testing.TB, host hostapi.Host) hostapi.Module {
		return hostapitest.InProcessModule(t, &echoModule{}, host, nil)
	},
	"subprocess": func(t testing.TB, host hostapi.Host) hostapi.Module {
		mc, _ := hostapitest.StartModule(t, hostapitest.SelfCommand(t, "echo"), nil, host, nil)
		return mc
	},
}

func TestModuleContract(t *testing.T) {
	for name, run := range runners {
		t.Run(name, func(t *testing.T) {
			panel := &memPanel{}
			m := run(t, hostapi.Host{Panel: panel})
			ctx := context.Background()

			info, err := m.Describe(ctx)
			if err != nil || info.Name != "echo" || info.TablePrefix != "ext_echo_" || len(info.Migrations) != 1 {
				t.Fatalf("describe: %+v %v", info, err)
			}
			resp, err := m.HandleHTTP(ctx, hostapi.HTTPRequest{Method: "GET", Path: "/settings"})
			if err != nil || string(resp.Body) != "Europe/Berlin" {
				t.Fatalf("host round trip: %q %v", resp.Body, err)
			}
			resp, err = m.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/service", Query: map[string][]string{"id": {"7"}},
				Principal: hostapi.Principal{Kind: hostapi.Client, UserID: 3, ServiceID: 7}})
			if err != nil || string(resp.Body) != "12.5 EUR user 3" {
				t.Fatalf("service: %q %v", resp.Body, err)
			}
			// A typed error from the host crosses two hops and stays typed.
			_, err = m.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/service", Query: map[string][]string{"id": {"8"}}})
			if !errors.Is(err, hostapi.ErrNotFound) {
				t.Fatalf("not found from host came back as %v", err)
			}
			_, err = m.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/invalid"})
			var he *hostapi.Error
			if !errors.As(err, &he) || he.Code != hostapi.CodeInvalid || he.Field != "quantity" {
				t.Fatalf("invalid came back as %#v", err)
			}
			// A panic is one failed call, not a dead plugin.
			_, err = m.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/panic"})
			if hostapi.CodeOf(err) != hostapi.CodeInternal {
				t.Fatalf("panic came back as %v", err)
			}
			if _, err := m.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/settings"}); err != nil {
				t.Fatalf("plugin dead after a panic: %v", err)
			}
			// Cancellation reaches the plugin.
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := m.HandleHTTP(cctx, hostapi.HTTPRequest{Path: "/wait"}); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled call: %v", err)
			}
			res, err := m.HandleEvent(ctx, hostapi.Event{Kind: hostapi.InvoicePaidEvent, InvoiceID: 12})
			if err != nil || !res.Handled || res.Message != "invoice 12" {
				t.Fatalf("event: %+v %v", res, err)
			}
		})
	}
}

func TestDeadPluginFailsFast(t *testing.T) {
	mc, proc := hostapitest.StartModule(t, hostapitest.SelfCommand(t, "echo"), nil, hostapi.Host{Panel: &memPanel{}}, nil)
	_, _ = mc.HandleHTTP(context.Background(), hostapi.HTTPRequest{Path: "/exit"})
	<-mc.Done()
	_, err := mc.HandleHTTP(context.Background(), hostapi.HTTPRequest{Path: "/settings"})
	if !errors.Is(err, hostapi.ErrUnavailable) {
		t.Fatalf("call to a dead plugin: %v", err)
	}
	if !proc.Client.Exited() {
		t.Fatal("plugin process still running")
	}
}

func TestAdapterContract(t *testing.T) {
	ac, _ := hostapitest.StartAdapter(t, hostapitest.SelfCommand(t, "fixedpool"), nil, hostapi.Host{}, nil)
	ctx := context.Background()
	ref := hostapi.ServerRef{ServiceID: 7, Endpoint: "http://panel", Secret: "ptla_secret"}
	got, err := ac.Apply(ctx, ref, hostapi.Target{hostapi.MemoryMiB: 2048})
	if err != nil || got.After[hostapi.MemoryMiB] != 2048 || got.Before[hostapi.MemoryMiB] != 1024 || !got.Changed {
		t.Fatalf("apply: %+v %v", got, err)
	}
	if _, err := ac.Read(ctx, hostapi.ServerRef{ServiceID: 404}); !errors.Is(err, hostapi.ErrNotFound) {
		t.Fatalf("read missing: %v", err)
	}
	if err := ac.CheckCapacity(ctx, ref, hostapi.Target{hostapi.MemoryMiB: 9000}); !errors.Is(err, hostapi.ErrCapacity) {
		t.Fatalf("capacity: %v", err)
	}
}

// ---- bare go-plugin baseline for the benchmark ----

// barePlugin serves the generated Module service with no contract layer: the
// cost of go-plugin + gRPC alone. With callHost, HandleHTTP calls the host's
// Panel.Settings over a brokered connection dialled once.
type barePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	callHost bool
}

type bareServer struct {
	pb.UnimplementedModuleServer
	broker *plugin.GRPCBroker
	panel  atomic.Pointer[pb.PanelClient]
}

func (b *barePlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterModuleServer(s, &bareServer{broker: broker})
	return nil
}

func (b *barePlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &bareClient{c: pb.NewModuleClient(c), broker: broker}, nil
}

func (s *bareServer) Configure(_ context.Context, r *pb.ConfigureRequest) (*pb.Empty, error) {
	conn, err := s.broker.Dial(r.GetHostBrokerId())
	if err != nil {
		return nil, err
	}
	c := pb.NewPanelClient(conn)
	s.panel.Store(&c)
	return &pb.Empty{}, nil
}

func (s *bareServer) HandleHTTP(ctx context.Context, _ *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	if p := s.panel.Load(); p != nil {
		st, err := (*p).Settings(ctx, &pb.Empty{})
		if err != nil {
			return nil, err
		}
		return &pb.HTTPResponse{Status: 200, Body: []byte(st.GetTimezone())}, nil
	}
	return &pb.HTTPResponse{Status: 200, Body: []byte("ok")}, nil
}

type bareClient struct {
	c      pb.ModuleClient
	broker *plugin.GRPCBroker
}

type barePanelServer struct{ pb.UnimplementedPanelServer }

func (barePanelServer) Settings(context.Context, *pb.Empty) (*pb.PanelSettings, error) {
	return &pb.PanelSettings{Timezone: "Europe/Berlin"}, nil
}

func servePlugin(set plugin.PluginSet) {
	plugin.Serve(&plugin.ServeConfig{HandshakeConfig: hostapi.Handshake, Plugins: set, GRPCServer: plugin.DefaultGRPCServer, Logger: hostapi.PluginLogger()})
}

func startBare(b *testing.B, name string, withHost bool) *bareClient {
	cmd := hostapitest.SelfCommand(b, name)
	cfg := &plugin.ClientConfig{
		HandshakeConfig: hostapi.Handshake, Plugins: plugin.PluginSet{"bare": &barePlugin{}}, Cmd: cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC}, AutoMTLS: true, SkipHostEnv: true,
		Logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn}),
	}
	client := plugin.NewClient(cfg)
	b.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rpc.Dispense("bare")
	if err != nil {
		b.Fatal(err)
	}
	bc := raw.(*bareClient)
	if withHost {
		id := bc.broker.NextId()
		go bc.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(opts...)
			pb.RegisterPanelServer(s, barePanelServer{})
			return s
		})
		if _, err := bc.c.Configure(context.Background(), &pb.ConfigureRequest{HostBrokerId: id}); err != nil {
			b.Fatal(err)
		}
	}
	return bc
}

// BenchmarkRoundTrip compares, side by side on the same machine, a bare
// go-plugin gRPC call and a host->plugin->host round trip with the contract's
// equivalents. The contract should add at most ~20% to the bare figures.
func BenchmarkRoundTrip(b *testing.B) {
	ctx := context.Background()
	b.Run("bare/host-plugin", func(b *testing.B) {
		bc := startBare(b, "bare", false)
		for b.Loop() {
			if _, err := bc.c.HandleHTTP(ctx, &pb.HTTPRequest{Path: "/x"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("contract/host-plugin", func(b *testing.B) {
		mc, _ := hostapitest.StartModule(b, hostapitest.SelfCommand(b, "echo"), nil, hostapi.Host{Panel: &memPanel{}}, nil)
		for b.Loop() {
			if _, err := mc.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/nothing"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare/host-plugin-host", func(b *testing.B) {
		bc := startBare(b, "barehost", true)
		for b.Loop() {
			if _, err := bc.c.HandleHTTP(ctx, &pb.HTTPRequest{Path: "/settings"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("contract/host-plugin-host", func(b *testing.B) {
		mc, _ := hostapitest.StartModule(b, hostapitest.SelfCommand(b, "echo"), nil, hostapi.Host{Panel: &memPanel{}}, nil)
		for b.Loop() {
			if _, err := mc.HandleHTTP(ctx, hostapi.HTTPRequest{Path: "/settings"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
