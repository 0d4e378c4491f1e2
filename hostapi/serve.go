package hostapi

import (
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// ServeModule serves m as a plugin process; a module's main is one call:
//
//	func main() { hostapi.ServeModule(mymodule.New()) }
//
// It never returns. Logs go to stderr as JSON (the host re-emits them); a
// plugin must never print to stdout, which carries the handshake.
func ServeModule(m Module) {
	serve(plugin.PluginSet{ModulePluginName: &ModulePlugin{Impl: m}})
}

// ServeAdapter serves a as a plugin process:
//
//	func main() { hostapi.ServeAdapter(myadapter.New()) }
func ServeAdapter(a Adapter) {
	serve(plugin.PluginSet{AdapterPluginName: &AdapterPlugin{Impl: a}})
}

func serve(set plugin.PluginSet) {
	go exitWhenOrphaned()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         set,
		GRPCServer:      newServer,
		Logger:          PluginLogger(),
	})
}

// PluginLogger is the logger a plugin should use: JSON lines on stderr, which
// the host reads and re-emits at their level.
func PluginLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Output:     os.Stderr,
		Level:      hclog.Info,
		JSONFormat: true,
	})
}

// exitWhenOrphaned ends the plugin if its host dies without killing it. The
// host also sets Pdeathsig on Linux; this covers other systems and a host
// that re-parented us (go-plugin #210).
func exitWhenOrphaned() {
	parent := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() != parent {
			os.Exit(3)
		}
	}
}
