// Package host implements the host API that each plugin instance receives:
// Panel (through the panel binding), Store (SQL on the module's own tables),
// Audit (the append-only log) and Provision (targets routed to the adapter
// that serves a service, with the credentials of its provisioning panel).
//
// One Services value is built per plugin instance, so everything it does is
// stamped with, and scoped to, that plugin. Transactions a plugin opens live
// here and are rolled back when the plugin goes away.
package host
