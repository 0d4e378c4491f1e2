// Package supervisor starts, watches and restarts the host's plugin
// subprocesses.
//
// Each plugin runs in its own process through hashicorp/go-plugin over gRPC
// with AutoMTLS, a minimal environment (SkipHostEnv: no database DSN or API
// key leaks into a plugin), sockets in a short directory, and, on Linux,
// Pdeathsig so that a host killed with SIGKILL leaves no plugin behind.
// First-party plugins are the upsell binary itself re-executed as
// `upsell plugin serve NAME`; third-party binaries must sit inside the plugin
// directory. Every plugin binary is checked against a sha256 before every
// launch and restart: a third-party one against its registered checksum, the
// host's own executable against what the host started from (Self). A binary
// that does not match is never run: the plugin is marked failed at once with
// the reason, since retrying cannot help until upsell is restarted or the
// checksum registered again.
//
// A plugin that exits is restarted with exponential backoff; after
// MaxRestarts failures within RestartWindow it is marked failed and left
// down, which `upsell plugins` and /readyz report.
package supervisor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/upsell-io/upsell/hostapi"
)

// Spec says how to run one plugin.
type Spec struct {
	Name string
	Kind hostapi.PluginKind
	// Command and Args start the plugin. For a built-in plugin they re-run
	// the host binary; see Builtin.
	Command string
	Args    []string
	// SHA256 is the hex checksum Command must have at every launch: the
	// registered one of a third-party binary, or, for a built-in plugin,
	// the host executable's at start (Self).
	SHA256 string
	// Builtin marks a first-party plugin served by the host binary itself:
	// Command is the host's own path, not confined to the plugin directory.
	Builtin bool
	// Env is the whole environment the plugin gets (besides go-plugin's own
	// handshake variables).
	Env      []string
	Settings map[string]string
}

// State is where a plugin is in its lifecycle.
type State string

// Plugin states.
const (
	Starting   State = "starting"
	Running    State = "running"
	Restarting State = "restarting"
	Failed     State = "failed"
	Stopped    State = "stopped"
)

// Status is a plugin's state as `upsell plugins` and /readyz show it.
type Status struct {
	Name      string
	Kind      hostapi.PluginKind
	Version   string
	State     State
	PID       int
	Restarts  int
	LastError string
	Since     time.Time
}

// Options configure a Supervisor.
type Options struct {
	// PluginDir holds third-party binaries; their Command must resolve
	// inside it.
	PluginDir string
	// SocketDir is where go-plugin puts unix sockets. Keep it short: socket
	// paths are limited to ~104 bytes.
	SocketDir      string
	StartTimeout   time.Duration
	MaxRestarts    int
	RestartWindow  time.Duration
	RestartBackoff time.Duration
	MaxBackoff     time.Duration
	Logger         hclog.Logger
	// HostFor builds the host API the named plugin gets: one per plugin
	// instance, scoped to it (tablePrefix is a module's declared prefix).
	// release is called when that instance exits (to roll back what it left
	// open).
	HostFor func(name string, kind hostapi.PluginKind, tablePrefix string) (host hostapi.Host, release func())
	// OnState is told about every state change (metrics, logs).
	OnState func(Status)
}

func (o *Options) defaults() {
	if o.StartTimeout == 0 {
		o.StartTimeout = 20 * time.Second
	}
	if o.MaxRestarts == 0 {
		o.MaxRestarts = 5
	}
	if o.RestartWindow == 0 {
		o.RestartWindow = 10 * time.Minute
	}
	if o.RestartBackoff == 0 {
		o.RestartBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.HostFor == nil {
		o.HostFor = func(string, hostapi.PluginKind, string) (hostapi.Host, func()) { return hostapi.Host{}, func() {} }
	}
}

// Supervisor runs a set of plugins.
type Supervisor struct {
	opts Options

	mu        sync.RWMutex
	instances map[string]*instance
	wg        sync.WaitGroup
	stopOnce  sync.Once
	stop      context.CancelFunc
	ctx       context.Context
}

// New returns a Supervisor; Start launches plugins.
func New(opts Options) *Supervisor {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{opts: opts, instances: map[string]*instance{}, ctx: ctx, stop: cancel}
}

// instance is one supervised plugin and its current process.
type instance struct {
	spec Spec

	mu          sync.RWMutex
	status      Status
	client      *plugin.Client
	module      *hostapi.ModuleClient
	adapter     *hostapi.AdapterClient
	moduleInfo  hostapi.ModuleInfo
	adapterInfo hostapi.AdapterInfo
	host        hostapi.Host // the host API this instance was configured with
	release     func()
	failures    []time.Time
	ready       chan struct{} // closed after the first start attempt
}

// Start launches every spec and waits until each has either come up or
// failed its first start; failed ones keep being retried in the background.
func (s *Supervisor) Start(ctx context.Context, specs []Spec) error {
	for _, spec := range specs {
		if err := s.validate(spec); err != nil {
			return err
		}
	}
	var insts []*instance
	s.mu.Lock()
	for _, spec := range specs {
		if _, dup := s.instances[spec.Name]; dup {
			s.mu.Unlock()
			return fmt.Errorf("plugin %q registered twice", spec.Name)
		}
		inst := &instance{spec: spec, ready: make(chan struct{}),
			status: Status{Name: spec.Name, Kind: spec.Kind, State: Starting, Since: time.Now()}}
		s.instances[spec.Name] = inst
		insts = append(insts, inst)
	}
	s.mu.Unlock()
	for _, inst := range insts {
		s.wg.Add(1)
		go s.run(inst)
	}
	for _, inst := range insts {
		select {
		case <-inst.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *Supervisor) validate(spec Spec) error {
	if spec.Name == "" || spec.Command == "" {
		return fmt.Errorf("plugin spec needs a name and a command")
	}
	if spec.Kind != hostapi.KindModule && spec.Kind != hostapi.KindAdapter {
		return fmt.Errorf("plugin %q: unknown kind %q", spec.Name, spec.Kind)
	}
	if _, err := decodeChecksum(spec.SHA256); err != nil {
		return fmt.Errorf("plugin %q: %w", spec.Name, err)
	}
	if spec.Builtin {
		return nil
	}
	if _, err := ResolveInDir(s.opts.PluginDir, spec.Command); err != nil {
		return fmt.Errorf("plugin %q: %w", spec.Name, err)
	}
	return nil
}

func decodeChecksum(s string) ([]byte, error) {
	sum, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("sha256 must be 64 hex characters")
	}
	return sum, nil
}

// ResolveInDir returns the absolute path of name inside dir, refusing paths
// that leave dir, directly or through a symlink.
func ResolveInDir(dir, name string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("no plugin directory configured")
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("plugin directory: %w", err)
	}
	realDir, err := filepath.EvalSymlinks(absDir)
	if err != nil {
		return "", fmt.Errorf("plugin directory: %w", err)
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(absDir, p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("plugin binary: %w", err)
	}
	rel, err := filepath.Rel(realDir, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("plugin binary %q is outside the plugin directory", name)
	}
	return real, nil
}

// FileSHA256 returns the hex sha256 of a file, for `upsell plugins install`.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Executable is the running host binary: the path first-party plugins
// re-run, and the sha256 of what the process was started from.
type Executable struct {
	Path   string
	SHA256 string
}

// Self returns the running executable, read once, on the first call; the
// daemon calls it as it starts. The checksum is of the file the process
// runs (/proc/self/exe on Linux, which stays the original even once the
// path is replaced), not of whatever the path names by then.
var Self = sync.OnceValues(func() (Executable, error) {
	path, err := os.Executable()
	if err != nil {
		return Executable{}, fmt.Errorf("find own executable: %w", err)
	}
	running := "/proc/self/exe"
	if _, err := os.Stat(running); err != nil {
		running = path
	}
	sum, err := FileSHA256(running)
	if err != nil {
		return Executable{}, fmt.Errorf("checksum own executable %s: %w", path, err)
	}
	return Executable{Path: path, SHA256: sum}, nil
})

// ErrBinaryChanged marks a launch refused because the plugin's binary is
// not the one it must be.
var ErrBinaryChanged = errors.New("plugin binary does not match its checksum")

// checkBinary hashes path and compares it with want (hex), just before the
// binary is run.
func checkBinary(spec Spec, path string, want []byte) error {
	got, err := FileSHA256(path)
	if err != nil {
		return fmt.Errorf("plugin %s: checksum %s: %w", spec.Name, path, err)
	}
	if got == hex.EncodeToString(want) {
		return nil
	}
	if spec.Builtin {
		return fmt.Errorf("%w: refusing to run plugin %s: the upsell executable %s changed on disk since the host started (checksum sha256 %s, started from %x); restart upsell to run the new binary",
			ErrBinaryChanged, spec.Name, path, got, want)
	}
	return fmt.Errorf("%w: refusing to run plugin %s: %s has checksum sha256 %s, registered %x; register the new checksum (upsell plugins hash) and restart upsell",
		ErrBinaryChanged, spec.Name, path, got, want)
}

// run keeps one plugin up until the supervisor stops.
func (s *Supervisor) run(inst *instance) {
	defer s.wg.Done()
	first := true
	for {
		err := s.launch(inst)
		if first {
			close(inst.ready)
			first = false
		}
		if errors.Is(err, ErrBinaryChanged) {
			// Never run, and retrying cannot make the file match.
			s.kill(inst)
			s.opts.Logger.Error("plugin binary refused", "plugin", inst.spec.Name, "error", err)
			s.setState(inst, Failed, err.Error())
			return
		}
		if err == nil {
			s.setState(inst, Running, "")
			err = s.wait(inst)
		}
		if s.ctx.Err() != nil {
			s.kill(inst)
			s.setState(inst, Stopped, "")
			return
		}
		// Mark the plugin down before killing it, so no caller is handed a
		// dying client and /readyz never reports a dead plugin as running.
		restarts, giveUp := s.recordFailure(inst, err)
		s.kill(inst)
		if giveUp {
			s.setState(inst, Failed, fmt.Sprintf("gave up after %d restarts: %v", restarts-1, err))
			s.opts.Logger.Error("plugin failed to stay running", "plugin", inst.spec.Name, "error", err)
			return
		}
		s.setState(inst, Restarting, err.Error())
		s.opts.Logger.Warn("plugin exited; restarting", "plugin", inst.spec.Name, "error", err, "attempt", restarts)
		select {
		case <-time.After(s.backoff(restarts)):
		case <-s.ctx.Done():
			s.setState(inst, Stopped, "")
			return
		}
	}
}

func (s *Supervisor) backoff(attempt int) time.Duration {
	d := s.opts.RestartBackoff
	for i := 1; i < attempt && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	if d > s.opts.MaxBackoff {
		d = s.opts.MaxBackoff
	}
	return d
}

// recordFailure marks the plugin restarting and counts failures within the
// window, in one step; it returns how many and whether the budget is spent.
func (s *Supervisor) recordFailure(inst *instance, cause error) (int, bool) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	now := time.Now()
	inst.status.State, inst.status.PID, inst.status.Since = Restarting, 0, now
	if cause != nil {
		inst.status.LastError = cause.Error()
	}
	kept := inst.failures[:0]
	for _, f := range inst.failures {
		if now.Sub(f) < s.opts.RestartWindow {
			kept = append(kept, f)
		}
	}
	inst.failures = append(kept, now)
	inst.status.Restarts++
	return len(inst.failures), len(inst.failures) > s.opts.MaxRestarts
}

func (s *Supervisor) setState(inst *instance, st State, lastErr string) {
	inst.mu.Lock()
	inst.status.State = st
	inst.status.Since = time.Now()
	if lastErr != "" {
		inst.status.LastError = lastErr
	}
	if st != Running {
		inst.status.PID = 0
	}
	status := inst.status
	inst.mu.Unlock()
	if s.opts.OnState != nil {
		s.opts.OnState(status)
	}
}

// launch starts the process, dispenses the plugin, and describes and
// configures it.
func (s *Supervisor) launch(inst *instance) error {
	spec := inst.spec
	cfg, err := s.clientConfig(spec)
	if err != nil {
		return err
	}
	client := plugin.NewClient(cfg)
	inst.mu.Lock()
	inst.client = client
	inst.mu.Unlock()

	rpc, err := client.Client()
	if err != nil {
		return fmt.Errorf("start plugin %s: %w", spec.Name, err)
	}
	raw, err := rpc.Dispense(string(spec.Kind))
	if err != nil {
		return fmt.Errorf("dispense plugin %s: %w", spec.Name, err)
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.StartTimeout)
	defer cancel()
	switch c := raw.(type) {
	case *hostapi.ModuleClient:
		info, err := c.Describe(ctx)
		if err != nil {
			return fmt.Errorf("describe module %s: %w", spec.Name, err)
		}
		if info.Name != spec.Name {
			return fmt.Errorf("plugin registered as %q describes itself as %q", spec.Name, info.Name)
		}
		if err := s.checkPrefix(spec.Name, info.TablePrefix); err != nil {
			return err
		}
		host := s.hostFor(inst, info.TablePrefix)
		if err := checkPrefetches(host.Store, info.Routes); err != nil {
			return fmt.Errorf("module %s: %w", spec.Name, err)
		}
		if err := c.Configure(ctx, host, spec.Settings); err != nil {
			return fmt.Errorf("configure module %s: %w", spec.Name, err)
		}
		inst.mu.Lock()
		inst.module, inst.moduleInfo, inst.status.Version, inst.host = c, info, info.Version, host
		inst.mu.Unlock()
	case *hostapi.AdapterClient:
		info, err := c.Describe(ctx)
		if err != nil {
			return fmt.Errorf("describe adapter %s: %w", spec.Name, err)
		}
		if info.Name != spec.Name {
			return fmt.Errorf("plugin registered as %q describes itself as %q", spec.Name, info.Name)
		}
		if err := c.Configure(ctx, s.hostFor(inst, ""), spec.Settings); err != nil {
			return fmt.Errorf("configure adapter %s: %w", spec.Name, err)
		}
		inst.mu.Lock()
		inst.adapter, inst.adapterInfo, inst.status.Version = c, info, info.Version
		inst.mu.Unlock()
	default:
		return fmt.Errorf("plugin %s dispensed %T, not a %s", spec.Name, raw, spec.Kind)
	}
	inst.mu.Lock()
	if rc := client.ReattachConfig(); rc != nil {
		inst.status.PID = rc.Pid
	}
	inst.mu.Unlock()
	return nil
}

// checkPrefetches checks each route's prefetch reads against the module's
// Store guard, so a query outside the module's tables stops the module at
// start, not on a client's request.
func checkPrefetches(store hostapi.Store, routes []hostapi.Route) error {
	checker, ok := store.(interface{ Check(query string) error })
	for _, r := range routes {
		if err := r.Validate(); err != nil {
			return err
		}
		for _, f := range r.Prefetch {
			if !ok {
				continue
			}
			if err := checker.Check(f.SQL); err != nil {
				return fmt.Errorf("route %s %s: prefetch %q: %w", r.Method, r.Path, f.Name, err)
			}
		}
	}
	return nil
}

// tablePrefix is what a module's table prefix must look like: its own
// "ext_" namespace, so a module can never claim a panel table ("s" would
// cover services and settings) or the host's upsell_ tables.
var tablePrefix = regexp.MustCompile(`^ext_[a-z0-9]+(_[a-z0-9]+)*_$`)

// checkPrefix refuses a malformed prefix, or one that overlaps another
// module's.
func (s *Supervisor) checkPrefix(name, prefix string) error {
	if !tablePrefix.MatchString(prefix) {
		return fmt.Errorf("module %s: table prefix %q must look like ext_<name>_", name, prefix)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for other, inst := range s.instances {
		if other == name {
			continue
		}
		inst.mu.RLock()
		theirs := inst.moduleInfo.TablePrefix
		inst.mu.RUnlock()
		if theirs != "" && (strings.HasPrefix(prefix, theirs) || strings.HasPrefix(theirs, prefix)) {
			return fmt.Errorf("module %s: table prefix %q overlaps module %s's %q", name, prefix, other, theirs)
		}
	}
	return nil
}

func (s *Supervisor) hostFor(inst *instance, prefix string) hostapi.Host {
	h, release := s.opts.HostFor(inst.spec.Name, inst.spec.Kind, prefix)
	inst.mu.Lock()
	inst.release = release
	inst.mu.Unlock()
	return h
}

// ClientConfig is the go-plugin client configuration the host uses for a
// plugin command; hostapitest uses it too so tests run plugins exactly as
// the daemon does.
func ClientConfig(cmd *exec.Cmd, checksum []byte, socketDir string, startTimeout time.Duration, logger hclog.Logger) *plugin.ClientConfig {
	setParentDeathSignal(cmd)
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  hostapi.Handshake,
		Plugins:          hostapi.PluginSet(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     startTimeout,
		Logger:           logger,
		GRPCDialOptions:  nil,
	}
	if socketDir != "" {
		cfg.UnixSocketConfig = &plugin.UnixSocketConfig{TempDir: socketDir}
	}
	if checksum != nil {
		cfg.SecureConfig = &plugin.SecureConfig{Checksum: checksum, Hash: sha256.New()}
	}
	return cfg
}

// clientConfig checks the plugin's binary and returns the configuration to
// run it with.
func (s *Supervisor) clientConfig(spec Spec) (*plugin.ClientConfig, error) {
	command := spec.Command
	if !spec.Builtin {
		path, err := ResolveInDir(s.opts.PluginDir, spec.Command)
		if err != nil {
			return nil, err
		}
		command = path
	}
	checksum, err := decodeChecksum(spec.SHA256)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", spec.Name, err)
	}
	// The one check of the binary, with a message saying what to do; go-plugin
	// is given no checksum, which would hash the file a second time.
	if err := checkBinary(spec, command, checksum); err != nil {
		return nil, err
	}
	if s.opts.SocketDir != "" {
		if err := os.MkdirAll(s.opts.SocketDir, 0o700); err != nil {
			return nil, fmt.Errorf("socket directory: %w", err)
		}
	}
	cmd := exec.Command(command, spec.Args...)
	cmd.Env = spec.Env
	return ClientConfig(cmd, nil, s.opts.SocketDir, s.opts.StartTimeout, s.opts.Logger.Named(spec.Name)), nil
}

// wait blocks until the plugin process exits or the supervisor stops.
func (s *Supervisor) wait(inst *instance) error {
	inst.mu.RLock()
	var done <-chan struct{}
	if inst.module != nil {
		done = inst.module.Done()
	} else {
		done = inst.adapter.Done()
	}
	inst.mu.RUnlock()
	select {
	case <-done:
		return errors.New("plugin process exited")
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *Supervisor) kill(inst *instance) {
	inst.mu.Lock()
	client, release := inst.client, inst.release
	inst.client, inst.module, inst.adapter, inst.release = nil, nil, nil, nil
	inst.mu.Unlock()
	if client != nil {
		client.Kill()
	}
	if release != nil {
		release()
	}
}

// Stop kills every plugin (gracefully, then by force after go-plugin's 2 s)
// and waits for the watchers to end.
func (s *Supervisor) Stop() {
	s.stopOnce.Do(func() {
		s.stop()
		s.wg.Wait()
	})
}

func (s *Supervisor) get(name string) (*instance, error) {
	s.mu.RLock()
	inst, ok := s.instances[name]
	s.mu.RUnlock()
	if !ok {
		return nil, hostapi.Errorf(hostapi.CodeNotFound, "no plugin named %q", name)
	}
	return inst, nil
}

// Module returns the live module named name, or a CodeUnavailable error
// while it is down.
func (s *Supervisor) Module(name string) (hostapi.Module, error) {
	inst, err := s.get(name)
	if err != nil {
		return nil, err
	}
	inst.mu.RLock()
	defer inst.mu.RUnlock()
	if inst.module == nil || inst.status.State != Running {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "module %s is %s", name, inst.status.State)
	}
	return inst.module, nil
}

// ModuleStore returns the Store the named module was configured with: the
// host runs a route's prefetch reads through it, under the same table
// guard and statement cache as the module's own calls.
func (s *Supervisor) ModuleStore(name string) (hostapi.Store, error) {
	inst, err := s.get(name)
	if err != nil {
		return nil, err
	}
	inst.mu.RLock()
	defer inst.mu.RUnlock()
	if inst.host.Store == nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "module %s is %s", name, inst.status.State)
	}
	return inst.host.Store, nil
}

// ModuleInfo returns what the named module described at its last start.
func (s *Supervisor) ModuleInfo(name string) (hostapi.ModuleInfo, bool) {
	inst, err := s.get(name)
	if err != nil {
		return hostapi.ModuleInfo{}, false
	}
	inst.mu.RLock()
	defer inst.mu.RUnlock()
	return inst.moduleInfo, inst.moduleInfo.Name != ""
}

// Adapter returns the live adapter named name.
func (s *Supervisor) Adapter(name string) (hostapi.Adapter, error) {
	inst, err := s.get(name)
	if err != nil {
		return nil, err
	}
	inst.mu.RLock()
	defer inst.mu.RUnlock()
	if inst.adapter == nil || inst.status.State != Running {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "adapter %s is %s", name, inst.status.State)
	}
	return inst.adapter, nil
}

// AdapterInfo returns what the named adapter described at its last start.
func (s *Supervisor) AdapterInfo(name string) (hostapi.AdapterInfo, bool) {
	inst, err := s.get(name)
	if err != nil {
		return hostapi.AdapterInfo{}, false
	}
	inst.mu.RLock()
	defer inst.mu.RUnlock()
	return inst.adapterInfo, inst.adapterInfo.Name != ""
}

// Statuses returns every plugin's status, sorted by name.
func (s *Supervisor) Statuses() []Status {
	s.mu.RLock()
	out := make([]Status, 0, len(s.instances))
	for _, inst := range s.instances {
		inst.mu.RLock()
		out = append(out, inst.status)
		inst.mu.RUnlock()
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DescribeModule starts the module once, asks for its description (name,
// routes, migrations) without configuring it, and stops it. `upsell migrate`
// uses it: migrations must run before a module is configured.
func DescribeModule(ctx context.Context, opts Options, spec Spec) (hostapi.ModuleInfo, error) {
	opts.defaults()
	s := &Supervisor{opts: opts}
	if err := s.validate(spec); err != nil {
		return hostapi.ModuleInfo{}, err
	}
	cfg, err := s.clientConfig(spec)
	if err != nil {
		return hostapi.ModuleInfo{}, err
	}
	client := plugin.NewClient(cfg)
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		return hostapi.ModuleInfo{}, fmt.Errorf("start plugin %s: %w", spec.Name, err)
	}
	raw, err := rpc.Dispense(hostapi.ModulePluginName)
	if err != nil {
		return hostapi.ModuleInfo{}, fmt.Errorf("dispense plugin %s: %w", spec.Name, err)
	}
	m, ok := raw.(*hostapi.ModuleClient)
	if !ok {
		return hostapi.ModuleInfo{}, fmt.Errorf("plugin %s is not a module", spec.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	return m.Describe(ctx)
}
