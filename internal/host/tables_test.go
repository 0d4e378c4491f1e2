package host

import (
	"errors"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
)

func TestCheckTables(t *testing.T) {
	const p = "ext_micro_upsell_"
	tests := []struct {
		query string
		ok    bool
	}{
		{"SELECT id, price FROM ext_micro_upsell_packages WHERE active = 1", true},
		{"SELECT * FROM `ext_micro_upsell_packages` p JOIN ext_micro_upsell_order_addons a ON a.package_id = p.id", true},
		{"INSERT INTO ext_micro_upsell_order_addons (a) VALUES (?)", true},
		{"UPDATE ext_micro_upsell_order_addons SET state = ? WHERE id = ?", true},
		{"SELECT a.id FROM ext_micro_upsell_packages a, ext_micro_upsell_order_addons b", true},
		{"SELECT 'FROM services' AS x FROM ext_micro_upsell_packages", true},
		{"SELECT id FROM ext_micro_upsell_packages WHERE id IN (SELECT package_id FROM ext_micro_upsell_order_addons)", true},
		{"SELECT 1", true},
		// What the Micro-Upsell module runs.
		{"SELECT p.id, pp.currency FROM ext_micro_upsell_packages p LEFT JOIN ext_micro_upsell_package_prices pp ON pp.package_id = p.id ORDER BY p.sort, p.id", true},
		{"SELECT package_id, COUNT(*) FROM ext_micro_upsell_order_addons\nWHERE service_id = ? AND state IN ('awaiting_payment', 'paid') GROUP BY package_id", true},
		{"INSERT IGNORE INTO ext_micro_upsell_service_locks (service_id, updated_at) VALUES (?, ?)", true},
		{"SELECT service_id FROM ext_micro_upsell_service_locks WHERE service_id = ? FOR UPDATE", true},
		{"UPDATE ext_micro_upsell_order_addons SET state = 'applied', reason = NULL, updated_at = ? WHERE id = ? AND state = 'applying'", true},
		{"DELETE FROM ext_micro_upsell_package_prices WHERE package_id = ?", true},
		// More shapes a module may use.
		{"INSERT INTO ext_micro_upsell_x (a, b) VALUES (1, 2), (3, 4) ON DUPLICATE KEY UPDATE a = VALUES(a), b = 2", true},
		{"INSERT INTO ext_micro_upsell_x SELECT a, b FROM ext_micro_upsell_y ON DUPLICATE KEY UPDATE a = 1, b = 2", true},
		{"REPLACE INTO ext_micro_upsell_x SET a = 1, b = 2", true},
		{"SELECT * FROM ext_micro_upsell_x WHERE id = ? FOR UPDATE SKIP LOCKED", true},
		{"SELECT * FROM ext_micro_upsell_x a JOIN ext_micro_upsell_y b USING (id), ext_micro_upsell_z c", true},
		{"SELECT CONVERT(name USING utf8mb4) FROM ext_micro_upsell_x", true},
		{"DELETE FROM ext_micro_upsell_x USING ext_micro_upsell_x JOIN ext_micro_upsell_y USING (id) WHERE ext_micro_upsell_y.gone = 1", true},
		{"DELETE a FROM ext_micro_upsell_x a JOIN ext_micro_upsell_y b ON a.id = b.id", true},
		{"UPDATE ext_micro_upsell_x a, ext_micro_upsell_y b SET a.n = b.n, a.m = 1 WHERE a.id = b.id", true},
		{"SELECT * FROM (ext_micro_upsell_x, ext_micro_upsell_y)", true},
		{"SELECT n FROM (SELECT COUNT(*) AS n FROM ext_micro_upsell_x) AS s, ext_micro_upsell_y", true},
		{"SELECT * FROM ext_micro_upsell_x USE INDEX FOR ORDER BY (i), ext_micro_upsell_y", true},
		{"SELECT a - -1, b--1 FROM ext_micro_upsell_x -- a comment naming users\nWHERE 1 # another: users\n", true},
		{"SELECT * FROM `ext_micro_upsell_a``b`", true},
		{"SELECT 'it''s' FROM ext_micro_upsell_x;", true},
		{"SELECT 1 FROM DUAL", true},
		{"SELECT 1.5, .5, 1e5, 1E-5, 2.5e+3, 0x1F, 1abc FROM ext_micro_upsell_x WHERE a.b = 1", true},

		{"SELECT * FROM services", false},
		{"SELECT * FROM ext_micro_upsell_packages JOIN users ON 1", false},
		{"SELECT * FROM ext_micro_upsell_packages a, invoices b", false},
		{"UPDATE services SET price = 0", false},
		{"DELETE FROM invoice_items", false},
		{"SELECT * FROM paymenter.ext_micro_upsell_packages", false},
		{"SELECT * FROM `paymenter`.`ext_micro_upsell_packages`", false},
		{"SELECT * FROM ext_micro_upsell_packages . users", false},
		{"SELECT * FROM ext_micro_upsell_packages; DROP TABLE users", false},
		{"SELECT id FROM ext_micro_upsell_packages WHERE id IN (SELECT id FROM users)", false},
		{"INSERT INTO ext_micro_upsell_x SELECT * FROM settings", false},
		{"SELECT * FROM /* ext_micro_upsell_ */ users", false},
		// The reviewer's escapes, each of which ran on MariaDB.
		{"SELECT * FROM (users)", false},
		{"SELECT * FROM ((ext_micro_upsell_x), users)", false},
		{"UPDATE ext_micro_upsell_x p, services s SET s.price = 0", false},
		{"SELECT * FROM ext_micro_upsell_x /*!, users */", false},
		{"SELECT * FROM ext_micro_upsell_x /*!50000 , users */", false},
		{"SELECT * FROM ext_micro_upsell_x /*M!, users */", false},
		{"SELECT /*+ MAX_EXECUTION_TIME(1) */ * FROM ext_micro_upsell_x", false},
		{"SELECT id FROM ext_micro_upsell_x WHERE id=1--1 UNION SELECT id,email FROM users", false},
		{"TRUNCATE users", false},
		{"TRUNCATE TABLE ext_micro_upsell_x", false},
		{"RENAME TABLE ext_micro_upsell_a TO ext_micro_upsell_b, users TO ext_micro_upsell_users", false},
		{"DELETE FROM ext_micro_upsell_x USING ext_micro_upsell_x, users", false},
		{"DELETE FROM ext_micro_upsell_x USING (ext_micro_upsell_x, users) WHERE 1 = 0", false},
		{"SET SESSION autocommit=0", false},
		{"SET time_zone = '+00:00'", false},
		{"SELECT GET_LOCK('upsell_service_1', 0)", false},
		{"SELECT get_lock /* x */ ('upsell_service_1', 0)", false},
		{"SELECT id FROM ext_micro_upsell_x WHERE RELEASE_LOCK('upsell_service_1')", false},
		{"SELECT IS_USED_LOCK('a'), IS_FREE_LOCK('a'), RELEASE_ALL_LOCKS()", false},
		{"DO SLEEP(10)", false},
		{"SELECT SLEEP(10) FROM ext_micro_upsell_x", false},
		{"SELECT BENCHMARK(100000000, MD5('x'))", false},
		{"SELECT LOAD_FILE('/etc/passwd')", false},
		{"CALL x()", false},
		{"SELECT * FROM ext_micro_upsell_x INTO OUTFILE '/tmp/x'", false},
		{"SELECT * FROM ext_micro_upsell_x INTO DUMPFILE '/tmp/x'", false},
		{"SELECT id FROM ext_micro_upsell_x INTO @v", false},
		// Other statements and tricks.
		{"COMMIT", false},
		{"START TRANSACTION", false},
		{"LOCK TABLES ext_micro_upsell_x WRITE", false},
		{"CREATE TABLE ext_micro_upsell_y (id INT)", false},
		{"ALTER TABLE ext_micro_upsell_x ADD COLUMN y INT", false},
		{"DROP TABLE ext_micro_upsell_x", false},
		{"LOAD DATA INFILE '/tmp/x' INTO TABLE ext_micro_upsell_x", false},
		{"", false},
		{"-- nothing", false},
		{"INSERT users (email) VALUES ('x')", false},
		{"INSERT LOW_PRIORITY IGNORE INTO users (email) VALUES ('x')", false},
		{"SELECT * FROM ext_micro_upsell_x duplicate, users", false},
		{"SELECT * FROM ext_micro_upsell_x USE INDEX FOR ORDER BY (i), users", false},
		{"SELECT * FROM ext_micro_upsell_x FOR SYSTEM_TIME ALL, users", false},
		{"SELECT * FROM ext_micro_upsell_x a JOIN ext_micro_upsell_y b ON a.id = b.id, users", false},
		{"SELECT * FROM ext_micro_upsell_x a JOIN ext_micro_upsell_y b USING (id), users c", false},
		{"SELECT * FROM ext_micro_upsell_x WHERE id IN (TABLE users)", false},
		{"SELECT * FROM `users`", false},
		{`SELECT * FROM "users"`, false},
		{`SELECT * FROM ext_micro_upsell_x WHERE a = '\' UNION SELECT email FROM users WHERE 'x' = '`, false},
		{"SELECT * FROM ext_micro_upsell_x WHERE a = 'open", false},
		{"SELECT * FROM ext_micro_upsell_x /* open", false},
		{"SELECT * FROM `ext_micro_upsell_x", false},
		{"SELECT * FROM ext_micro_upsell_x)", false},
		{"UPDATE LOW_PRIORITY IGNORE services SET price = 0", false},
		{"DELETE QUICK FROM invoices", false},
		// A number ends where MySQL's lexer ends it, even before letters.
		{"SELECT 1e0FROM users", false},
		{"SELECT 1.0FROM users", false},
		{"SELECT 1.FROM users", false},
		{"SELECT 1.5e+1FROM users", false},
		{"SELECT .5FROM users", false},
		{"SELECT 1 FROM ext_micro_upsell_x WHERE id = 1e0UNION SELECT email FROM users", false},
		{"SELECT.5FROM users", false},
		{"SELECT * FROM ext_micro_upsell_x a WHERE a.1e0FROM = 1", false},
		{"SELECT 1.5eFROM users", false},
		{"SELECT 1 FROM ext_micro_upsell_x WHERE a = 1\x00", false},
	}
	for _, tc := range tests {
		err := CheckTables(tc.query, p)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err=%v, want ok=%v", tc.query, err, tc.ok)
		}
		if err != nil && !errors.Is(err, hostapi.ErrInvalid) {
			t.Errorf("%q: %v is not CodeInvalid", tc.query, err)
		}
	}
	if CheckTables("SELECT * FROM ext_micro_upsell_packages", "") == nil {
		t.Error("empty prefix allowed a table")
	}
}
