package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// packageRow is a package's row and its prices, as stored.
func (e *env) packageRow(id uint64) string {
	e.t.Helper()
	var row struct {
		Name, Resource, Updated string
		Amount                  int64
		Active                  bool
		Sort                    int
	}
	if err := e.db.QueryRow("SELECT name, resource, amount, active, sort, CAST(updated_at AS CHAR(32)) FROM ext_micro_upsell_packages WHERE id = ?", id).
		Scan(&row.Name, &row.Resource, &row.Amount, &row.Active, &row.Sort, &row.Updated); err != nil {
		e.t.Fatal(err)
	}
	var prices []string
	if err := e.db.Select(&prices, "SELECT CONCAT(currency, ' ', CAST(monthly_price AS CHAR)) FROM ext_micro_upsell_package_prices WHERE package_id = ? ORDER BY currency", id); err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("%+v %v", row, prices)
}

func (e *env) packageCount() int {
	e.t.Helper()
	var n int
	if err := e.db.Get(&n, "SELECT COUNT(*) FROM ext_micro_upsell_packages"); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// errorAnswer is the daemon's error body.
type errorAnswer struct {
	Error struct{ Code, Message string }
}

func (r response) failure(t *testing.T) errorAnswer {
	t.Helper()
	var a errorAnswer
	r.decode(t, &a)
	return a
}

// Bodies that would buy or rewrite something other than what was checked
// are refused with 422 before anything is written: a second document after
// the first, a key given twice (the decoder keeps the last), a null PATCH.
func TestBodyShapeRefusedThroughTheDaemon(t *testing.T) {
	e := newEnv(t)
	ram := e.ramPackage()
	disk := e.createPackage(map[string]any{"name": "+10 GB disk", "resource": "disk_mib", "amount": 10240, "monthly_prices": map[string]string{"EUR": "1.00"}})
	before, ramRow := e.snapshot(), e.packageRow(ram)

	orders := []struct {
		name, body, field string
	}{
		{"a second document after the first", fmt.Sprintf(`{"package_id":%d} {"x":1}`, ram), "body"},
		{"a second order after the first", fmt.Sprintf(`{"package_id":%d}{"package_id":%d}`, ram, disk), "body"},
		{"package_id twice", fmt.Sprintf(`{"package_id":%d,"package_id":%d}`, ram, disk), "package_id"},
		{"package_id twice in another case", fmt.Sprintf(`{"package_id":%d,"Package_ID":%d}`, ram, disk), "Package_ID"},
		{"a null body", `null`, "body"},
		{"an empty body", ``, "body"},
		{"a string for the id", fmt.Sprintf(`{"package_id":"%d"}`, ram), "package_id"},
	}
	for i, tc := range orders {
		t.Run("buy: "+tc.name, func(t *testing.T) {
			r := e.do("POST", "/m/microupsell/orders", e.client(fmt.Sprintf("shape-%d", i)), []byte(tc.body))
			a := r.failure(t)
			if r.code != http.StatusUnprocessableEntity || a.Error.Code != "invalid" || !strings.HasPrefix(a.Error.Message, tc.field+": ") {
				t.Fatalf("%d %s, want 422 refusing %s", r.code, r.body, tc.field)
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("refused order changed state: %+v -> %+v", before, after)
			}
		})
	}

	patches := []struct {
		name, body, field string
	}{
		{"a null body", `null`, "body"},
		{"an empty body", ``, "body"},
		{"a list", `[{"name":"x"}]`, "body"},
		{"a second document", `{"name":"+1 GB RAM"} {"monthly_prices":{"EUR":"0.01"}}`, "body"},
		{"a price twice", `{"monthly_prices":{"EUR":"2.00","EUR":"0.01"}}`, "monthly_prices.EUR"},
		{"name twice", `{"name":"+1 GB RAM","name":"+64 GB RAM"}`, "name"},
	}
	for _, tc := range patches {
		t.Run("patch: "+tc.name, func(t *testing.T) {
			r := e.do("PATCH", fmt.Sprintf("/m/microupsell/admin/packages/%d", ram), e.admin(), []byte(tc.body))
			a := r.failure(t)
			if r.code != http.StatusUnprocessableEntity || !strings.HasPrefix(a.Error.Message, tc.field+": ") {
				t.Fatalf("%d %s, want 422 refusing %s", r.code, r.body, tc.field)
			}
			if after := e.packageRow(ram); after != ramRow {
				t.Fatalf("refused patch changed the package:\n%s\n%s", ramRow, after)
			}
		})
	}
}

// Admin values are checked as the panel would take them, each refused by
// field with 422, and neither a create nor a patch changes a row.
func TestAdminPackageValuesRefusedThroughTheDaemon(t *testing.T) {
	e := newEnv(t)
	ram := e.ramPackage()
	count, ramRow := e.packageCount(), e.packageRow(ram)
	valid := func() map[string]any {
		return map[string]any{"name": "+2 GB RAM", "resource": "memory_mib", "amount": 2048, "monthly_prices": map[string]string{"EUR": "4.00"}}
	}
	tests := []struct {
		name   string
		key    string
		value  any
		field  string
		reason string
	}{
		{"a currency the panel lacks", "monthly_prices", map[string]string{"GBP": "4.00"}, "monthly_prices.GBP", "not a currency of the panel"},
		{"an exponent", "monthly_prices", map[string]string{"EUR": "1e3"}, "monthly_prices.EUR", "plain decimal"},
		{"three decimals", "monthly_prices", map[string]string{"EUR": "1.005"}, "monthly_prices.EUR", "more than 2 decimal places"},
		{"a negative price", "monthly_prices", map[string]string{"EUR": "-1.00"}, "monthly_prices.EUR", "negative"},
		{"a price beyond DECIMAL(17,2)", "monthly_prices", map[string]string{"EUR": "10000000000000000"}, "monthly_prices.EUR", "out of range"},
		{"a price as a JSON number", "monthly_prices", map[string]any{"EUR": 4}, "monthly_prices", "a string"},
		{"a name with a newline", "name", "+2 GB\nRAM", "name", "control character"},
		{"a name with an escape sequence", "name", "\x1b[2J+2 GB", "name", "control character"},
		{"a name too long", "name", strings.Repeat("R", 192), "name", "at most 191"},
		{"sort beyond INT", "sort", int64(1) << 31, "sort", "between"},
		{"max_per_service beyond INT UNSIGNED", "max_per_service", int64(1) << 32, "max_per_service", "between"},
		{"amount beyond BIGINT", "amount", json.Number("9223372036854775808"), "amount", "fits int64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := valid()
			body[tc.key] = tc.value
			r := e.do("POST", "/m/microupsell/admin/packages", e.admin(), body)
			checkRefusal(t, r, tc.field, tc.reason)
			if n := e.packageCount(); n != count {
				t.Fatalf("refused create added a package: %d -> %d", count, n)
			}
			r = e.do("PATCH", fmt.Sprintf("/m/microupsell/admin/packages/%d", ram), e.admin(), map[string]any{tc.key: tc.value})
			checkRefusal(t, r, tc.field, tc.reason)
			if after := e.packageRow(ram); after != ramRow {
				t.Fatalf("refused patch changed the package:\n%s\n%s", ramRow, after)
			}
		})
	}
	// The panel's other currency is taken.
	r := e.do("PATCH", fmt.Sprintf("/m/microupsell/admin/packages/%d", ram), e.admin(), map[string]any{"monthly_prices": map[string]string{"EUR": "2.00", "USD": "2.20"}})
	if r.code != http.StatusOK {
		t.Fatalf("EUR and USD: %d %s", r.code, r.body)
	}
}

func checkRefusal(t *testing.T, r response, field, reason string) {
	t.Helper()
	a := r.failure(t)
	if r.code != http.StatusUnprocessableEntity || a.Error.Code != "invalid" || !strings.HasPrefix(a.Error.Message, field+": ") ||
		!strings.Contains(a.Error.Message, reason) {
		t.Fatalf("%d %s, want 422 refusing %s (%s)", r.code, r.body, field, reason)
	}
}

// syncBuffer is a log sink the daemon writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A statement the database refuses reaches the client as a generic answer
// naming the request id; the log keeps the database's words under that id.
// The columns are narrowed behind the module's back so that values its
// rules accept still fail in MariaDB, through the real Store.
func TestDatabaseErrorTextNeverReachesTheClient(t *testing.T) {
	var log syncBuffer
	e := newEnvWith(t, map[string]string{"max_apply_attempts": "3"}, withDaemonLogger(slog.New(slog.NewJSONHandler(&log, nil))))
	e.ramPackage()
	for _, stmt := range []string{
		"ALTER TABLE ext_micro_upsell_packages MODIFY name VARCHAR(12) NOT NULL",
		"ALTER TABLE ext_micro_upsell_packages ADD UNIQUE KEY e2e_name_uq (name)",
	} {
		if _, err := e.db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	count := e.packageCount()
	tests := []struct {
		name   string
		pkg    string
		status int
		code   string
		logged string
	}{
		{"data too long (CodeInvalid, no field)", "+1 GB RAM for game servers", http.StatusUnprocessableEntity, "invalid", "Data too long"},
		{"duplicate entry (CodeConflict)", "+1 GB RAM", http.StatusConflict, "conflict", "Duplicate entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/m/microupsell/admin/packages", e.admin(),
				map[string]any{"name": tc.pkg, "resource": "memory_mib", "amount": 1024, "monthly_prices": map[string]string{"EUR": "2.00"}})
			a := r.failure(t)
			if r.code != tc.status || a.Error.Code != tc.code {
				t.Fatalf("%d %s, want %d %s", r.code, r.body, tc.status, tc.code)
			}
			for _, leak := range []string{tc.logged, "Error 1", "ext_micro_upsell", "exec", "column", "key"} {
				if strings.Contains(string(r.body), leak) {
					t.Fatalf("the answer %s carries %q", r.body, leak)
				}
			}
			_, id, ok := strings.Cut(a.Error.Message, "request id ")
			if !ok || id == "" {
				t.Fatalf("the answer %q names no request id", a.Error.Message)
			}
			var logged bool
			for _, line := range strings.Split(log.String(), "\n") {
				if strings.Contains(line, `"request_id":"`+id+`"`) && strings.Contains(line, tc.logged) {
					logged = true
				}
			}
			if !logged {
				t.Fatalf("no log line with request id %s and %q:\n%s", id, tc.logged, log.String())
			}
			if n := e.packageCount(); n != count {
				t.Fatalf("failed create added a package: %d -> %d", count, n)
			}
		})
	}
}
