package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
)

// lockWaitSeconds is how long one GET_LOCK call waits before lockMigrations
// checks its context and asks again. Short, so that a cancelled context ends
// the wait promptly by itself rather than by the driver dropping the
// connection in the middle of a server-side wait.
const lockWaitSeconds = 2

// lockMigrations takes the database's migration lock and returns the function
// that releases it. It waits for as long as ctx allows.
//
// The lock is a MySQL named lock (GET_LOCK), which belongs to a connection:
// it is held on a dedicated connection while goose migrates over others from
// the pool, and if the process dies the server releases it with the
// connection, so a crashed replica cannot wedge later runs. Named locks are
// server-wide, so the name is derived from the database name: replicas of one
// installation exclude each other, other databases on the same server (other
// installations, parallel test databases) do not.
//
// Holding the lock around the whole run, rather than through goose's
// per-operation locker hooks, also covers goose's creation of the version
// table, which goose itself performs unlocked.
func lockMigrations(ctx context.Context, db *sql.DB) (unlock func() error, err error) {
	if db.Stats().MaxOpenConnections == 1 {
		// The lock would hold the pool's only connection and goose would
		// wait for another forever.
		return nil, errors.New("migration lock: the connection pool allows 1 open connection; migrating needs at least 2")
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration lock: connect: %w", err)
	}
	name, err := migrationLockName(ctx, conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, lockWaitSeconds).Scan(&got); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("migration lock %s: %w", name, err)
		}
		if got.Valid && got.Int64 == 1 {
			break
		}
		if !got.Valid {
			// NULL: the server failed to take the lock (out of memory, thread
			// killed); waiting longer will not help.
			_ = conn.Close()
			return nil, fmt.Errorf("migration lock %s: GET_LOCK returned NULL", name)
		}
		// 0: another replica is migrating; keep waiting unless told to stop.
		if err := ctx.Err(); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("migration lock %s: waiting for another migration: %w", name, err)
		}
	}
	return func() error { return releaseMigrationLock(ctx, conn, name) }, nil
}

// releaseMigrationLock releases the lock and returns conn to the pool. When
// the release fails the connection is discarded instead, which ends its
// session and so releases the lock server-side; a pooled connection would keep
// it forever.
func releaseMigrationLock(ctx context.Context, conn *sql.Conn, name string) error {
	// The run's context may be cancelled already; the lock must go anyway.
	ctx = context.WithoutCancel(ctx)
	var released sql.NullInt64
	err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", name).Scan(&released)
	if err == nil && released.Valid && released.Int64 == 1 {
		return conn.Close()
	}
	if err == nil {
		err = fmt.Errorf("RELEASE_LOCK returned %v", released)
	}
	// Returning driver.ErrBadConn from Raw makes database/sql close the
	// connection instead of pooling it.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
	return fmt.Errorf("release migration lock %s (connection closed instead): %w", name, err)
}

// migrationLockName returns the name of the current database's migration
// lock. MySQL limits lock names to 64 characters and database names may be as
// long, so the database name is hashed.
func migrationLockName(ctx context.Context, conn *sql.Conn) (string, error) {
	var database sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&database); err != nil {
		return "", fmt.Errorf("migration lock: current database: %w", err)
	}
	if !database.Valid || database.String == "" {
		return "", errors.New("migration lock: no database selected; the DSN must name one")
	}
	sum := sha256.Sum256([]byte(database.String))
	return "upsell_migrate_" + hex.EncodeToString(sum[:16]), nil
}
