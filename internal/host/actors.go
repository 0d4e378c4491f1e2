package host

import (
	"context"
	"sync"

	"github.com/upsell-io/upsell/hostapi"
)

// Actors knows who an operation acts for: the host names an admin's
// request's operation before forwarding it (hostapi.StartOperation), and
// the audit entries the module writes while serving it are stamped with
// that admin, whatever the module says. The operation's name is random and
// travels only between the host and that call, so a plugin cannot claim
// another operation's admin.
type Actors struct {
	m sync.Map // operation id -> actor
}

// Set names op's actor until the returned func is called.
func (a *Actors) Set(op hostapi.Operation, actor string) (done func()) {
	a.m.Store(op.ID, actor)
	return func() { a.m.Delete(op.ID) }
}

// Of is the actor of the operation a host call belongs to, "" for none.
func (a *Actors) Of(ctx context.Context) string {
	if a == nil {
		return ""
	}
	op, ok := hostapi.OperationOf(ctx)
	if !ok {
		return ""
	}
	if v, ok := a.m.Load(op.ID); ok {
		return v.(string)
	}
	return ""
}
