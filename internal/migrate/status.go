package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/upsell-io/upsell/hostapi"
)

// ModuleMigrations is one module's migrations, as Status takes them.
type ModuleMigrations struct {
	Module     string
	Migrations []hostapi.Migration
}

// SourceStatus is the state of one source's migrations.
type SourceStatus struct {
	// Source is HostSource or the module's name.
	Source string
	// VersionTable is the goose version table tracking the source.
	VersionTable string
	// Applied and Pending are in ascending version order.
	Applied []MigrationState
	Pending []MigrationState
}

// MigrationState is one migration in a status report.
type MigrationState struct {
	Version int64
	Name    string
	// AppliedAt is when goose recorded the migration, zero while pending.
	// goose fills it with the server's CURRENT_TIMESTAMP, which follows the
	// session time zone rather than being UTC.
	AppliedAt time.Time
}

// Status reports, for the host and then for each of modules in the order
// given, which migrations are applied and which are pending. It only reads:
// it takes no lock and creates no version table, so it is safe to run next
// to a migrating replica (it may then see a run half done).
func Status(ctx context.Context, db *sql.DB, modules ...ModuleMigrations) ([]SourceStatus, error) {
	sources := make([]source, 0, 1+len(modules))
	host, err := hostSource()
	if err != nil {
		return nil, err
	}
	sources = append(sources, host)
	for _, m := range modules {
		src, err := moduleSource(m.Module, m.Migrations)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}

	statuses := make([]SourceStatus, 0, len(sources))
	for _, src := range sources {
		status, err := sourceStatus(ctx, db, src)
		if err != nil {
			return nil, err
		}
		statuses = append(statuses, status)
	}
	return statuses, nil
}

// sourceStatus reports the state of src's migrations.
func sourceStatus(ctx context.Context, db *sql.DB, src source) (SourceStatus, error) {
	status := SourceStatus{Source: src.name, VersionTable: src.versionTable}
	if len(src.names) == 0 {
		return status, nil
	}
	provider, err := newProvider(db, src)
	if err != nil {
		return SourceStatus{}, err
	}
	tracked, err := tableExists(ctx, db, src.versionTable)
	if err != nil {
		return SourceStatus{}, fmt.Errorf("status of %s: %w", src.name, err)
	}
	if !tracked {
		// Never migrated; asking goose would create the version table.
		for _, s := range provider.ListSources() {
			status.Pending = append(status.Pending, MigrationState{Version: s.Version, Name: src.names[s.Version]})
		}
		return status, nil
	}
	states, err := provider.Status(ctx)
	if err != nil {
		return SourceStatus{}, fmt.Errorf("status of %s: %w", src.name, err)
	}
	for _, s := range states {
		state := MigrationState{Version: s.Source.Version, Name: src.names[s.Source.Version], AppliedAt: s.AppliedAt}
		if s.State == goose.StateApplied {
			status.Applied = append(status.Applied, state)
		} else {
			status.Pending = append(status.Pending, state)
		}
	}
	return status, nil
}

// tableExists reports whether the current database has a table named table.
func tableExists(ctx context.Context, db *sql.DB, table string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
		table).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up table %s: %w", table, err)
	}
	return n > 0, nil
}
