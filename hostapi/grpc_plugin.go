package hostapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/upsell-io/upsell/hostapi/internal/upsellv1"
)

// Handshake is shared by the host and every plugin. The cookie only stops a
// plugin binary from being run by hand by mistake; it is not a security
// feature, and it never changes. ProtocolVersion is the contract's major
// version, the same as in the proto package name.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "UPSELL_PLUGIN",
	MagicCookieValue: "7b1f0c5e4a3d9e2b8c6f1a0d5e4b3c2a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c",
}

// Plugin set keys: a plugin binary serves exactly one of them.
const (
	ModulePluginName  = "module"
	AdapterPluginName = "adapter"
)

// PluginSet is what the host hands go-plugin: both kinds, dispensed by the
// key the plugin serves.
func PluginSet() plugin.PluginSet {
	return plugin.PluginSet{
		ModulePluginName:  &ModulePlugin{},
		AdapterPluginName: &AdapterPlugin{},
	}
}

// hostBroker serves one host API per plugin instance over the go-plugin
// broker, for the plugin's whole life (go-plugin closes the broker when the
// plugin is killed). One long-lived server, not one per call: each
// AcceptAndServe opens a listener, and a per-call dial costs ~40x a call.
type hostBroker struct {
	broker  *plugin.GRPCBroker
	mu      sync.Mutex
	started bool
}

// reset allows another Configure after a failed one.
func (b *hostBroker) reset() {
	b.mu.Lock()
	b.started = false
	b.mu.Unlock()
}

// serve starts the brokered host API server and returns its id.
func (b *hostBroker) serve(h Host) (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return 0, &Error{Code: CodePrecondition, Message: "plugin is already configured"}
	}
	b.started = true
	id := b.broker.NextId()
	go b.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := newServer(opts)
		RegisterHostServer(s, h)
		return s
	})
	return id, nil
}

// dialHost is the plugin side: dial the host API once. The returned close
// releases the connection when Configure fails.
func dialHost(broker *plugin.GRPCBroker, id uint32) (Host, func(), error) {
	conn, err := broker.Dial(id)
	if err != nil {
		return Host{}, nil, fmt.Errorf("dial host API: %w", err)
	}
	return NewHostClient(conn), func() { conn.Close() }, nil
}

// configureClient is the host side of Configure: serve host on the broker,
// send its id with the settings, and allow a retry if the plugin refused.
func configureClient(ctx context.Context, b *hostBroker, done context.Context, host Host, settings map[string]string,
	send func(context.Context, *pb.ConfigureRequest) error) error {
	id, err := b.serve(host)
	if err != nil {
		return err
	}
	ctx, cancel := callCtx(ctx, done)
	defer cancel()
	if err := send(ctx, &pb.ConfigureRequest{HostBrokerId: id, Settings: settings}); err != nil {
		b.reset()
		return fromStatus(ctx, done, err)
	}
	return nil
}

// configureServer is the plugin side of Configure: dial the host API once
// and hand it to the implementation, closing it if the plugin refuses.
func configureServer(ctx context.Context, broker *plugin.GRPCBroker, r *pb.ConfigureRequest,
	configure func(context.Context, Host, map[string]string) error) (*pb.Empty, error) {
	host, closeHost, err := dialHost(broker, r.GetHostBrokerId())
	if err != nil {
		return nil, toStatus(&Error{Code: CodeUnavailable, Message: err.Error()})
	}
	if err := configure(ctx, host, r.GetSettings()); err != nil {
		closeHost()
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

// ---- Module ----

// ModulePlugin is the go-plugin glue of a Module. Impl is set on the plugin
// side only.
type ModulePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Module
}

var _ plugin.GRPCPlugin = (*ModulePlugin)(nil)

// GRPCServer registers the plugin-side shim.
func (p *ModulePlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterModuleServer(s, &moduleServer{impl: p.Impl, broker: broker})
	return nil
}

// GRPCClient returns the host-side shim, a Module. ctx is the plugin's
// lifetime: calls fail fast once it is done.
func (p *ModulePlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &ModuleClient{c: pb.NewModuleClient(c), done: ctx, broker: &hostBroker{broker: broker}, memo: newReplyMemo(DefaultReplyMemoEntries)}, nil
}

type moduleServer struct {
	pb.UnimplementedModuleServer
	impl   Module
	broker *plugin.GRPCBroker
}

func (s *moduleServer) Describe(ctx context.Context, _ *pb.Empty) (*pb.DescribeModuleResponse, error) {
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return moduleInfoToWire(info), nil
}

func (s *moduleServer) Configure(ctx context.Context, r *pb.ConfigureRequest) (*pb.Empty, error) {
	return configureServer(ctx, s.broker, r, s.impl.Configure)
}

func (s *moduleServer) HandleHTTP(ctx context.Context, r *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	req, err := httpRequestFromWire(r)
	if err != nil {
		return nil, toStatus(err)
	}
	out, err := s.impl.HandleHTTP(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	return httpResponseToWire(out), nil
}

func (s *moduleServer) HandleEvent(ctx context.Context, r *pb.Event) (*pb.EventResult, error) {
	out, err := s.impl.HandleEvent(ctx, eventFromWire(r))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.EventResult{Handled: out.Handled, Message: out.Message}, nil
}

// ModuleClient is the host's view of a module plugin.
type ModuleClient struct {
	c      pb.ModuleClient
	done   context.Context
	broker *hostBroker

	// memo holds the replies the module marked reusable (nil: none kept);
	// it lives and dies with this plugin instance, so a restarted module
	// (new settings, new code) is asked afresh.
	memoMu sync.RWMutex
	memo   *replyMemo
}

// MemoizeReplies sets how many reusable replies (HTTPResponse.ReuseUntil)
// the client keeps, DefaultReplyMemoEntries unless told; 0 keeps none and
// forgets those kept.
func (m *ModuleClient) MemoizeReplies(entries int) {
	m.memoMu.Lock()
	defer m.memoMu.Unlock()
	m.memo = newReplyMemo(entries)
}

// MemoizedReplies is the number of replies kept now.
func (m *ModuleClient) MemoizedReplies() int {
	m.memoMu.RLock()
	defer m.memoMu.RUnlock()
	if m.memo == nil {
		return 0
	}
	return m.memo.len()
}

func (m *ModuleClient) replyMemo() *replyMemo {
	m.memoMu.RLock()
	defer m.memoMu.RUnlock()
	return m.memo
}

var _ Module = (*ModuleClient)(nil)

// Describe asks the module for its name, routes, events and migrations.
func (m *ModuleClient) Describe(ctx context.Context) (ModuleInfo, error) {
	ctx, cancel := callCtx(ctx, m.done)
	defer cancel()
	out, err := m.c.Describe(ctx, &pb.Empty{}, callOptions()...)
	if err != nil {
		return ModuleInfo{}, fromStatus(ctx, m.done, err)
	}
	return moduleInfoFromWire(out), nil
}

// Configure serves host on the broker and hands the module its id.
func (m *ModuleClient) Configure(ctx context.Context, host Host, settings map[string]string) error {
	return configureClient(ctx, m.broker, m.done, host, settings, func(ctx context.Context, r *pb.ConfigureRequest) error {
		_, err := m.c.Configure(ctx, r, callOptions()...)
		return err
	})
}

// Done is closed when the plugin process has exited.
func (m *ModuleClient) Done() <-chan struct{} { return m.done.Done() }

// HandleHTTP forwards an authenticated request.
func (m *ModuleClient) HandleHTTP(ctx context.Context, req HTTPRequest) (HTTPResponse, error) {
	w, err := httpRequestToWire(req)
	if err != nil {
		return HTTPResponse{}, Errorf(CodeInternal, "encode request: %w", err)
	}
	memo := m.replyMemo()
	var key [sha256.Size]byte
	if memo != nil {
		if key, err = requestDigest(w); err != nil {
			return HTTPResponse{}, Errorf(CodeInternal, "digest request: %w", err)
		}
		if out, ok := memo.get(key, time.Now()); ok {
			return httpResponseFromWire(out), nil
		}
	}
	ctx, cancel := callCtx(startOperation(ctx, RequestOperation), m.done)
	defer cancel()
	out, err := m.c.HandleHTTP(ctx, w, callOptions()...)
	if err != nil {
		return HTTPResponse{}, fromStatus(ctx, m.done, err)
	}
	if memo != nil {
		memo.put(key, out, time.Now())
	}
	return httpResponseFromWire(out), nil
}

// HandleEvent delivers an event.
func (m *ModuleClient) HandleEvent(ctx context.Context, ev Event) (EventResult, error) {
	ctx, cancel := callCtx(startOperation(ctx, EventOperation), m.done)
	defer cancel()
	out, err := m.c.HandleEvent(ctx, eventToWire(ev), callOptions()...)
	if err != nil {
		return EventResult{}, fromStatus(ctx, m.done, err)
	}
	return EventResult{Handled: out.GetHandled(), Message: out.GetMessage()}, nil
}

// ---- Adapter ----

// AdapterPlugin is the go-plugin glue of an Adapter. Impl is set on the
// plugin side only.
type AdapterPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Adapter
}

var _ plugin.GRPCPlugin = (*AdapterPlugin)(nil)

// GRPCServer registers the plugin-side shim.
func (p *AdapterPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterAdapterServer(s, &adapterServer{impl: p.Impl, broker: broker})
	return nil
}

// GRPCClient returns the host-side shim, an Adapter.
func (p *AdapterPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &AdapterClient{c: pb.NewAdapterClient(c), done: ctx, broker: &hostBroker{broker: broker}}, nil
}

type adapterServer struct {
	pb.UnimplementedAdapterServer
	impl   Adapter
	broker *plugin.GRPCBroker
}

func (s *adapterServer) Describe(ctx context.Context, _ *pb.Empty) (*pb.DescribeAdapterResponse, error) {
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return adapterInfoToWire(info), nil
}

func (s *adapterServer) Configure(ctx context.Context, r *pb.ConfigureRequest) (*pb.Empty, error) {
	return configureServer(ctx, s.broker, r, s.impl.Configure)
}

func (s *adapterServer) Read(ctx context.Context, r *pb.ReadRequest) (*pb.Limits, error) {
	out, err := s.impl.Read(ctx, refFromWire(r.GetRef()))
	if err != nil {
		return nil, toStatus(err)
	}
	return limitsToWire(out), nil
}

func (s *adapterServer) Apply(ctx context.Context, r *pb.ApplyRequest) (*pb.Applied, error) {
	out, err := s.impl.Apply(ctx, refFromWire(r.GetRef()), limitsFromWire(r.GetTarget()))
	if err != nil {
		return nil, toStatus(err)
	}
	return appliedToWire(out), nil
}

func (s *adapterServer) CheckCapacity(ctx context.Context, r *pb.ApplyRequest) (*pb.Empty, error) {
	if err := s.impl.CheckCapacity(ctx, refFromWire(r.GetRef()), limitsFromWire(r.GetTarget())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

// AdapterClient is the host's view of an adapter plugin.
type AdapterClient struct {
	c      pb.AdapterClient
	done   context.Context
	broker *hostBroker
}

var _ Adapter = (*AdapterClient)(nil)

// Describe asks the adapter what it serves.
func (a *AdapterClient) Describe(ctx context.Context) (AdapterInfo, error) {
	ctx, cancel := callCtx(ctx, a.done)
	defer cancel()
	out, err := a.c.Describe(ctx, &pb.Empty{}, callOptions()...)
	if err != nil {
		return AdapterInfo{}, fromStatus(ctx, a.done, err)
	}
	return adapterInfoFromWire(out), nil
}

// Configure serves host on the broker and hands the adapter its id.
func (a *AdapterClient) Configure(ctx context.Context, host Host, settings map[string]string) error {
	return configureClient(ctx, a.broker, a.done, host, settings, func(ctx context.Context, r *pb.ConfigureRequest) error {
		_, err := a.c.Configure(ctx, r, callOptions()...)
		return err
	})
}

// Done is closed when the plugin process has exited.
func (a *AdapterClient) Done() <-chan struct{} { return a.done.Done() }

// Read returns the server's current limits.
func (a *AdapterClient) Read(ctx context.Context, ref ServerRef) (Limits, error) {
	ctx, cancel := callCtx(ctx, a.done)
	defer cancel()
	out, err := a.c.Read(ctx, &pb.ReadRequest{Ref: refToWire(ref)}, callOptions()...)
	if err != nil {
		return nil, fromStatus(ctx, a.done, err)
	}
	return limitsFromWire(out), nil
}

// Apply sets the server to target and returns what was read back.
func (a *AdapterClient) Apply(ctx context.Context, ref ServerRef, target Target) (Applied, error) {
	ctx, cancel := callCtx(ctx, a.done)
	defer cancel()
	out, err := a.c.Apply(ctx, &pb.ApplyRequest{Ref: refToWire(ref), Target: limitsToWire(target)}, callOptions()...)
	if err != nil {
		return Applied{}, fromStatus(ctx, a.done, err)
	}
	return appliedFromWire(out), nil
}

// CheckCapacity reports whether target fits.
func (a *AdapterClient) CheckCapacity(ctx context.Context, ref ServerRef, target Target) error {
	ctx, cancel := callCtx(ctx, a.done)
	defer cancel()
	_, err := a.c.CheckCapacity(ctx, &pb.ApplyRequest{Ref: refToWire(ref), Target: limitsToWire(target)}, callOptions()...)
	return fromStatus(ctx, a.done, err)
}
