package host

import "testing"

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
		{"SELECT * FROM services", false},
		{"SELECT * FROM ext_micro_upsell_packages JOIN users ON 1", false},
		{"SELECT * FROM ext_micro_upsell_packages a, invoices b", false},
		{"UPDATE services SET price = 0", false},
		{"DELETE FROM invoice_items", false},
		{"SELECT * FROM paymenter.ext_micro_upsell_packages", false},
		{"SELECT * FROM ext_micro_upsell_packages; DROP TABLE users", false},
		{"SELECT id FROM ext_micro_upsell_packages WHERE id IN (SELECT id FROM users)", false},
		{"INSERT INTO ext_micro_upsell_x SELECT * FROM settings", false},
		{"SELECT * FROM /* ext_micro_upsell_ */ users", false},
	}
	for _, tc := range tests {
		err := CheckTables(tc.query, p)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err=%v, want ok=%v", tc.query, err, tc.ok)
		}
	}
	if CheckTables("SELECT * FROM ext_micro_upsell_packages", "") == nil {
		t.Error("empty prefix allowed a table")
	}
}
