// Package migrations holds the host's own schema: goose SQL files, embedded
// so that the upsell binary carries them and internal/migrate can apply them
// with a goose Provider.
//
// Conventions every file follows, and why:
//
//   - One table per file. MySQL/MariaDB commit DDL implicitly, so a file with
//     several statements that fails halfway leaves tables behind that goose
//     never recorded; one statement per file keeps a failed run re-runnable.
//   - Every table is prefixed upsell_ (modules use their own ext_ prefix), is
//     InnoDB (row locks, SKIP LOCKED) and utf8mb4 with utf8mb4_unicode_ci, the
//     charset and collation Paymenter's Laravel schema uses in the same
//     database.
//   - Timestamps are DATETIME(6) holding UTC, written by the application and
//     never defaulted: CURRENT_TIMESTAMP follows the session time_zone, and the
//     panel's server is not guaranteed to run in UTC.
//   - Closed sets of values are VARCHAR + named CHECK constraints, not ENUM:
//     a CHECK is enforced whatever the server's sql_mode, while an ENUM under a
//     non-strict sql_mode silently stores an empty string for an unknown value.
//   - JSON columns are LONGTEXT + CHECK (JSON_VALID(...)), which is what
//     MariaDB's JSON type is anyway. It keeps the document byte-for-byte (the
//     embedded engine's native JSON type re-encodes numbers, which would alter
//     money amounts in audit data).
//   - Every file must run on MariaDB 10.11 and on the embedded
//     go-mysql-server engine; internal/migrate's tests apply them on both.
//
// Files are named NNNNN_description.sql and are never edited once released:
// a schema change is a new file.
package migrations

import "embed"

// FS holds the host's goose SQL migrations at its root.
//
//go:embed *.sql
var FS embed.FS
