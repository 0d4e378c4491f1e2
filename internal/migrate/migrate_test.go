package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/testdb"
	"github.com/upsell-io/upsell/migrations"
)

// hostTables are the tables the host's migrations create.
var hostTables = []string{
	"upsell_admin_signouts",
	"upsell_audit",
	"upsell_inbox",
	"upsell_jobs",
	"upsell_link_revocations",
	"upsell_panel_invoices",
	"upsell_plugins",
	"upsell_service_locks",
	"upsell_service_writes",
}

// hostVersions are the host's migration versions: one per table, then
// schema changes to existing tables (00007 indexes expired job leases), then
// 00008's upsell_service_writes, 00009's upsell_link_revocations, then
// 00010's revival of jobs parked as dead for unpaid invoices, 00011's
// console sessions (upsell_admin_signouts, upsell_audit.actor), 00012's
// index of upsell_panel_invoices by creation time.
var hostVersions = []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

// recordedHostVersions is what goose records for them, after its initial 0.
var recordedHostVersions = append([]int64{0}, hostVersions...)

func TestHostMigrationFilesAreWellFormed(t *testing.T) {
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(hostVersions) {
		t.Fatalf("embedded %d migration files, want %d: %v", len(files), len(hostVersions), files)
	}
	src, err := hostSource()
	if err != nil {
		t.Fatal(err)
	}
	// goose skips misnamed files silently; every embedded file must count.
	if len(src.names) != len(files) {
		t.Errorf("host source has %d versions for %d files", len(src.names), len(files))
	}
	for _, file := range files {
		body, err := fs.ReadFile(migrations.FS, file)
		if err != nil {
			t.Fatal(err)
		}
		for _, annotation := range []string{"-- +goose Up\n", "-- +goose Down\n"} {
			if !strings.Contains(string(body), annotation) {
				t.Errorf("%s lacks %q", file, strings.TrimSpace(annotation))
			}
		}
	}
}

func TestHostCreatesTablesAndSecondRunIsNoOp(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)

	first, err := Host(ctx, db.DB.DB)
	if err != nil {
		t.Fatalf("Host: %v", err)
	}
	var gotVersions []int64
	for _, a := range first.Applied {
		if a.Source != HostSource || a.Name == "" {
			t.Errorf("applied %+v: want source %q and a name", a, HostSource)
		}
		gotVersions = append(gotVersions, a.Version)
	}
	if want := hostVersions; !slices.Equal(gotVersions, want) {
		t.Fatalf("applied versions %v, want %v", gotVersions, want)
	}

	wantTables := append(slices.Clone(hostTables), HostVersionTable)
	slices.Sort(wantTables)
	if got := tablesIn(t, db.DB.DB); !slices.Equal(got, wantTables) {
		t.Fatalf("tables after Host: %v, want %v", got, wantTables)
	}
	recorded := versionsIn(t, db.DB.DB, HostVersionTable)

	second, err := Host(ctx, db.DB.DB)
	if err != nil {
		t.Fatalf("second Host: %v", err)
	}
	if len(second.Applied) != 0 {
		t.Errorf("second Host applied %+v, want nothing", second.Applied)
	}
	if again := versionsIn(t, db.DB.DB, HostVersionTable); !slices.Equal(again, recorded) {
		t.Errorf("version table changed by second run: %v, then %v", recorded, again)
	}

	statuses, err := Status(ctx, db.DB.DB)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if len(statuses) != 1 || len(statuses[0].Applied) != len(hostVersions) || len(statuses[0].Pending) != 0 {
		t.Errorf("status after Host: %+v, want %d applied and none pending", statuses, len(hostVersions))
	}
}

func TestHostSchema(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	if _, err := Host(ctx, db.DB.DB); err != nil {
		t.Fatalf("Host: %v", err)
	}

	t.Run("engine and collation", func(t *testing.T) {
		rows := queryStrings(t, db.DB.DB, `SELECT CONCAT(table_name, ' ', engine, ' ', table_collation)
			FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'upsell\_%'
			AND table_name <> ? ORDER BY table_name`, HostVersionTable)
		var want []string
		for _, table := range hostTables {
			want = append(want, table+" InnoDB utf8mb4_unicode_ci")
		}
		if !slices.Equal(rows, want) {
			t.Errorf("got %q, want %q", rows, want)
		}
	})

	t.Run("timestamps are DATETIME(6)", func(t *testing.T) {
		wrong := queryStrings(t, db.DB.DB, `SELECT CONCAT(table_name, '.', column_name, ' ', column_type)
			FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name <> ?
			AND (column_name LIKE '%\_at' OR column_name IN ('run_after', 'lease_until'))
			AND NOT (data_type = 'datetime' AND datetime_precision = 6)`, HostVersionTable)
		if len(wrong) > 0 {
			t.Errorf("timestamp columns not DATETIME(6): %v", wrong)
		}
	})

	t.Run("primary keys", func(t *testing.T) {
		// information_schema reports primary keys differently on the two
		// engines; both print them alike in SHOW CREATE TABLE.
		want := map[string]string{
			"upsell_admin_signouts":   "session_hash",
			"upsell_audit":            "id",
			"upsell_inbox":            "id",
			"upsell_jobs":             "id",
			"upsell_link_revocations": "user_id",
			"upsell_panel_invoices":   "id",
			"upsell_plugins":          "name",
			"upsell_service_locks":    "service_id",
			"upsell_service_writes":   "service_id`,`subject",
		}
		for _, table := range hostTables {
			var name, ddl string
			if err := db.QueryRowContext(ctx, "SHOW CREATE TABLE "+table).Scan(&name, &ddl); err != nil {
				t.Fatal(err)
			}
			if pk := "PRIMARY KEY (`" + want[table] + "`)"; !strings.Contains(ddl, pk) {
				t.Errorf("%s lacks %s:\n%s", table, pk, ddl)
			}
		}
	})

	t.Run("secondary indexes", func(t *testing.T) {
		// GROUP_CONCAT's ORDER BY is not portable to the embedded engine, so
		// columns are listed one per row, in index order.
		got := queryStrings(t, db.DB.DB, `SELECT CONCAT(table_name, ' ', index_name, ' ', non_unique, ' ', column_name)
			FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name <> 'PRIMARY'
			ORDER BY table_name, index_name, seq_in_index`)
		want := []string{
			"upsell_admin_signouts upsell_admin_signouts_expires_idx 1 expires_at",
			"upsell_audit upsell_audit_service_idx 1 service_id",
			"upsell_audit upsell_audit_service_idx 1 id",
			"upsell_audit upsell_audit_subject_idx 1 subject",
			"upsell_inbox upsell_inbox_event_uq 0 panel",
			"upsell_inbox upsell_inbox_event_uq 0 invoice_id",
			"upsell_inbox upsell_inbox_event_uq 0 kind",
			"upsell_jobs upsell_jobs_dedupe_uq 0 kind",
			"upsell_jobs upsell_jobs_dedupe_uq 0 dedupe_key",
			"upsell_jobs upsell_jobs_due_idx 1 state",
			"upsell_jobs upsell_jobs_due_idx 1 run_after",
			"upsell_jobs upsell_jobs_lease_idx 1 state",
			"upsell_jobs upsell_jobs_lease_idx 1 lease_until",
			"upsell_link_revocations upsell_link_revocations_revoked_idx 1 revoked_at",
			"upsell_panel_invoices upsell_panel_invoices_created_idx 1 panel",
			"upsell_panel_invoices upsell_panel_invoices_created_idx 1 created_at",
			"upsell_panel_invoices upsell_panel_invoices_created_idx 1 module",
			"upsell_panel_invoices upsell_panel_invoices_created_idx 1 invoice_id",
			"upsell_panel_invoices upsell_panel_invoices_invoice_uq 0 panel",
			"upsell_panel_invoices upsell_panel_invoices_invoice_uq 0 invoice_id",
			"upsell_panel_invoices upsell_panel_invoices_key_uq 0 idempotency_key",
		}
		if !slices.Equal(got, want) {
			t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	})

	t.Run("check constraints", func(t *testing.T) {
		const now = "'2025-01-02 03:04:05.123456'"
		tests := []struct {
			name    string
			insert  string
			wantErr bool
		}{
			{"built-in plugin", "INSERT INTO upsell_plugins (name, kind, path, sha256, version, enabled, created_at, updated_at) VALUES ('builtin', 'module', '', NULL, '1.0.0', TRUE, " + now + ", " + now + ")", false},
			{"external plugin", "INSERT INTO upsell_plugins (name, kind, path, sha256, version, enabled, created_at, updated_at) VALUES ('external', 'adapter', 'pterodactyl', REPEAT('a', 64), '1.0.0', FALSE, " + now + ", " + now + ")", false},
			{"external plugin without checksum", "INSERT INTO upsell_plugins (name, kind, path, sha256, enabled, created_at, updated_at) VALUES ('unverified', 'module', 'bin/x', NULL, TRUE, " + now + ", " + now + ")", true},
			{"unknown plugin kind", "INSERT INTO upsell_plugins (name, kind, enabled, created_at, updated_at) VALUES ('odd', 'theme', TRUE, " + now + ", " + now + ")", true},
			{"inbox event", "INSERT INTO upsell_inbox (panel, invoice_id, kind, source, first_seen_at, last_seen_at) VALUES ('paymenter', 18446744073709551615, 'invoice.paid', 'webhook', " + now + ", " + now + ")", false},
			{"unknown inbox source", "INSERT INTO upsell_inbox (panel, invoice_id, kind, source, first_seen_at, last_seen_at) VALUES ('paymenter', 2, 'invoice.paid', 'email', " + now + ", " + now + ")", true},
			{"job", "INSERT INTO upsell_jobs (kind, module, dedupe_key, payload, max_attempts, run_after, created_at, updated_at) VALUES ('event', 'micro_upsell', 'invoice:1', '{\"amount\": \"1.10\"}', 5, " + now + ", " + now + ", " + now + ")", false},
			{"duplicate job", "INSERT INTO upsell_jobs (kind, module, dedupe_key, payload, max_attempts, run_after, created_at, updated_at) VALUES ('event', 'micro_upsell', 'invoice:1', '{}', 5, " + now + ", " + now + ", " + now + ")", true},
			{"job with invalid JSON", "INSERT INTO upsell_jobs (kind, module, dedupe_key, payload, max_attempts, run_after, created_at, updated_at) VALUES ('event', 'm', 'invoice:2', '{oops', 5, " + now + ", " + now + ", " + now + ")", true},
			{"job in unknown state", "INSERT INTO upsell_jobs (kind, module, dedupe_key, payload, state, max_attempts, run_after, created_at, updated_at) VALUES ('event', 'm', 'invoice:3', '{}', 'paused', 5, " + now + ", " + now + ", " + now + ")", true},
			{"audit entry", "INSERT INTO upsell_audit (plugin, action, service_id, subject, message, data, created_at) VALUES ('host', 'provision', 7, 'service:7', 'ok', '{\"price\": \"9.99\"}', " + now + ")", false},
			{"price written", "INSERT INTO upsell_service_writes (service_id, subject, price, limit_value, module, written_at) VALUES (7, 'price', 12.00, NULL, 'microupsell', " + now + ")", false},
			{"limit written", "INSERT INTO upsell_service_writes (service_id, subject, price, limit_value, module, written_at) VALUES (7, 'memory_mib', NULL, 5120, 'microupsell', " + now + ")", false},
			{"price written without a price", "INSERT INTO upsell_service_writes (service_id, subject, price, limit_value, module, written_at) VALUES (8, 'price', NULL, 5120, 'microupsell', " + now + ")", true},
			{"limit written as a price", "INSERT INTO upsell_service_writes (service_id, subject, price, limit_value, module, written_at) VALUES (8, 'disk_mib', 1.00, NULL, 'microupsell', " + now + ")", true},
			{"links revoked", "INSERT INTO upsell_link_revocations (user_id, revoked_at) VALUES (7, " + now + ")", false},
			{"links revoked twice", "INSERT INTO upsell_link_revocations (user_id, revoked_at) VALUES (7, " + now + ")", true},
			{"audit with invalid JSON", "INSERT INTO upsell_audit (plugin, action, message, data, created_at) VALUES ('host', 'provision', 'ok', 'not json', " + now + ")", true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := db.ExecContext(ctx, tt.insert)
				if gotErr := err != nil; gotErr != tt.wantErr {
					t.Errorf("insert error = %v, want error: %v", err, tt.wantErr)
				}
			})
		}
	})

	t.Run("JSON kept byte for byte", func(t *testing.T) {
		// Amounts in audit data are decimal strings or numbers; neither may
		// be re-encoded by the database.
		const doc = `{"total": 12345678901234567890.10, "currency": "EUR"}`
		if _, err := db.ExecContext(ctx, "INSERT INTO upsell_audit (plugin, action, message, data, created_at) VALUES ('host', 'json', '', ?, '2025-01-02 03:04:05')", doc); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := db.QueryRowContext(ctx, "SELECT data FROM upsell_audit WHERE action = 'json'").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != doc {
			t.Errorf("data came back as %s, want %s", got, doc)
		}
	})
}

// alphaMigrations and betaMigrations use the same version numbers on purpose.
var (
	alphaMigrations = []hostapi.Migration{
		{Version: 1, Name: "create items", SQL: "CREATE TABLE ext_alpha_items (id BIGINT UNSIGNED NOT NULL PRIMARY KEY) ENGINE = InnoDB;"},
		{Version: 2, Name: "add label", SQL: "-- +goose Up\nALTER TABLE ext_alpha_items ADD COLUMN label VARCHAR(64) NOT NULL DEFAULT '';\n"},
	}
	betaMigrations = []hostapi.Migration{
		{Version: 2, Name: "create orders", SQL: "-- orders placed through beta\nCREATE TABLE ext_beta_orders (\n  id BIGINT UNSIGNED NOT NULL PRIMARY KEY\n);\nCREATE INDEX ext_beta_orders_id ON ext_beta_orders (id);"},
		{Version: 1, Name: "create settings", SQL: "CREATE TABLE ext_beta_settings (name VARCHAR(64) NOT NULL PRIMARY KEY);"},
	}
)

func TestModulesTrackedApart(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	if _, err := Host(ctx, db.DB.DB); err != nil {
		t.Fatalf("Host: %v", err)
	}

	for _, tt := range []struct {
		module     string
		migrations []hostapi.Migration
		want       []Applied
	}{
		{"alpha", alphaMigrations, []Applied{{Source: "alpha", Version: 1, Name: "create items"}, {Source: "alpha", Version: 2, Name: "add label"}}},
		{"beta", betaMigrations, []Applied{{Source: "beta", Version: 1, Name: "create settings"}, {Source: "beta", Version: 2, Name: "create orders"}}},
	} {
		res, err := Module(ctx, db.DB.DB, tt.module, tt.migrations)
		if err != nil {
			t.Fatalf("Module(%s): %v", tt.module, err)
		}
		if got := withoutDurations(res.Applied); !slices.Equal(got, tt.want) {
			t.Errorf("Module(%s) applied %+v, want %+v", tt.module, got, tt.want)
		}
		if got := versionsIn(t, db.DB.DB, ModuleVersionTable(tt.module)); !slices.Equal(got, []int64{0, 1, 2}) {
			t.Errorf("%s records %v, want [0 1 2]", ModuleVersionTable(tt.module), got)
		}
	}
	if got := versionsIn(t, db.DB.DB, HostVersionTable); !slices.Equal(got, recordedHostVersions) {
		t.Errorf("host version table records %v after module runs", got)
	}
	for _, table := range []string{"ext_alpha_items", "ext_beta_orders", "ext_beta_settings"} {
		if !slices.Contains(tablesIn(t, db.DB.DB), table) {
			t.Errorf("table %s missing", table)
		}
	}

	// A second run of every source applies nothing.
	for _, run := range []func() (Result, error){
		func() (Result, error) { return Host(ctx, db.DB.DB) },
		func() (Result, error) { return Module(ctx, db.DB.DB, "alpha", alphaMigrations) },
		func() (Result, error) { return Module(ctx, db.DB.DB, "beta", betaMigrations) },
	} {
		res, err := run()
		if err != nil || len(res.Applied) != 0 {
			t.Errorf("second run: applied %+v, err %v; want nothing", res.Applied, err)
		}
	}

	// A module release adding a migration gets exactly that one applied.
	alphaV3 := append(slices.Clone(alphaMigrations), hostapi.Migration{Version: 3, Name: "index label", SQL: "CREATE INDEX ext_alpha_items_label ON ext_alpha_items (label);"})
	res, err := Module(ctx, db.DB.DB, "alpha", alphaV3)
	if err != nil {
		t.Fatalf("Module(alpha v3): %v", err)
	}
	if got := withoutDurations(res.Applied); !slices.Equal(got, []Applied{{Source: "alpha", Version: 3, Name: "index label"}}) {
		t.Errorf("alpha v3 applied %+v", got)
	}

	statuses, err := Status(ctx, db.DB.DB,
		ModuleMigrations{Module: "alpha", Migrations: alphaV3},
		ModuleMigrations{Module: "beta", Migrations: betaMigrations},
		ModuleMigrations{Module: "gamma", Migrations: []hostapi.Migration{{Version: 1, Name: "later", SQL: "CREATE TABLE ext_gamma_x (id INT PRIMARY KEY);"}}},
	)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	var summary []string
	for _, s := range statuses {
		summary = append(summary, fmt.Sprintf("%s %s applied=%v pending=%v", s.Source, s.VersionTable, stateVersions(s.Applied), stateVersions(s.Pending)))
	}
	want := []string{
		fmt.Sprintf("host upsell_schema_migrations applied=%v pending=[]", hostVersions),
		"alpha upsell_schema_migrations_alpha applied=[1 2 3] pending=[]",
		"beta upsell_schema_migrations_beta applied=[1 2] pending=[]",
		"gamma upsell_schema_migrations_gamma applied=[] pending=[1]",
	}
	if !slices.Equal(summary, want) {
		t.Errorf("status\n\t%s\nwant\n\t%s", strings.Join(summary, "\n\t"), strings.Join(want, "\n\t"))
	}
	if slices.Contains(tablesIn(t, db.DB.DB), ModuleVersionTable("gamma")) {
		t.Error("Status created a version table")
	}
}

func TestModuleMigrationsRefused(t *testing.T) {
	valid := hostapi.Migration{Version: 1, Name: "create items", SQL: "CREATE TABLE ext_x_items (id INT PRIMARY KEY);"}
	tests := []struct {
		name       string
		module     string
		migrations []hostapi.Migration
		want       error
	}{
		{"empty module name", "", []hostapi.Migration{valid}, ErrInvalidModuleName},
		{"upper case module name", "Alpha", []hostapi.Migration{valid}, ErrInvalidModuleName},
		{"module name starting with a digit", "1alpha", []hostapi.Migration{valid}, ErrInvalidModuleName},
		{"module name with a dash", "micro-upsell", []hostapi.Migration{valid}, ErrInvalidModuleName},
		{"module name with SQL", "x`; DROP TABLE users; --", []hostapi.Migration{valid}, ErrInvalidModuleName},
		{"module name too long for a table name", "a" + strings.Repeat("b", maxModuleNameLen), []hostapi.Migration{valid}, ErrInvalidModuleName},
		{"module name beyond the pattern", strings.Repeat("a", 49), []hostapi.Migration{valid}, ErrInvalidModuleName},
		{"duplicate version", "dup", []hostapi.Migration{valid, {Version: 1, Name: "again", SQL: "CREATE TABLE ext_dup_other (id INT PRIMARY KEY);"}}, ErrDuplicateVersion},
		{"version zero", "zero", []hostapi.Migration{{Version: 0, Name: "zero", SQL: "CREATE TABLE ext_zero_x (id INT PRIMARY KEY);"}, valid}, ErrInvalidVersion},
		{"negative version", "negative", []hostapi.Migration{valid, {Version: -2, Name: "neg", SQL: "CREATE TABLE ext_negative_x (id INT PRIMARY KEY);"}}, ErrInvalidVersion},
		{"empty SQL", "empty", []hostapi.Migration{valid, {Version: 2, Name: "nothing", SQL: ""}}, ErrEmptySQL},
		{"blank SQL", "blank", []hostapi.Migration{valid, {Version: 2, Name: "spaces", SQL: " \n\t\n"}}, ErrEmptySQL},
		{"comments only", "comments", []hostapi.Migration{valid, {Version: 2, Name: "todo", SQL: "-- TODO\n-- later\n"}}, ErrEmptySQL},
		{"down section only", "downonly", []hostapi.Migration{valid, {Version: 2, Name: "down", SQL: "-- +goose Up\n-- +goose Down\nDROP TABLE ext_downonly_x;\n"}}, ErrEmptySQL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := testdb.New(t)
			res, err := Module(ctx, db.DB.DB, tt.module, tt.migrations)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Module(%q) error = %v, want %v", tt.module, err, tt.want)
			}
			if len(res.Applied) != 0 {
				t.Errorf("applied %+v", res.Applied)
			}
			if tables := tablesIn(t, db.DB.DB); len(tables) != 0 {
				t.Errorf("refused run left tables %v", tables)
			}
			if _, err := Status(ctx, db.DB.DB, ModuleMigrations{Module: tt.module, Migrations: tt.migrations}); !errors.Is(err, tt.want) {
				t.Errorf("Status error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestModuleFailureReportsWhatApplied(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	ms := []hostapi.Migration{
		{Version: 1, Name: "create items", SQL: "CREATE TABLE ext_broken_items (id INT PRIMARY KEY);"},
		{Version: 2, Name: "bad column", SQL: "ALTER TABLE ext_broken_items ADD COLUMN id INT;"},
	}
	res, err := Module(ctx, db.DB.DB, "broken", ms)
	if err == nil {
		t.Fatal("Module succeeded; want the duplicate column refused")
	}
	if !strings.Contains(err.Error(), "version 2 (bad column)") {
		t.Errorf("error %q does not name the failed migration", err)
	}
	if got := withoutDurations(res.Applied); !slices.Equal(got, []Applied{{Source: "broken", Version: 1, Name: "create items"}}) {
		t.Errorf("applied %+v, want version 1 only", got)
	}
	if got := versionsIn(t, db.DB.DB, ModuleVersionTable("broken")); !slices.Equal(got, []int64{0, 1}) {
		t.Errorf("recorded %v, want [0 1]", got)
	}
}

func TestModuleSQLThatGooseCannotParseAppliesNothing(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	ms := []hostapi.Migration{
		{Version: 1, Name: "create items", SQL: "CREATE TABLE ext_parse_items (id INT PRIMARY KEY);"},
		// goose ends statements at a semicolon; a missing one is an error.
		{Version: 2, Name: "no semicolon", SQL: "CREATE TABLE ext_parse_other (id INT PRIMARY KEY)"},
	}
	res, err := Module(ctx, db.DB.DB, "parse", ms)
	if err == nil || !strings.Contains(err.Error(), "semicolon") {
		t.Fatalf("Module error = %v, want goose's missing-semicolon error", err)
	}
	if len(res.Applied) != 0 {
		t.Errorf("applied %+v", res.Applied)
	}
	if slices.Contains(tablesIn(t, db.DB.DB), "ext_parse_items") {
		t.Error("version 1 applied although version 2 cannot be parsed")
	}
}

func TestModuleWithoutMigrationsTouchesNothing(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	res, err := Module(ctx, db.DB.DB, "quiet", nil)
	if err != nil || len(res.Applied) != 0 {
		t.Fatalf("Module(quiet, nil) = %+v, %v", res, err)
	}
	if tables := tablesIn(t, db.DB.DB); len(tables) != 0 {
		t.Errorf("created %v", tables)
	}
}

func TestStatusBeforeMigratingCreatesNothing(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	statuses, err := Status(ctx, db.DB.DB, ModuleMigrations{Module: "alpha", Migrations: alphaMigrations})
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if len(statuses) != 2 ||
		!slices.Equal(stateVersions(statuses[0].Pending), hostVersions) || len(statuses[0].Applied) != 0 ||
		!slices.Equal(stateVersions(statuses[1].Pending), []int64{1, 2}) || len(statuses[1].Applied) != 0 {
		t.Errorf("status of an empty database: %+v", statuses)
	}
	if statuses[1].Pending[0].Name != "create items" {
		t.Errorf("pending %+v lacks the migration's name", statuses[1].Pending[0])
	}
	if tables := tablesIn(t, db.DB.DB); len(tables) != 0 {
		t.Errorf("Status created %v", tables)
	}
}

func TestPaymenterTablesUntouched(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	// Laravel's migration log and a panel table, as Paymenter has them.
	for _, stmt := range []string{
		`CREATE TABLE migrations (
			id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
			migration VARCHAR(255) NOT NULL,
			batch INT NOT NULL
		) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci`,
		`INSERT INTO migrations (migration, batch) VALUES
			('0001_01_01_000000_create_users_table', 1),
			('2024_05_01_000000_create_services_table', 2)`,
		`CREATE TABLE users (
			id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
			email VARCHAR(255) NOT NULL UNIQUE,
			created_at TIMESTAMP NULL
		) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci`,
		`INSERT INTO users (email, created_at) VALUES ('a@example.com', '2024-01-01 00:00:00'), ('b@example.com', NULL)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("set up Paymenter tables: %v", err)
		}
	}
	before := snapshot(t, db.DB.DB, "migrations", "users")

	if _, err := Host(ctx, db.DB.DB); err != nil {
		t.Fatalf("Host: %v", err)
	}
	if _, err := Module(ctx, db.DB.DB, "alpha", alphaMigrations); err != nil {
		t.Fatalf("Module: %v", err)
	}
	if _, err := Status(ctx, db.DB.DB, ModuleMigrations{Module: "alpha", Migrations: alphaMigrations}); err != nil {
		t.Fatalf("Status: %v", err)
	}

	if after := snapshot(t, db.DB.DB, "migrations", "users"); !slices.Equal(after, before) {
		t.Errorf("Paymenter tables changed:\nbefore %q\nafter  %q", before, after)
	}
}

func TestMigrationLockExcludesOthers(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	other := testdb.New(t)

	unlock, err := lockMigrations(ctx, db.DB.DB)
	if err != nil {
		t.Fatalf("lockMigrations: %v", err)
	}
	conn, err := db.DB.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	name, err := migrationLockName(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	// GET_LOCK with a zero timeout answers at once; on the embedded engine
	// too, which implements named locks rather than ignoring them.
	if got := tryLock(t, conn, name); got != 0 {
		t.Fatalf("GET_LOCK from another session while migrating = %d, want 0", got)
	}

	// Another database on the same server has its own lock.
	if otherUnlock, err := lockMigrations(ctx, other.DB.DB); err != nil {
		t.Errorf("lockMigrations on another database: %v", err)
	} else if err := otherUnlock(); err != nil {
		t.Errorf("unlock other database: %v", err)
	}

	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if got := tryLock(t, conn, name); got != 1 {
		t.Fatalf("GET_LOCK after unlock = %d, want 1", got)
	}
	if _, err := conn.ExecContext(ctx, "SELECT RELEASE_LOCK(?)", name); err != nil {
		t.Fatal(err)
	}
}

func TestLockRefusesSingleConnectionPool(t *testing.T) {
	db := testdb.New(t)
	pool, err := sql.Open("mysql", db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	if _, err := Host(context.Background(), pool); err == nil || !strings.Contains(err.Error(), "1 open connection") {
		t.Fatalf("Host on a 1-connection pool: %v, want refusal", err)
	}
}

func TestConcurrentHostAppliesOnce(t *testing.T) {
	db := testdb.New(t)
	db.RequireMySQL(t)
	ctx := context.Background()

	const replicas = 2
	pools := make([]*sql.DB, replicas)
	for i := range pools {
		// Separate pools, as separate `upsell serve` processes would have.
		pool, err := sql.Open("mysql", db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		pools[i] = pool
	}

	results := make([]Result, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, pool := range pools {
		wg.Go(func() {
			<-start
			results[i], errs[i] = Host(ctx, pool)
		})
	}
	close(start)
	wg.Wait()

	var applied []int64
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
		}
		for _, a := range results[i].Applied {
			applied = append(applied, a.Version)
		}
	}
	slices.Sort(applied)
	if want := hostVersions; !slices.Equal(applied, want) {
		t.Errorf("replicas together applied %v, want each of %v once", applied, want)
	}
	recorded := versionsIn(t, db.DB.DB, HostVersionTable)
	slices.Sort(recorded)
	if want := recordedHostVersions; !slices.Equal(recorded, want) {
		t.Errorf("version table records %v, want %v", recorded, want)
	}
}

// tablesIn lists the current database's tables, sorted.
func tablesIn(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return queryStrings(t, db, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name")
}

// versionsIn lists the versions recorded in a goose version table, in the
// order they were recorded.
func versionsIn(t *testing.T, db *sql.DB, table string) []int64 {
	t.Helper()
	rows, err := db.Query("SELECT version_id FROM " + table + " ORDER BY id")
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	var versions []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return versions
}

// queryStrings runs a query returning one string column.
func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshot renders tables' definitions and rows, to compare before and after.
func snapshot(t *testing.T, db *sql.DB, tables ...string) []string {
	t.Helper()
	var out []string
	for _, table := range tables {
		var name, ddl string
		if err := db.QueryRow("SHOW CREATE TABLE "+table).Scan(&name, &ddl); err != nil {
			t.Fatalf("show create table %s: %v", table, err)
		}
		out = append(out, ddl)
		rows, err := db.Query("SELECT * FROM " + table + " ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			values := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range values {
				ptrs[i] = &values[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %v", table, values))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

func tryLock(t *testing.T, conn *sql.Conn, name string) int64 {
	t.Helper()
	var got int64
	if err := conn.QueryRowContext(context.Background(), "SELECT GET_LOCK(?, 0)", name).Scan(&got); err != nil {
		t.Fatalf("GET_LOCK: %v", err)
	}
	return got
}

func withoutDurations(applied []Applied) []Applied {
	out := slices.Clone(applied)
	for i := range out {
		out[i].Duration = 0
	}
	return out
}

func stateVersions(states []MigrationState) []int64 {
	versions := []int64{}
	for _, s := range states {
		versions = append(versions, s.Version)
	}
	return versions
}

func TestMigrationLockWaitEndsWithContext(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	unlock, err := lockMigrations(ctx, db.DB.DB)
	if err != nil {
		t.Fatalf("lockMigrations: %v", err)
	}
	defer func() {
		if err := unlock(); err != nil {
			t.Errorf("unlock: %v", err)
		}
	}()

	waitCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := Host(waitCtx, db.DB.DB)
		done <- err
	}()
	// Cancel only once the second run is waiting in GET_LOCK.
	for waitingForLock(t, db.DB.DB) == 0 {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Host while another run holds the lock, then cancelled: %v, want context.Canceled", err)
	}
	if tables := tablesIn(t, db.DB.DB); len(tables) != 0 {
		t.Errorf("cancelled run created %v", tables)
	}
}

// waitingForLock counts this database's sessions running GET_LOCK.
func waitingForLock(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE 'SELECT GET_LOCK%'").Scan(&n); err != nil {
		t.Fatalf("processlist: %v", err)
	}
	return n
}
