//go:build !linux

package supervisor

import "os/exec"

// setParentDeathSignal is Linux-only; elsewhere plugins watch their parent
// pid themselves (see hostapi's serve).
func setParentDeathSignal(*exec.Cmd) {}
