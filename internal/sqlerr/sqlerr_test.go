package sqlerr_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/sqlerr"
)

func TestCode(t *testing.T) {
	my := func(n uint16) error { return &mysql.MySQLError{Number: n, Message: "m"} }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want hostapi.Code // "" when the error is not the database's
	}{
		{"duplicate", my(1062), hostapi.CodeConflict},
		{"deadlock", my(1213), hostapi.CodeUnavailable},
		{"lock wait", my(1205), hostapi.CodeUnavailable},
		{"server shutting down", my(1053), hostapi.CodeUnavailable},
		{"connection killed at shutdown", my(1927), hostapi.CodeUnavailable},
		{"gone away", my(2006), hostapi.CodeUnavailable},
		{"lost mid-query", my(2013), hostapi.CodeUnavailable},
		{"read only (failover)", my(1290), hostapi.CodeUnavailable},
		{"syntax", my(1064), hostapi.CodeInvalid},
		{"foreign key", my(1452), hostapi.CodePrecondition},
		{"access denied", my(1045), hostapi.CodePermission},
		{"unknown number", my(1105), hostapi.CodeInternal},
		{"wrapped", fmt.Errorf("read service 7: %w", my(2013)), hostapi.CodeUnavailable},
		{"refused", fmt.Errorf("read service 7: %w", refused), hostapi.CodeUnavailable},
		{"bad connection", driver.ErrBadConn, hostapi.CodeUnavailable},
		{"invalid connection", mysql.ErrInvalidConn, hostapi.CodeUnavailable},
		{"connection done", sql.ErrConnDone, hostapi.CodeUnavailable},
		{"closed mid-reply", io.ErrUnexpectedEOF, hostapi.CodeUnavailable},
		{"no rows", sql.ErrNoRows, ""},
		{"anything else", errors.New("boom"), ""},
		{"canceled", context.Canceled, ""},
		// DeadlineExceeded is a net.Error too: the caller's deadline, not
		// the database's state.
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), ""},
	}
	for _, tc := range tests {
		code, ok := sqlerr.Code(tc.err)
		if code != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: Code = %q %v, want %q", tc.name, code, ok, tc.want)
		}
	}
}
