package paymenter

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/upsell-io/upsell/hostapi"
)

func TestMapDBError(t *testing.T) {
	my := func(n uint16) error { return &mysql.MySQLError{Number: n, Message: "m"} }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want hostapi.Code
	}{
		{"duplicate", my(1062), hostapi.CodeConflict},
		{"deadlock", my(1213), hostapi.CodeUnavailable},
		{"lock wait", my(1205), hostapi.CodeUnavailable},
		// The database went away: every client request must answer 503
		// until it is back, not 500.
		{"connection refused", refused, hostapi.CodeUnavailable},
		{"server gone", my(2006), hostapi.CodeUnavailable},
		{"connection killed at shutdown", my(1927), hostapi.CodeUnavailable},
		{"invalid connection", mysql.ErrInvalidConn, hostapi.CodeUnavailable},
		// The binding's own statements: one the server refuses is a bug.
		{"syntax", my(1064), hostapi.CodeInternal},
		{"unknown table", my(1146), hostapi.CodeInternal},
		{"access denied", my(1142), hostapi.CodeInternal},
		{"anything else", errors.New("boom"), hostapi.CodeInternal},
	}
	for _, tc := range tests {
		in := fmt.Errorf("paymenter: read service 7: %w", tc.err)
		got := mapDBError(in)
		if code := hostapi.CodeOf(got); code != tc.want {
			t.Errorf("%s: %v has code %s, want %s", tc.name, got, code, tc.want)
		}
		if !errors.Is(got, tc.err) || got.Error() != in.Error() {
			t.Errorf("%s: %v lost its cause or message", tc.name, got)
		}
	}
}
