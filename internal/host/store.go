package host

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

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

	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
	txs   map[hostapi.TxID]*storeTx
}

// NewStore returns a Store limited to tables starting with prefix. An empty
// prefix allows no table at all (adapters get no Store).
func NewStore(db *sqlx.DB, prefix string) *Store {
	return &Store{db: db, prefix: prefix, stmts: map[string]*sqlx.Stmt{}, txs: map[hostapi.TxID]*storeTx{}}
}

type storeTx struct {
	store  *Store
	id     hostapi.TxID
	tx     *sqlx.Tx
	cancel context.CancelFunc
}

func (t *storeTx) ID() hostapi.TxID { return t.id }

func (t *storeTx) Commit(context.Context) error {
	defer t.store.forget(t)
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (t *storeTx) Rollback(context.Context) error {
	defer t.store.forget(t)
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

func (s *Store) forget(t *storeTx) {
	s.mu.Lock()
	delete(s.txs, t.id)
	s.mu.Unlock()
	t.cancel()
}

// Begin opens a transaction that Panel and Audit calls can join by its id.
func (s *Store) Begin(ctx context.Context) (hostapi.Tx, error) {
	// The transaction outlives this call; it is bounded by maxTxLifetime
	// and by Close, not by the RPC's context.
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxTxLifetime)
	tx, err := s.db.BeginTxx(txCtx, nil)
	if err != nil {
		cancel()
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "begin transaction: %w", err)
	}
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	t := &storeTx{store: s, id: hostapi.TxID(hex.EncodeToString(raw[:])), tx: tx, cancel: cancel}
	s.mu.Lock()
	s.txs[t.id] = t
	s.mu.Unlock()
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
// prepared statements. The supervisor calls it when the plugin exits.
func (s *Store) Close() {
	s.mu.Lock()
	txs := s.txs
	s.txs = map[hostapi.TxID]*storeTx{}
	stmts := s.stmts
	s.stmts = map[string]*sqlx.Stmt{}
	s.mu.Unlock()
	for _, t := range txs {
		_ = t.tx.Rollback()
		t.cancel()
	}
	for _, st := range stmts {
		st.Close()
	}
}

// stmt returns the prepared statement for query, preparing it once.
func (s *Store) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.mu.Lock()
	st, ok := s.stmts[query]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	if err := CheckTables(query, s.prefix); err != nil {
		return nil, err
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodeInvalid, "prepare: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.stmts[query]; ok {
		st.Close()
		return prev, nil
	}
	if len(s.stmts) >= maxStatements {
		// A module that builds queries dynamically gets no cache benefit;
		// evict one rather than grow without bound.
		for q, old := range s.stmts {
			old.Close()
			delete(s.stmts, q)
			break
		}
	}
	s.stmts[query] = st
	return st, nil
}

func (s *Store) bound(ctx context.Context, tx hostapi.TxID, query string) (*sqlx.Stmt, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx == "" {
		return st, nil
	}
	t, err := s.sqlTx(tx)
	if err != nil {
		return nil, err
	}
	return t.tx.StmtxContext(ctx, st), nil
}

// Query runs a SELECT and reads every row.
func (s *Store) Query(ctx context.Context, tx hostapi.TxID, query string, args ...any) (*hostapi.Rows, error) {
	st, err := s.bound(ctx, tx, query)
	if err != nil {
		return nil, err
	}
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
	st, err := s.bound(ctx, tx, query)
	if err != nil {
		return hostapi.ExecResult{}, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return hostapi.ExecResult{}, sqlError("exec", err)
	}
	n, _ := res.RowsAffected()
	id, _ := res.LastInsertId()
	return hostapi.ExecResult{RowsAffected: n, LastInsertID: id}, nil
}

// sqlError types a database error: duplicate keys are conflicts (an
// idempotency key seen twice), lock waits and deadlocks are retryable.
func sqlError(op string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Error 1062"), strings.Contains(msg, "Duplicate entry"):
		return hostapi.Errorf(hostapi.CodeConflict, "%s: %w", op, err)
	case strings.Contains(msg, "Error 1213"), strings.Contains(msg, "Error 1205"):
		return hostapi.Errorf(hostapi.CodeUnavailable, "%s: %w", op, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return hostapi.Errorf(hostapi.CodeInternal, "%s: %w", op, err)
}
