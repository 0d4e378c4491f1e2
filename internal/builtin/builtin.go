// Package builtin lists the first-party plugins compiled into the upsell
// binary. The host runs each in its own process by re-executing itself as
// `upsell plugin serve NAME`, so an install is one file while every plugin
// still runs isolated.
package builtin

import (
	"sort"

	"github.com/upsell-io/upsell/hostapi"
)

// Plugin is a first-party plugin.
type Plugin struct {
	Name string
	Kind hostapi.PluginKind
	// Serve runs the plugin's go-plugin server; it never returns.
	Serve func()
}

var registry = map[string]Plugin{}

// register adds a first-party plugin; called from init in this package's
// per-plugin files so the list lives in one place.
func register(p Plugin) { registry[p.Name] = p }

// Lookup returns the named first-party plugin.
func Lookup(name string) (Plugin, bool) {
	p, ok := registry[name]
	return p, ok
}

// All returns every first-party plugin, sorted by name.
func All() []Plugin {
	out := make([]Plugin, 0, len(registry))
	for _, p := range registry {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
