package host

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
)

// maxTxLifetime bounds how long a plugin may hold a transaction open; the
// database rolls it back when its context expires.
const maxTxLifetime = 2 * time.Minute

// maxStatements bounds the prepared statement cache per plugin.
const maxStatements = 256

// Store is a module's SQL access to its own tables.
type Store struct {
	db     *sqlx.DB
	prefix string

	// txLifetime and maxStmts are maxTxLifetime and maxStatements; tests
	// shorten them.
	txLifetime time.Duration
	maxStmts   int

	// ops keeps the pool rule across plugins; plugin names this one in
	// its messages. Set by New; nil for a Store of its own.
	ops    *Operations
	plugin string

	mu      sync.Mutex
	closed  bool // set by Close: the plugin is gone, nothing new may start
	stmts   map[string]*sqlx.Stmt
	warming map[string]bool // queries being prepared for stmts in the background
	txs     map[hostapi.TxID]*storeTx
}

// NewStore returns a Store limited to tables starting with prefix. An empty
// prefix allows no table at all (adapters get no Store).
func NewStore(db *sqlx.DB, prefix string) *Store {
	return &Store{
		db: db, prefix: prefix, txLifetime: maxTxLifetime, maxStmts: maxStatements,
		stmts: map[string]*sqlx.Stmt{}, warming: map[string]bool{}, txs: map[hostapi.TxID]*storeTx{},
	}
}

// errStoreClosed is what a call gets once its plugin has gone away.
func errStoreClosed() error {
	return hostapi.Errorf(hostapi.CodeUnavailable, "store closed: %w", hostapi.ErrPluginShutdown)
}

type storeTx struct {
	store  *Store
	id     hostapi.TxID
	op     string // the operation holding it ("" outside any)
	tx     *sqlx.Tx
	cancel context.CancelFunc
}

func (t *storeTx) ID() hostapi.TxID { return t.id }

func (t *storeTx) Commit(context.Context) error {
	defer t.store.forget(t)
	if err := t.tx.Commit(); err != nil {
		return sqlError("commit", err)
	}
	return nil
}

func (t *storeTx) Rollback(context.Context) error {
	defer t.store.forget(t)
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return sqlError("rollback", err)
	}
	return nil
}

// forget removes t from the open transactions (if it is still there) and
// releases its context.
func (s *Store) forget(t *storeTx) {
	s.mu.Lock()
	if s.txs[t.id] == t {
		delete(s.txs, t.id)
	}
	s.mu.Unlock()
	s.ops.release(t.op, t.id)
	t.cancel()
}

// Begin opens a transaction that Panel and Audit calls can join by its id.
func (s *Store) Begin(ctx context.Context) (hostapi.Tx, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errStoreClosed()
	}
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	id := hostapi.TxID(hex.EncodeToString(raw[:]))
	// Claimed before the connection is taken: an operation that holds a
	// transaction may not wait for a second one.
	op, err := s.ops.hold(ctx, s.plugin, id)
	if err != nil {
		return nil, err
	}
	// The transaction outlives this call; it is bounded by the lifetime
	// and by Close, not by the RPC's context.
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.txLifetime)
	tx, err := s.db.BeginTxx(txCtx, nil)
	if err != nil {
		cancel()
		s.ops.release(op, id)
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "begin transaction: %w", err)
	}
	t := &storeTx{store: s, id: id, op: op, tx: tx, cancel: cancel}
	s.mu.Lock()
	if s.closed {
		// The plugin went away while this Begin was in flight: nobody
		// would ever commit or roll it back.
		s.mu.Unlock()
		_ = tx.Rollback()
		cancel()
		s.ops.release(op, id)
		return nil, errStoreClosed()
	}
	s.txs[t.id] = t
	s.mu.Unlock()
	// database/sql rolls the transaction back when txCtx ends (lifetime
	// reached, or forget/Close); forget its id then too, so an expired
	// transaction does not stay in s.txs.
	context.AfterFunc(txCtx, func() { s.forget(t) })
	return t, nil
}

// Tx finds an open transaction by id.
func (s *Store) Tx(id hostapi.TxID) (hostapi.Tx, error) {
	t, err := s.sqlTx(id)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (s *Store) sqlTx(id hostapi.TxID) (*storeTx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errStoreClosed()
	}
	t, ok := s.txs[id]
	if !ok {
		return nil, hostapi.Errorf(hostapi.CodeNotFound, "no open transaction %q", id)
	}
	return t, nil
}

// SQLTx returns the *sqlx.Tx behind a TxID (nil for ""), for Panel and
// Audit calls that join a plugin's transaction.
func (s *Store) SQLTx(id hostapi.TxID) (*sqlx.Tx, error) {
	if id == "" {
		return nil, nil
	}
	t, err := s.sqlTx(id)
	if err != nil {
		return nil, err
	}
	return t.tx, nil
}

// Close rolls back every transaction the plugin left open and releases the
// prepared statements. The supervisor calls it when the plugin exits; from
// then on every call fails with CodeUnavailable, and a Begin or a prepare
// still in flight undoes what it made.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	txs := s.txs
	s.txs = map[hostapi.TxID]*storeTx{}
	stmts := s.stmts
	s.stmts = map[string]*sqlx.Stmt{}
	s.mu.Unlock()
	for _, t := range txs {
		_ = t.tx.Rollback()
		s.ops.release(t.op, t.id)
		t.cancel()
	}
	for _, st := range stmts {
		st.Close()
	}
}

// stmt returns the prepared statement for query, preparing it once. When
// the cache is full the statement is prepared for this call only and
// cached is false: the caller closes it after use. (The cache never evicts:
// closing a cached statement could pull it from under a call that has just
// taken it from the cache.)
func (s *Store) stmt(ctx context.Context, query string) (st *sqlx.Stmt, cached bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, errStoreClosed()
	}
	st, ok := s.stmts[query]
	s.mu.Unlock()
	if ok {
		return st, true, nil
	}
	if err := CheckTables(query, s.prefix); err != nil {
		return nil, false, err
	}
	st, err = s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, false, sqlError("prepare", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch prev, ok := s.stmts[query]; {
	case s.closed:
		st.Close()
		return nil, false, errStoreClosed()
	case ok:
		st.Close()
		return prev, true, nil
	case len(s.stmts) >= s.maxStmts:
		// A module that builds queries dynamically gets no cache benefit.
		return st, false, nil
	}
	s.stmts[query] = st
	return st, true, nil
}

// Check refuses a query that reaches outside the module's tables, as its
// first use would. (It does not prepare: a module's tables may not exist
// until its migrations run.)
func (s *Store) Check(query string) error {
	return CheckTables(query, s.prefix)
}

// bound returns the statement for query, in transaction tx when it is not
// empty, and the func to call once the statement (and its rows) are done.
func (s *Store) bound(ctx context.Context, tx hostapi.TxID, query string) (*sqlx.Stmt, func(), error) {
	if tx == "" {
		if err := s.ops.check(ctx, "a Store statement without the transaction's id"); err != nil {
			return nil, nil, err
		}
		st, cached, err := s.stmt(ctx, query)
		if err != nil {
			return nil, nil, err
		}
		if !cached {
			return st, func() { st.Close() }, nil
		}
		return st, func() {}, nil
	}
	t, err := s.sqlTx(tx)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	st, ok := s.stmts[query]
	s.mu.Unlock()
	if ok {
		// The transaction's copy would be closed at commit or rollback;
		// closing it now frees it sooner in a long transaction.
		tst := t.tx.StmtxContext(ctx, st)
		return tst, func() { tst.Close() }, nil
	}
	// Not prepared yet: prepare on the transaction's own connection.
	// Preparing it for the cache would take a second connection from the
	// pool while this one is held (the pool rule), so the cache is filled
	// in the background, by a goroutine that holds nothing.
	if err := CheckTables(query, s.prefix); err != nil {
		return nil, nil, err
	}
	tst, err := t.tx.PreparexContext(ctx, query)
	if err != nil {
		return nil, nil, sqlError("prepare", err)
	}
	s.warm(query)
	return tst, func() { tst.Close() }, nil
}

// warm prepares query for the cache in the background, once at a time.
func (s *Store) warm(query string) {
	s.mu.Lock()
	if s.closed || s.warming[query] || len(s.stmts) >= s.maxStmts {
		s.mu.Unlock()
		return
	}
	s.warming[query] = true
	s.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// A failure is not reported: the next use prepares again.
		if st, cached, err := s.stmt(ctx, query); err == nil && !cached {
			st.Close()
		}
		s.mu.Lock()
		delete(s.warming, query)
		s.mu.Unlock()
	}()
}

// Query runs a SELECT and reads every row.
func (s *Store) Query(ctx context.Context, tx hostapi.TxID, query string, args ...any) (*hostapi.Rows, error) {
	st, done, err := s.bound(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, sqlError("query", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, sqlError("query", err)
	}
	types, _ := rows.ColumnTypes()
	out := &hostapi.Rows{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, sqlError("scan", err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok && !isBinary(types, i) {
				vals[i] = string(b)
			}
		}
		out.Values = append(out.Values, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlError("query", err)
	}
	return out, nil
}

func isBinary(types []*sql.ColumnType, i int) bool {
	if i >= len(types) {
		return false
	}
	switch types[i].DatabaseTypeName() {
	case "BINARY", "VARBINARY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB":
		return true
	}
	return false
}

// Exec runs a statement that changes rows.
func (s *Store) Exec(ctx context.Context, tx hostapi.TxID, query string, args ...any) (hostapi.ExecResult, error) {
	st, done, err := s.bound(ctx, tx, query)
	if err != nil {
		return hostapi.ExecResult{}, err
	}
	defer done()
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return hostapi.ExecResult{}, sqlError("exec", err)
	}
	n, _ := res.RowsAffected()
	id, _ := res.LastInsertId()
	return hostapi.ExecResult{RowsAffected: n, LastInsertID: id}, nil
}

// sqlError types a database error so the caller knows whether to retry: a
// duplicate key is a conflict (an idempotency key seen twice); a lost
// connection, a full server, a deadlock or a lock wait is unavailable
// (retry later); a statement the server refuses is invalid (retrying will
// not help, and the job worker gives up on it at once); anything else is
// internal. Context errors pass through unchanged.
func sqlError(op string, err error) error {
	var typed *hostapi.Error
	switch {
	case errors.As(err, &typed):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return hostapi.Errorf(mysqlCode(me.Number), "%s: %w", op, err)
	}
	var netErr net.Error
	switch {
	case errors.Is(err, sql.ErrTxDone):
		return hostapi.Errorf(hostapi.CodeNotFound, "%s: the transaction is no longer open (committed, rolled back, or past its %s lifetime): %w", op, maxTxLifetime, err)
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.As(err, &netErr):
		return hostapi.Errorf(hostapi.CodeUnavailable, "%s: %w", op, err)
	}
	return hostapi.Errorf(hostapi.CodeInternal, "%s: %w", op, err)
}

// mysqlCode maps a MySQL/MariaDB error number to a Code; numbers not listed
// are CodeInternal.
func mysqlCode(n uint16) hostapi.Code {
	if c, ok := mysqlCodes[n]; ok {
		return c
	}
	return hostapi.CodeInternal
}

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
