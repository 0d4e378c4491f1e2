package paymenter

import (
	"database/sql"
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/upsell-io/upsell/hostapi"
)

// MySQL error numbers the binding classifies.
const (
	erDupEntry        = 1062
	erLockWaitTimeout = 1205
	erLockDeadlock    = 1213
)

// mapDBError gives a database error the hostapi code a caller can act on:
// a duplicate key is a conflict, a deadlock or lock wait timeout is worth a
// retry later. Other errors stay uncoded (CodeInternal). err keeps its chain.
func mapDBError(err error) error {
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) {
		return err
	}
	switch myErr.Number {
	case erDupEntry:
		return &hostapi.Error{Code: hostapi.CodeConflict, Message: err.Error(), Err: err}
	case erLockDeadlock, erLockWaitTimeout:
		return &hostapi.Error{Code: hostapi.CodeUnavailable, Message: err.Error(), Err: err}
	}
	return err
}

// isNoRows reports whether a single-row read found nothing.
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows)
}
