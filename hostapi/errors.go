package hostapi

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error so that callers on either side of the wire can
// decide what to do with it (retry, refuse, report) without parsing messages.
type Code string

// The error codes a plugin or the host may return.
const (
	// CodeNotFound: the thing asked for does not exist (or is not yours).
	CodeNotFound Code = "not_found"
	// CodeConflict: the state changed under the caller (compare-and-set
	// failed, a duplicate, a port taken by someone else). Re-read and retry.
	CodeConflict Code = "conflict"
	// CodeCapacity: the target does not fit (node full, no free ports).
	CodeCapacity Code = "capacity"
	// CodeUnavailable: a dependency is down or rate limited; retry later.
	CodeUnavailable Code = "unavailable"
	// CodeInvalid: the request is malformed or out of range; Field names the
	// offending input where there is one. Retrying will not help.
	CodeInvalid Code = "invalid"
	// CodePermission: the caller may not do this.
	CodePermission Code = "permission_denied"
	// CodePrecondition: the request is valid but the current state forbids it
	// (inactive service, unpaid invoice, cycle without a price).
	CodePrecondition Code = "failed_precondition"
	// CodeInternal: a bug or an unexpected failure.
	CodeInternal Code = "internal"
)

// Error is the typed error that crosses the plugin boundary.
type Error struct {
	Code    Code
	Message string
	// Field names the input that was refused, for CodeInvalid.
	Field string
	// Err is the local cause; it does not cross the wire (only Message does).
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	switch {
	case msg != "":
	case e.Err != nil:
		msg = e.Err.Error()
	default:
		msg = string(e.Code)
	}
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return msg
}

// Unwrap returns the local cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so that the
// sentinels below match any error of their class.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code && t.Message == "" && t.Field == ""
}

// Sentinels for errors.Is. They carry only a Code.
var (
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrCapacity     = &Error{Code: CodeCapacity}
	ErrUnavailable  = &Error{Code: CodeUnavailable}
	ErrInvalid      = &Error{Code: CodeInvalid}
	ErrPermission   = &Error{Code: CodePermission}
	ErrPrecondition = &Error{Code: CodePrecondition}
	ErrInternal     = &Error{Code: CodeInternal}
)

// ErrPluginShutdown is returned (wrapped in a CodeUnavailable error) when a
// call cannot complete because the plugin process has exited.
var ErrPluginShutdown = errors.New("plugin has shut down")

// ErrUnimplemented is returned (wrapped in a CodeUnavailable error) when
// the peer is older than the call: its minor version lacks the RPC.
var ErrUnimplemented = errors.New("the peer's contract version lacks this call")

// Errorf builds an *Error of the given code with a formatted message. A %w verb
// in format keeps the cause for errors.Is/As on this side of the wire.
func Errorf(code Code, format string, args ...any) *Error {
	wrapped := fmt.Errorf(format, args...)
	// Keep the whole wrapped error as the cause: errors.Is/As then see
	// every %w operand, not only a single one.
	return &Error{Code: code, Message: wrapped.Error(), Err: wrapped}
}

// Invalid builds a CodeInvalid error naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// JoinInvalid reports several refused inputs at once, so that a client
// fixes every field in one round trip instead of one per request. errs are
// Invalid errors, each naming its field; nil ones are skipped. It returns
// nil for none and the error itself for one. For several it returns one
// CodeInvalid *Error whose Field is the first's and whose message lists
// every refusal after its field:
//
//	options.2: option "Plan" is required; options.5: option "Name" is required
//
// which is what Error() reads. The wire contract is unchanged: the error
// detail still carries one field (the first), and the message, which
// crosses the wire whole, names every one. On this side of the wire Err
// joins the causes (errors.Join), so errors.As and errors.Is reach each.
// An error of another code (a failure, not a refusal) is returned alone.
func JoinInvalid(errs ...error) error {
	var refused []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if CodeOf(err) != CodeInvalid {
			return err
		}
		refused = append(refused, err)
	}
	switch len(refused) {
	case 0:
		return nil
	case 1:
		return refused[0]
	}
	var first *Error
	errors.As(refused[0], &first)
	parts := make([]string, len(refused))
	for i, err := range refused {
		parts[i] = err.Error()
	}
	// Error() puts the first field back in front of the message.
	parts[0] = strings.TrimPrefix(parts[0], first.Field+": ")
	return &Error{Code: CodeInvalid, Field: first.Field, Message: strings.Join(parts, "; "), Err: errors.Join(refused...)}
}

// CodeOf returns the Code of err, CodeInternal for an untyped error and "" for
// nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// HTTPStatus is the one HTTP status for an error of code c, used by the
// host for every module reply and by Fail outside the host.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeNotFound:
		return 404
	case CodeConflict, CodePrecondition, CodeCapacity:
		return 409
	case CodeInvalid:
		return 422
	case CodePermission:
		return 403
	case CodeUnavailable:
		return 503
	}
	return 500
}
