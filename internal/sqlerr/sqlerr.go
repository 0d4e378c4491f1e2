// Package sqlerr says what an error from MySQL/MariaDB, or from the way to
// it, means to the caller: the row exists already (conflict), try again
// later (a lock, load, a lost or refused connection, a failover), the
// statement is wrong (invalid), a foreign key refuses (precondition), the
// user may not (permission). The host's Store and the panel binding type
// their errors with it, so a database that goes away is CodeUnavailable
// (HTTP 503, a job retried) wherever it is met.
package sqlerr

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/go-sql-driver/mysql"

	"github.com/upsell-io/upsell/hostapi"
)

// Code returns the code err calls for, and false for an error that is not
// the database's (a context's end, anything it does not know).
func Code(err error) (hostapi.Code, bool) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller's deadline, not the database's state (and
		// DeadlineExceeded would pass for a net.Error below).
		return "", false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if c, ok := mysqlCodes[me.Number]; ok {
			return c, true
		}
		return hostapi.CodeInternal, true
	}
	if connectionLost(err) {
		return hostapi.CodeUnavailable, true
	}
	return "", false
}

// connectionLost reports whether err says the connection to the server
// broke or could not be made (refused, reset, closed mid-reply), not the
// server's answer.
func connectionLost(err error) bool {
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.As(err, &netErr)
}

// mysqlCodes maps MySQL/MariaDB error numbers to codes; a number not listed
// is CodeInternal.
var mysqlCodes = map[uint16]hostapi.Code{
	// The row exists already.
	1062: hostapi.CodeConflict, // ER_DUP_ENTRY
	1022: hostapi.CodeConflict, // ER_DUP_KEY
	1586: hostapi.CodeConflict, // ER_DUP_ENTRY_WITH_KEY_NAME

	// Retry later: locks, load, lost connections, a failover.
	1213: hostapi.CodeUnavailable, // ER_LOCK_DEADLOCK
	1205: hostapi.CodeUnavailable, // ER_LOCK_WAIT_TIMEOUT
	1040: hostapi.CodeUnavailable, // ER_CON_COUNT_ERROR (too many connections)
	1203: hostapi.CodeUnavailable, // ER_TOO_MANY_USER_CONNECTIONS
	1226: hostapi.CodeUnavailable, // ER_USER_LIMIT_REACHED
	1461: hostapi.CodeUnavailable, // ER_MAX_PREPARED_STMT_COUNT_REACHED
	1053: hostapi.CodeUnavailable, // ER_SERVER_SHUTDOWN
	1927: hostapi.CodeUnavailable, // ER_CONNECTION_KILLED (MariaDB)
	1317: hostapi.CodeUnavailable, // ER_QUERY_INTERRUPTED
	1969: hostapi.CodeUnavailable, // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
	3024: hostapi.CodeUnavailable, // ER_QUERY_TIMEOUT (MySQL max_execution_time)
	1290: hostapi.CodeUnavailable, // ER_OPTION_PREVENTS_STATEMENT (--read-only)
	1836: hostapi.CodeUnavailable, // ER_READ_ONLY_MODE
	1158: hostapi.CodeUnavailable, // ER_NET_READ_ERROR
	1159: hostapi.CodeUnavailable, // ER_NET_READ_INTERRUPTED
	1160: hostapi.CodeUnavailable, // ER_NET_ERROR_ON_WRITE
	1161: hostapi.CodeUnavailable, // ER_NET_WRITE_INTERRUPTED
	2002: hostapi.CodeUnavailable, // CR_CONNECTION_ERROR
	2003: hostapi.CodeUnavailable, // CR_CONN_HOST_ERROR
	2006: hostapi.CodeUnavailable, // CR_SERVER_GONE_ERROR
	2013: hostapi.CodeUnavailable, // CR_SERVER_LOST

	// The statement or its values are wrong: retrying will not help.
	1064: hostapi.CodeInvalid, // ER_PARSE_ERROR
	1149: hostapi.CodeInvalid, // ER_SYNTAX_ERROR
	1054: hostapi.CodeInvalid, // ER_BAD_FIELD_ERROR (unknown column)
	1146: hostapi.CodeInvalid, // ER_NO_SUCH_TABLE
	1109: hostapi.CodeInvalid, // ER_UNKNOWN_TABLE
	1052: hostapi.CodeInvalid, // ER_NON_UNIQ_ERROR (ambiguous column)
	1136: hostapi.CodeInvalid, // ER_WRONG_VALUE_COUNT_ON_ROW
	1058: hostapi.CodeInvalid, // ER_WRONG_VALUE_COUNT
	1210: hostapi.CodeInvalid, // ER_WRONG_ARGUMENTS (parameter count)
	1048: hostapi.CodeInvalid, // ER_BAD_NULL_ERROR
	1364: hostapi.CodeInvalid, // ER_NO_DEFAULT_FOR_FIELD
	1263: hostapi.CodeInvalid, // ER_WARN_NULL_TO_NOTNULL
	1264: hostapi.CodeInvalid, // ER_WARN_DATA_OUT_OF_RANGE
	1265: hostapi.CodeInvalid, // WARN_DATA_TRUNCATED
	1292: hostapi.CodeInvalid, // ER_TRUNCATED_WRONG_VALUE
	1366: hostapi.CodeInvalid, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
	1406: hostapi.CodeInvalid, // ER_DATA_TOO_LONG
	1111: hostapi.CodeInvalid, // ER_INVALID_GROUP_FUNC_USE
	1140: hostapi.CodeInvalid, // ER_MIX_OF_GROUP_FUNC_AND_FIELDS
	1055: hostapi.CodeInvalid, // ER_WRONG_FIELD_WITH_GROUP
	1241: hostapi.CodeInvalid, // ER_OPERAND_COLUMNS
	1242: hostapi.CodeInvalid, // ER_SUBQUERY_NO_1_ROW
	1305: hostapi.CodeInvalid, // ER_SP_DOES_NOT_EXIST (unknown function)
	1582: hostapi.CodeInvalid, // ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT
	1583: hostapi.CodeInvalid, // ER_WRONG_PARAMETERS_TO_NATIVE_FCT
	3819: hostapi.CodeInvalid, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
	4025: hostapi.CodeInvalid, // ER_CONSTRAINT_FAILED (MariaDB)

	// A foreign key refuses the change in the current state.
	1451: hostapi.CodePrecondition, // ER_ROW_IS_REFERENCED_2
	1452: hostapi.CodePrecondition, // ER_NO_REFERENCED_ROW_2
	1216: hostapi.CodePrecondition, // ER_NO_REFERENCED_ROW
	1217: hostapi.CodePrecondition, // ER_ROW_IS_REFERENCED

	// The database user may not (a provider's per-module user).
	1044: hostapi.CodePermission, // ER_DBACCESS_DENIED_ERROR
	1045: hostapi.CodePermission, // ER_ACCESS_DENIED_ERROR
	1142: hostapi.CodePermission, // ER_TABLEACCESS_DENIED_ERROR
	1143: hostapi.CodePermission, // ER_COLUMNACCESS_DENIED_ERROR
	1227: hostapi.CodePermission, // ER_SPECIFIC_ACCESS_DENIED_ERROR
}
