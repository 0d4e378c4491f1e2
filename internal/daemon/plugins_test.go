package daemon_test

import (
	"os"
	"testing"

	"github.com/upsell-io/upsell/internal/builtin"
	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/daemon"
	"github.com/upsell-io/upsell/internal/supervisor"
)

// TestBuiltinSpecsCarryTheHostChecksum: every first-party plugin re-runs the
// host's executable and must match the checksum the host took at start,
// the rule third-party plugins follow with their registered one.
func TestBuiltinSpecsCarryTheHostChecksum(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := supervisor.FileSHA256(exe)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := (&daemon.Daemon{Config: config.Config{}}).PluginSpecs()
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != len(builtin.All()) {
		t.Fatalf("%d specs for %d first-party plugins", len(specs), len(builtin.All()))
	}
	for _, s := range specs {
		if !s.Builtin || s.Command != exe || s.SHA256 != sum {
			t.Errorf("%s: builtin %v, command %s, sha256 %q; want the host's %s %s", s.Name, s.Builtin, s.Command, s.SHA256, exe, sum)
		}
	}
}
