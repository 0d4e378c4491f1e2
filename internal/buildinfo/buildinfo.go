// Package buildinfo holds the version stamped into the binary at build time
// (make build sets Version with -ldflags).
package buildinfo

import "runtime/debug"

// Version is the release version, or "dev".
var Version = "dev"

// String describes the build: version, VCS revision and Go version.
func String() string {
	s := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				s += " (" + kv.Value[:12] + ")"
			}
		}
		s += " " + bi.GoVersion
	}
	return s
}
