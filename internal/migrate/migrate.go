// Package migrate applies upsell's database schema: the host's own tables
// (package migrations) and each module's tables (the []hostapi.Migration a
// module hands to the host; plugins never run DDL themselves).
//
// The work is done by a pressly/goose v3 Provider; this package only feeds it
// the right file system and version table for each source:
//
//   - the host's migrations are tracked in upsell_schema_migrations;
//   - module m's migrations are converted into an in-memory file system of
//     goose SQL files and tracked apart in upsell_schema_migrations_m, so two
//     modules may use the same version numbers.
//
// Nothing here reads or writes a table it does not create: Paymenter's own
// tables, and Laravel's "migrations" table in particular, share the database
// and stay untouched.
//
// Several `upsell serve` replicas may migrate the same database at once. goose
// v3 ships a session locker for Postgres only (for MySQL it offers a lease
// table that polls every few seconds), so each run holds a MySQL named lock,
// GET_LOCK, scoped to the current database, for its whole duration; see
// lockMigrations. The embedded go-mysql-server engine implements GET_LOCK
// with real mutual exclusion too, released when its connection closes.
//
// MySQL commits DDL implicitly: a migration with several DDL statements that
// fails halfway leaves the earlier statements applied but the version
// unrecorded. Keep one DDL statement per migration.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/migrations"
)

// HostSource is the Source of the host's own migrations in results and
// status reports; module migrations carry the module's name.
const HostSource = "host"

// HostVersionTable is the goose version table of the host's migrations.
// Module version tables are named HostVersionTable + "_" + module name.
const HostVersionTable = "upsell_schema_migrations"

// Applied is one migration a run applied.
type Applied struct {
	// Source is HostSource or the module's name.
	Source   string
	Version  int64
	Name     string
	Duration time.Duration
}

// Result lists what a run applied, in the order it was applied. It is empty
// when the schema was already up to date.
type Result struct {
	Applied []Applied
}

// source is one independently versioned set of migrations.
type source struct {
	// name is HostSource or the module name.
	name string
	// versionTable is goose's version table for this source.
	versionTable string
	// fsys holds goose SQL files named <version>_<name>.sql at its root.
	fsys fs.FS
	// names maps a version to its human-readable name.
	names map[int64]string
}

// hostSource returns the host's migrations, read from the embedded files.
func hostSource() (source, error) {
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return source{}, fmt.Errorf("list host migrations: %w", err)
	}
	names := make(map[int64]string, len(files))
	for _, file := range files {
		version, err := goose.NumericComponent(file)
		if err != nil {
			// goose would skip such a file silently; a misnamed host
			// migration is a packaging bug, so fail loudly instead.
			return source{}, fmt.Errorf("host migration %s: %w", file, err)
		}
		_, name, _ := strings.Cut(strings.TrimSuffix(path.Base(file), ".sql"), "_")
		names[version] = name
	}
	return source{
		name:         HostSource,
		versionTable: HostVersionTable,
		fsys:         migrations.FS,
		names:        names,
	}, nil
}

// Host applies the host's pending migrations (package migrations), tracked
// in HostVersionTable, and reports what it applied.
func Host(ctx context.Context, db *sql.DB) (Result, error) {
	src, err := hostSource()
	if err != nil {
		return Result{}, err
	}
	return apply(ctx, db, src)
}

// Module applies module's pending migrations, tracked in the module's own
// version table, and reports what it applied. The module name must match
// ModuleNamePattern; migrations with a version below 1, a duplicate version or
// no SQL statement are refused before anything is applied. A module without
// migrations is a no-op.
//
// A module's SQL is plain SQL, each statement ending in a semicolon, or a
// complete goose SQL file when it needs annotations (StatementBegin/End, NO
// TRANSACTION). A new migration must have a version above every applied one:
// goose refuses to apply an older, skipped version out of order.
func Module(ctx context.Context, db *sql.DB, module string, ms []hostapi.Migration) (Result, error) {
	src, err := moduleSource(module, ms)
	if err != nil {
		return Result{}, err
	}
	if len(ms) == 0 {
		return Result{}, nil
	}
	return apply(ctx, db, src)
}

// apply runs src's pending migrations under the migration lock.
func apply(ctx context.Context, db *sql.DB, src source) (result Result, err error) {
	provider, err := newProvider(db, src)
	if err != nil {
		return Result{}, err
	}
	unlock, err := lockMigrations(ctx, db)
	if err != nil {
		return Result{}, fmt.Errorf("migrate %s: %w", src.name, err)
	}
	defer func() {
		if unlockErr := unlock(); unlockErr != nil {
			err = errors.Join(err, fmt.Errorf("migrate %s: %w", src.name, unlockErr))
		}
	}()

	applied, err := provider.Up(ctx)
	if err != nil {
		var partial *goose.PartialError
		if errors.As(err, &partial) {
			// Earlier migrations of this run did apply; report them so the
			// operator sees where the run stopped.
			result.Applied = src.applied(partial.Applied)
			failed := partial.Failed.Source.Version
			return result, fmt.Errorf("migrate %s: version %d (%s): %w", src.name, failed, src.names[failed], partial.Err)
		}
		return Result{}, fmt.Errorf("migrate %s: %w", src.name, err)
	}
	result.Applied = src.applied(applied)
	return result, nil
}

// newProvider returns a goose Provider for src.
func newProvider(db *sql.DB, src source) (*goose.Provider, error) {
	provider, err := goose.NewProvider(goose.DialectMySQL, db, src.fsys,
		goose.WithTableName(src.versionTable),
		// Go migrations registered globally by some other import must never
		// leak into upsell's schema.
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", src.name, err)
	}
	return provider, nil
}

// applied converts goose's results into Applied entries of src.
func (src source) applied(results []*goose.MigrationResult) []Applied {
	var out []Applied
	for _, r := range results {
		out = append(out, Applied{
			Source:   src.name,
			Version:  r.Source.Version,
			Name:     src.names[r.Source.Version],
			Duration: r.Duration,
		})
	}
	return out
}
