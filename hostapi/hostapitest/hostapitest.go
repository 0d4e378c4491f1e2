// Package hostapitest runs upsell modules and adapters the way the host runs
// them, for plugin authors' tests.
//
// InProcessModule and InProcessAdapter connect an implementation over a real
// gRPC connection and go-plugin broker inside the test process (fast, and the
// race detector sees both sides). StartModule and StartAdapter run a real
// plugin subprocess with the daemon's own go-plugin client configuration
// (AutoMTLS, SkipHostEnv, checksum when given). SelfCommand plus
// ServeIfRequested let a test binary re-execute itself as the plugin, so a
// package can test its plugin as a subprocess without a build step.
package hostapitest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/supervisor"
)

// EnvServe names the variable that tells a re-executed test binary which
// plugin to serve.
const EnvServe = "UPSELL_HOSTAPITEST_SERVE"

// InProcessModule serves m over an in-process gRPC connection with a real
// broker, configures it with host, and returns the host-side client.
func InProcessModule(t testing.TB, m hostapi.Module, host hostapi.Host, settings map[string]string) *hostapi.ModuleClient {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, plugin.PluginSet{hostapi.ModulePluginName: &hostapi.ModulePlugin{Impl: recoveringModule{m}}})
	t.Cleanup(func() { server.Stop(); client.Close() })
	raw, err := client.Dispense(hostapi.ModulePluginName)
	if err != nil {
		t.Fatalf("dispense module: %v", err)
	}
	mc := raw.(*hostapi.ModuleClient)
	if err := mc.Configure(context.Background(), host, settings); err != nil {
		t.Fatalf("configure module: %v", err)
	}
	return mc
}

// InProcessAdapter is InProcessModule for adapters.
func InProcessAdapter(t testing.TB, a hostapi.Adapter, host hostapi.Host, settings map[string]string) *hostapi.AdapterClient {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, plugin.PluginSet{hostapi.AdapterPluginName: &hostapi.AdapterPlugin{Impl: recoveringAdapter{a}}})
	t.Cleanup(func() { server.Stop(); client.Close() })
	raw, err := client.Dispense(hostapi.AdapterPluginName)
	if err != nil {
		t.Fatalf("dispense adapter: %v", err)
	}
	ac := raw.(*hostapi.AdapterClient)
	if err := ac.Configure(context.Background(), host, settings); err != nil {
		t.Fatalf("configure adapter: %v", err)
	}
	return ac
}

// Process is a plugin subprocess started by StartModule or StartAdapter.
type Process struct {
	Client *plugin.Client
}

// PID is the plugin's process id.
func (p *Process) PID() int {
	if rc := p.Client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Kill stops the plugin.
func (p *Process) Kill() { p.Client.Kill() }

func start(t testing.TB, cmd *exec.Cmd, sha256 []byte, kind string) (*Process, any) {
	t.Helper()
	dir, err := os.MkdirTemp("", "uph")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Plugin stderr goes to the test binary's stderr: t.Log would panic
	// when go-plugin logs after the test has finished.
	logger := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn})
	cfg := supervisor.ClientConfig(cmd, sha256, dir, 30*time.Second, logger)
	client := plugin.NewClient(cfg)
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin %s: %v", cmd.Path, err)
	}
	raw, err := rpc.Dispense(kind)
	if err != nil {
		t.Fatalf("dispense %s: %v", kind, err)
	}
	return &Process{Client: client}, raw
}

// StartModule runs cmd as a module subprocess and configures it with host.
// sha256 may be nil to skip the checksum.
func StartModule(t testing.TB, cmd *exec.Cmd, sha256 []byte, host hostapi.Host, settings map[string]string) (*hostapi.ModuleClient, *Process) {
	t.Helper()
	p, raw := start(t, cmd, sha256, hostapi.ModulePluginName)
	mc, ok := raw.(*hostapi.ModuleClient)
	if !ok {
		t.Fatalf("plugin is a %T, not a module", raw)
	}
	if err := mc.Configure(context.Background(), host, settings); err != nil {
		t.Fatalf("configure module: %v", err)
	}
	return mc, p
}

// StartAdapter runs cmd as an adapter subprocess and configures it.
func StartAdapter(t testing.TB, cmd *exec.Cmd, sha256 []byte, host hostapi.Host, settings map[string]string) (*hostapi.AdapterClient, *Process) {
	t.Helper()
	p, raw := start(t, cmd, sha256, hostapi.AdapterPluginName)
	ac, ok := raw.(*hostapi.AdapterClient)
	if !ok {
		t.Fatalf("plugin is a %T, not an adapter", raw)
	}
	if err := ac.Configure(context.Background(), host, settings); err != nil {
		t.Fatalf("configure adapter: %v", err)
	}
	return ac, p
}

// SelfCommand returns a command that re-runs the current test binary as the
// plugin called name; the binary's TestMain must call ServeIfRequested.
func SelfCommand(t testing.TB, name string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = []string{EnvServe + "=" + name}
	return cmd
}

// ServeIfRequested serves the plugin a SelfCommand asked for and exits; it
// returns at once in a normal test run. Call it first thing in TestMain:
//
//	func TestMain(m *testing.M) {
//		hostapitest.ServeIfRequested(map[string]func(){
//			"mymodule": func() { hostapi.ServeModule(mymodule.New()) },
//		})
//		os.Exit(m.Run())
//	}
func ServeIfRequested(plugins map[string]func()) {
	name := os.Getenv(EnvServe)
	if name == "" {
		return
	}
	serve, ok := plugins[name]
	if !ok {
		os.Stderr.WriteString("hostapitest: no plugin named " + name + "\n")
		os.Exit(2)
	}
	serve()
	os.Exit(0)
}
