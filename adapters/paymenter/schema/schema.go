// Package schema holds Paymenter's table definitions, in the shapes Laravel's
// migrations give them on MariaDB, and a seed of a coherent minimal Paymenter
// install: settings, currencies, a customer, a Pterodactyl server, a product
// bound to it with its server settings, a monthly plan and an active service
// in the middle of its cycle.
//
// It exists for tests of every package that talks to the panel database and
// for `upsell demo`; `upsell serve` never creates panel tables (the panel
// owns them). The DDL runs on MariaDB 10.11 and on the embedded
// go-mysql-server engine.
//
//	if err := schema.Create(ctx, db); err != nil { ... }
//	ids, err := schema.Seed(ctx, db, schema.SeedOptions{Timezone: "Europe/Berlin"})
//
// Every function takes an Execer, so a *sql.DB, *sqlx.DB, *sql.Tx or
// *sqlx.Tx all work. Times are written as naive wall-clock strings in the
// panel's timezone, as Paymenter writes them.
package schema

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

//go:embed paymenter.sql
var ddl string

// Execer runs a statement. *sql.DB, *sqlx.DB, *sql.Tx, *sqlx.Tx and *sql.Conn
// implement it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Tables returns Paymenter's table names in the order Create makes them
// (every table after the tables it references).
func Tables() []string {
	var names []string
	for _, stmt := range Statements() {
		if strings.HasPrefix(stmt, "CREATE TABLE") {
			names = append(names, tableName(stmt))
		}
	}
	return names
}

// tableName extracts the name from "CREATE TABLE `name` (" or
// "ALTER TABLE `name` ...".
func tableName(stmt string) string {
	_, rest, _ := strings.Cut(stmt, "`")
	name, _, _ := strings.Cut(rest, "`")
	return name
}

// Statements returns the DDL statements (CREATE TABLE, and ALTER TABLE for
// the self-referencing foreign keys), one per element, without comments or
// the trailing semicolon. They run one at a time, so the
// connection does not need multiStatements.
func Statements() []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(ddl, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			stmts = append(stmts, stmt)
			cur.Reset()
		}
	}
	return stmts
}

// Create makes Paymenter's tables in an empty database.
func Create(ctx context.Context, db Execer) error {
	for _, stmt := range Statements() {
		if err := execDDL(ctx, db, stmt); err != nil {
			return fmt.Errorf("paymenter schema, table %s: %w", tableName(stmt), err)
		}
	}
	return nil
}

// execDDL runs one statement, working around one gap of the embedded engine.
//
// go-mysql-server's in-memory databases, as internal/embeddedsql creates them
// (without memory.NativeIndexProvider), do not expose primary keys as
// indexes, so every foreign key fails there with "missing index for foreign
// key `fk` on the referenced table `t`" (after creating the table anyway). On
// that error, and only then, the referenced table gets a unique index on its
// id (equivalent: a primary key is unique anyway), the half-made table is
// dropped and the statement runs again. MariaDB accepts every
// statement as Laravel writes it and keeps the exact shape.
func execDDL(ctx context.Context, db Execer, stmt string) error {
	for {
		_, err := db.ExecContext(ctx, stmt)
		if err == nil {
			return nil
		}
		m := missingFKIndex.FindStringSubmatch(err.Error())
		if m == nil {
			return err
		}
		target := m[1]
		helper := fmt.Sprintf("ALTER TABLE `%s` ADD UNIQUE KEY `%s_id_fk_target_unique` (`id`)", target, target)
		if _, helperErr := db.ExecContext(ctx, helper); helperErr != nil {
			// Already added (or impossible): report the original error.
			return err
		}
		// The engine keeps a table whose CREATE failed on a foreign key.
		if strings.HasPrefix(stmt, "CREATE TABLE") {
			if _, dropErr := db.ExecContext(ctx, "DROP TABLE IF EXISTS `"+tableName(stmt)+"`"); dropErr != nil {
				return err
			}
		}
	}
}

// missingFKIndex matches the embedded engine's error for a foreign key whose
// referenced columns have no usable index; group 1 is the referenced table.
var missingFKIndex = regexp.MustCompile("missing index for foreign key `[^`]+` on the referenced table `([^`]+)`")
