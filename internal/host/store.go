package host

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/sqlerr"
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
// internal (the classes are internal/sqlerr's). Context errors pass
// through unchanged.
func sqlError(op string, err error) error {
	var typed *hostapi.Error
	switch {
	case errors.As(err, &typed):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	if errors.Is(err, sql.ErrTxDone) {
		return hostapi.Errorf(hostapi.CodeNotFound, "%s: the transaction is no longer open (committed, rolled back, or past its %s lifetime): %w", op, maxTxLifetime, err)
	}
	if code, ok := sqlerr.Code(err); ok {
		return hostapi.Errorf(code, "%s: %w", op, err)
	}
	return hostapi.Errorf(hostapi.CodeInternal, "%s: %w", op, err)
}
