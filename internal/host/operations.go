package host

import (
	"context"
	"log/slog"
	"sync"

	"github.com/upsell-io/upsell/hostapi"
)

// Operations keeps the pool rule: an operation (one HandleHTTP or
// HandleEvent call and the host calls it makes) that holds a database
// connection never waits for a second one. With every request holding one
// connection and waiting for another, a pool of N connections freezes at N
// concurrent requests; with the rule, a holder always finishes with what it
// holds and gives it back.
//
// A Store transaction is the connection an operation holds. While it is
// open, the operation's host calls must run in it (the calls that take a
// transaction id) or wait until it ends; a call that would take a second
// connection from the pool (a Store call without the transaction's id, a
// second Begin, a panel read, a provisioning call, waiting for a service
// lock) is a breach. A breach is counted (Breaches) and logged; it is
// refused when Strict is set, as every e2e test runs, so a module path
// that breaks the rule fails its test. (The service lock itself holds no
// pool connection: ServiceLocks.)
//
// One Operations is shared by every plugin's services, so an operation is
// followed through whichever plugin it calls.
type Operations struct {
	Logger *slog.Logger
	// Strict refuses a breach with CodeInternal instead of logging it.
	Strict bool

	mu       sync.Mutex
	held     map[string]heldTx
	breaches map[hostapi.OperationKind]int
}

type heldTx struct {
	plugin string
	tx     hostapi.TxID
}

// NewOperations returns an empty registry.
func NewOperations(log *slog.Logger) *Operations {
	return &Operations{Logger: log, held: map[string]heldTx{}, breaches: map[hostapi.OperationKind]int{}}
}

// Breaches returns how many breaches of the rule operations of kind made.
func (o *Operations) Breaches(kind hostapi.OperationKind) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.breaches[kind]
}

// hold records that the operation in ctx holds transaction tx, refusing a
// second one. It returns the operation's id ("" outside any operation).
func (o *Operations) hold(ctx context.Context, plugin string, tx hostapi.TxID) (string, error) {
	if o == nil {
		return "", nil
	}
	op, ok := hostapi.OperationOf(ctx)
	if !ok {
		return "", nil
	}
	o.mu.Lock()
	prev, busy := o.held[op.ID]
	if !busy {
		o.held[op.ID] = heldTx{plugin: plugin, tx: tx}
	}
	o.mu.Unlock()
	if busy {
		if err := o.breach(op, prev, "a second transaction"); err != nil {
			return "", err
		}
		return "", nil
	}
	return op.ID, nil
}

// release forgets the transaction an operation held.
func (o *Operations) release(opID string, tx hostapi.TxID) {
	if o == nil || opID == "" {
		return
	}
	o.mu.Lock()
	if o.held[opID].tx == tx {
		delete(o.held, opID)
	}
	o.mu.Unlock()
}

// check is called before a host call takes a connection of its own from the
// pool: what names the call.
func (o *Operations) check(ctx context.Context, what string) error {
	if o == nil {
		return nil
	}
	op, ok := hostapi.OperationOf(ctx)
	if !ok {
		return nil
	}
	o.mu.Lock()
	h, busy := o.held[op.ID]
	o.mu.Unlock()
	if !busy {
		return nil
	}
	return o.breach(op, h, what)
}

// breach counts and logs a call that breaks the rule, and refuses it when
// Strict.
func (o *Operations) breach(op hostapi.Operation, h heldTx, what string) error {
	err := hostapi.Errorf(hostapi.CodeInternal,
		"pool rule: %s would take a second database connection while this %s holds transaction %s of %s; pass the transaction's id, or make the call before it opens or after it ends",
		what, op.Kind, h.tx, h.plugin)
	o.mu.Lock()
	o.breaches[op.Kind]++
	o.mu.Unlock()
	if o.Strict {
		return err
	}
	if o.Logger != nil {
		o.Logger.Warn("pool rule", "plugin", h.plugin, "operation", string(op.Kind), "call", what)
	}
	return nil
}
