package hostapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/upsell-io/upsell/hostapi/internal/upsellv1"
)

// maxMessageBytes raises gRPC's 4 MiB default on both sides (vault#4957):
// a module's migrations or an audit export may be larger.
const maxMessageBytes = 64 << 20

var grpcCodes = map[Code]codes.Code{
	CodeNotFound:     codes.NotFound,
	CodeConflict:     codes.Aborted,
	CodeCapacity:     codes.ResourceExhausted,
	CodeUnavailable:  codes.Unavailable,
	CodeInvalid:      codes.InvalidArgument,
	CodePermission:   codes.PermissionDenied,
	CodePrecondition: codes.FailedPrecondition,
	CodeInternal:     codes.Internal,
}

// toStatus turns a handler's error into a gRPC status that carries the typed
// error's Code and Field.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	code, field := CodeInternal, ""
	var e *Error
	if errors.As(err, &e) {
		code, field = e.Code, e.Field
	}
	gc, ok := grpcCodes[code]
	if !ok {
		gc = codes.Unknown
	}
	msg := err.Error()
	if e != nil && e.Field != "" {
		// Error() prefixes the field; the field travels in the detail.
		msg = (&Error{Code: e.Code, Message: e.Message, Err: e.Err}).Error()
	}
	st, derr := status.New(gc, msg).WithDetails(&pb.ErrorDetail{Code: string(code), Field: field})
	if derr != nil {
		return status.Error(gc, msg)
	}
	return st.Err()
}

// fromStatus rebuilds a typed error from a gRPC error. done is the plugin's
// lifetime context (nil on the plugin side): when it has fired, transport
// failures become ErrPluginShutdown.
func fromStatus(ctx, done context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Code: CodeInternal, Message: err.Error(), Err: err}
	}
	for _, d := range st.Details() {
		if det, ok := d.(*pb.ErrorDetail); ok {
			return &Error{Code: Code(det.GetCode()), Message: st.Message(), Field: det.GetField()}
		}
	}
	if done != nil && done.Err() != nil && (st.Code() == codes.Canceled || st.Code() == codes.Unavailable) {
		// The call failed because the plugin process went away.
		return &Error{Code: CodeUnavailable, Message: "plugin has shut down", Err: ErrPluginShutdown}
	}
	switch st.Code() {
	case codes.Canceled:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %w", st.Message(), context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", st.Message(), context.DeadlineExceeded)
	case codes.Unavailable:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Code: CodeUnavailable, Message: st.Message()}
	}
	return &Error{Code: CodeInternal, Message: st.Message()}
}

// callCtx ties a host->plugin call to the plugin's lifetime, so a call to a
// dead plugin fails at once instead of hanging.
func callCtx(ctx, done context.Context) (context.Context, context.CancelFunc) {
	if done == nil {
		return ctx, func() {}
	}
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(done, cancel)
	return cctx, func() { stop(); cancel() }
}

// RecoverUnary turns a panic in a handler into a CodeInternal error, logging
// the stack to stderr (which go-plugin forwards to the host's log), so one bad
// request does not take the whole plugin down.
func RecoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "[ERROR] panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
			err = toStatus(&Error{Code: CodeInternal, Message: fmt.Sprintf("panic in %s: %v", info.FullMethod, r)})
		}
	}()
	return handler(ctx, req)
}

// ServerOptions are the gRPC options of every server of the contract, on
// both sides: panic recovery and raised message limits.
func ServerOptions(opts ...grpc.ServerOption) []grpc.ServerOption {
	return append(opts,
		grpc.ChainUnaryInterceptor(RecoverUnary),
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
	)
}

// newServer builds a gRPC server with ServerOptions; go-plugin's Serve and
// broker take a constructor of this shape.
func newServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(ServerOptions(opts...)...)
}

func callOptions() []grpc.CallOption {
	return []grpc.CallOption{grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)}
}
