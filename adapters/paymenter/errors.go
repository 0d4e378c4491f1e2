package paymenter

import (
	"database/sql"
	"errors"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/sqlerr"
)

// mapDBError gives a database error the hostapi code a caller can act on:
// a duplicate key is a conflict; a deadlock, a lock wait timeout, a full
// server or a lost or refused connection is worth a retry later
// (internal/sqlerr's classes). Other errors stay uncoded (CodeInternal): the
// binding's statements are its own, so one the server refuses is a bug, not
// the caller's bad input. err keeps its chain.
func mapDBError(err error) error {
	switch code, _ := sqlerr.Code(err); code {
	case hostapi.CodeConflict, hostapi.CodeUnavailable:
		return &hostapi.Error{Code: code, Message: err.Error(), Err: err}
	}
	return err
}

// isNoRows reports whether a single-row read found nothing.
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows)
}
