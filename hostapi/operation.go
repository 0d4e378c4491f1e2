package hostapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// An operation is one HandleHTTP or HandleEvent call and every host call the
// plugin makes while serving it. The host names it in the call's metadata;
// the SDK's host client sends the name back with each host call made with
// the handler's context (or one derived from it), so the host knows which
// calls belong together. The host uses it to keep the pool rule: an
// operation that holds a database connection (an open Store transaction)
// never waits for a second one (see ARCHITECTURE.md, "Database
// connections"). A plugin built before minor 1.6 sends no name; its calls
// are then each an operation of their own.
const operationKey = "upsell-operation"

// OperationKind says what started an operation.
type OperationKind string

const (
	// RequestOperation is a HandleHTTP call: a client or admin waits.
	RequestOperation OperationKind = "request"
	// EventOperation is a HandleEvent call: a job.
	EventOperation OperationKind = "event"
)

// Operation names an operation: a random id and its kind.
type Operation struct {
	ID   string
	Kind OperationKind
}

// startOperation adds a new operation's name to ctx's outgoing metadata,
// unless ctx carries one already.
func startOperation(ctx context.Context, kind OperationKind) context.Context {
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(operationKey)) > 0 {
		return ctx
	}
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	return metadata.AppendToOutgoingContext(ctx, operationKey, string(kind)+":"+hex.EncodeToString(raw[:]))
}

// StartOperation names a new operation in ctx's outgoing metadata (or
// returns the one ctx names already), for the host: a call made with the
// returned context is that operation, so the host can attach what it knows
// of the request (who acts) to the plugin's host calls.
func StartOperation(ctx context.Context, kind OperationKind) (context.Context, Operation) {
	ctx = startOperation(ctx, kind)
	md, _ := metadata.FromOutgoingContext(ctx)
	v := md.Get(operationKey)
	return ctx, Operation{ID: v[0], Kind: kind}
}

// OperationOf returns the operation a host call belongs to, as the plugin
// sent it; ok is false for a call outside any operation (a plugin older
// than minor 1.6, or a call from the plugin's own goroutine).
func OperationOf(ctx context.Context) (Operation, bool) {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return Operation{}, false
	}
	v := md.Get(operationKey)
	if len(v) == 0 {
		return Operation{}, false
	}
	for i := 0; i < len(v[0]); i++ {
		if v[0][i] == ':' {
			return Operation{ID: v[0], Kind: OperationKind(v[0][:i])}, true
		}
	}
	return Operation{}, false
}

// forwardOperation copies the operation named in ctx's incoming metadata
// (the handler's call) to its outgoing metadata (the host call).
func forwardOperation(ctx context.Context) context.Context {
	in, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	v := in.Get(operationKey)
	if len(v) == 0 {
		return ctx
	}
	if out, ok := metadata.FromOutgoingContext(ctx); ok && len(out.Get(operationKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, operationKey, v[0])
}

// operationConn is the plugin's connection to the host API, sending each
// call's operation along.
type operationConn struct{ conn grpc.ClientConnInterface }

func (c operationConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.conn.Invoke(forwardOperation(ctx), method, args, reply, opts...)
}

func (c operationConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.conn.NewStream(forwardOperation(ctx), desc, method, opts...)
}
