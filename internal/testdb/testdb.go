// Package testdb gives each test its own, uniquely named MySQL database and
// drops it afterwards.
//
// With UPSELL_TEST_MYSQL_DSN set (as .ci/run does) the databases live on that
// MariaDB/MySQL server. Without it the suite runs on the embedded engine so
// `go test ./...` passes on any machine; under CI=true a missing DSN is a
// failure, never a silent fallback. Tests that need real row locking call
// RequireMySQL, which skips (saying why) on the embedded engine.
//
// StartServer runs a private MariaDB server (own data directory and port)
// that a test may stop and start again; NewOn makes a database on it.
package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/internal/embeddedsql"
)

// EnvDSN names the variable holding the test server's DSN (no database).
const EnvDSN = "UPSELL_TEST_MYSQL_DSN"

// DB is one test's database.
type DB struct {
	*sqlx.DB
	// Name is the database name.
	Name string
	// DSN connects to this database.
	DSN string
	// Embedded is true on the embedded engine.
	Embedded bool
}

var (
	embeddedOnce sync.Once
	embedded     *embeddedsql.Server
	embeddedErr  error
)

// serverDSN returns the DSN of the server to create databases on.
func serverDSN(t testing.TB) (string, bool) {
	t.Helper()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn, false
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set under CI=true: the suite must run against MariaDB", EnvDSN)
	}
	embeddedOnce.Do(func() { embedded, embeddedErr = embeddedsql.Start() })
	if embeddedErr != nil {
		t.Fatalf("start embedded engine: %v", embeddedErr)
	}
	return embedded.DSN(""), true
}

// New creates a fresh database and registers its drop with t.Cleanup.
func New(t testing.TB) *DB {
	t.Helper()
	base, isEmbedded := serverDSN(t)
	return create(t, base, isEmbedded)
}

// NewOn creates a fresh database on the server at dsn (such as a private
// Server's) and registers its drop with t.Cleanup.
func NewOn(t testing.TB, dsn string) *DB {
	t.Helper()
	return create(t, dsn, false)
}

func create(t testing.TB, base string, isEmbedded bool) *DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("parse the test server's DSN: %v", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.MultiStatements = true
	cfg.DBName = ""
	admin, err := openWithRetry(cfg.FormatDSN())
	if err != nil {
		t.Fatalf("connect test server: %v", err)
	}
	defer admin.Close()

	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := "upsell_test_" + strings.ToLower(sanitize(t.Name())) + "_" + hex.EncodeToString(suffix[:])
	if len(name) > 64 {
		name = name[:51] + "_" + hex.EncodeToString(suffix[:])
	}
	if _, err := admin.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	db, err := openWithRetry(dsn)
	if err != nil {
		t.Fatalf("connect test database: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		cfg.DBName = ""
		if a, err := openWithRetry(cfg.FormatDSN()); err == nil {
			_, _ = a.Exec("DROP DATABASE IF EXISTS `" + name + "`")
			a.Close()
		}
	})
	return &DB{DB: db, Name: name, DSN: dsn, Embedded: isEmbedded}
}

// RequireMySQL skips the test on the embedded engine, which parses but does
// not honour row locks.
func (d *DB) RequireMySQL(t testing.TB) {
	t.Helper()
	if d.Embedded {
		t.Skipf("needs real MySQL row locking; set %s to run it", EnvDSN)
	}
}

func openWithRetry(dsn string) (*sqlx.DB, error) {
	var lastErr error
	for i := 0; i < 50; i++ {
		db, err := sqlx.Open("mysql", dsn)
		if err == nil {
			if err = db.Ping(); err == nil {
				return db, nil
			}
			db.Close()
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	return nil, lastErr
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 24 {
			break
		}
	}
	return b.String()
}
