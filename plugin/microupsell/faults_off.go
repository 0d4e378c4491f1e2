//go:build !faults

package microupsell

// faultSettings are the settings only a fault-injection build accepts.
var faultSettings = map[string]bool{}

// crashPoint marks a step of the paid-invoice pipeline; only a build with
// the faults tag can stop the process there (see faults_on.go).
func (m *Module) crashPoint(string) {}
