package intake

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestIsLockConflict(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"deadlock", fmt.Errorf("record inbox: %w", &mysql.MySQLError{Number: 1213, Message: "Deadlock found"}), true},
		{"lock wait timeout", fmt.Errorf("enqueue job: %w", &mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}), true},
		{"duplicate key", &mysql.MySQLError{Number: 1062}, false},
		{"connection lost", mysql.ErrInvalidConn, false},
		{"other", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		if got := isLockConflict(tc.err); got != tc.want {
			t.Errorf("%s: isLockConflict = %v, want %v", tc.name, got, tc.want)
		}
	}
}
