//go:build faults

package microupsell

import "os"

// faultSettings let crash tests stop the module process right after one
// step of the paid-invoice pipeline, once: crash_after names the step,
// crash_once_file is created before exiting so the restarted process goes on.
var faultSettings = map[string]bool{"crash_after": true, "crash_once_file": true}

func (m *Module) crashPoint(step string) {
	m.mu.RLock()
	at, file := m.faults["crash_after"], m.faults["crash_once_file"]
	m.mu.RUnlock()
	if at != step || file == "" {
		return
	}
	if _, err := os.Stat(file); err == nil {
		return
	}
	_ = os.WriteFile(file, []byte(step), 0o600)
	os.Exit(3)
}
