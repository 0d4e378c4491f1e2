package paymenter

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Row structs mirror the columns the statements select. They stay here, apart
// from the hostapi domain types they are converted into.

type settingRow struct {
	Key       string         `db:"key"`
	Value     sql.NullString `db:"value"`
	Encrypted bool           `db:"encrypted"`
}

// ownedSettingRow is a setting with its owner's morph type.
type ownedSettingRow struct {
	Type string `db:"settingable_type"`
	settingRow
}

type serviceRow struct {
	ID            uint64           `db:"id"`
	UserID        uint64           `db:"user_id"`
	ProductID     sql.Null[uint64] `db:"product_id"`
	PlanID        sql.Null[uint64] `db:"plan_id"`
	Status        string           `db:"status"`
	CurrencyCode  string           `db:"currency_code"`
	Quantity      int              `db:"quantity"`
	Price         decimal.Decimal  `db:"price"`
	ExpiresAt     naiveTime        `db:"expires_at"`
	Label         sql.NullString   `db:"label"`
	CreatedAt     naiveTime        `db:"created_at"`
	ProductName   sql.NullString   `db:"product_name"`
	PlanType      sql.NullString   `db:"plan_type"`
	BillingPeriod sql.Null[int64]  `db:"billing_period"`
	BillingUnit   sql.NullString   `db:"billing_unit"`
}

type userRow struct {
	ID        uint64         `db:"id"`
	Email     string         `db:"email"`
	FirstName sql.NullString `db:"first_name"`
	LastName  sql.NullString `db:"last_name"`
}

type invoiceRow struct {
	ID           uint64          `db:"id"`
	Number       sql.NullString  `db:"number"`
	Status       string          `db:"status"`
	UserID       uint64          `db:"user_id"`
	CurrencyCode string          `db:"currency_code"`
	DueAt        naiveTime       `db:"due_at"`
	CreatedAt    naiveTime       `db:"created_at"`
	Paid         decimal.Decimal `db:"paid"`
	Timezone     sql.NullString  `db:"timezone"`
}

type invoiceItemRow struct {
	ID            uint64           `db:"id"`
	Description   sql.NullString   `db:"description"`
	Price         decimal.Decimal  `db:"price"`
	Quantity      int              `db:"quantity"`
	ReferenceType sql.NullString   `db:"reference_type"`
	ReferenceID   sql.Null[uint64] `db:"reference_id"`
}

type invoiceStatusRow struct {
	ID     uint64 `db:"id"`
	Status string `db:"status"`
}

type counterRow struct {
	ID    uint64         `db:"id"`
	Value sql.NullString `db:"value"`
}

type renewalItemRow struct {
	ID        uint64 `db:"id"`
	InvoiceID uint64 `db:"invoice_id"`
}

type serviceServerRow struct {
	ProductID sql.Null[uint64] `db:"product_id"`
	ServerID  sql.Null[uint64] `db:"server_id"`
}

type extensionRow struct {
	ID        uint64 `db:"id"`
	Name      string `db:"name"`
	Extension string `db:"extension"`
	Enabled   bool   `db:"enabled"`
}

// naiveLayout is how the binding writes DATETIME/TIMESTAMP values: the
// panel's wall clock, no zone, as Laravel writes them.
const naiveLayout = "2006-01-02 15:04:05"

// naiveTime scans a DATETIME, DATE or TIMESTAMP column as the wall clock it
// stores, whatever the DSN's parseTime and loc: with parseTime the driver
// returns a time.Time whose fields are the stored wall clock (in the DSN's
// loc), without it the text itself. Zero dates read as NULL.
type naiveTime struct {
	wall  time.Time // the stored fields, in UTC as a neutral carrier
	valid bool
}

// Scan implements sql.Scanner.
func (n *naiveTime) Scan(src any) error {
	*n = naiveTime{}
	switch v := src.(type) {
	case nil:
		return nil
	case time.Time:
		if v.IsZero() {
			return nil
		}
		n.wall = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		n.valid = true
		return nil
	case []byte:
		return n.parse(string(v))
	case string:
		return n.parse(v)
	default:
		return fmt.Errorf("paymenter: cannot scan %T as a date/time", src)
	}
}

func (n *naiveTime) parse(s string) error {
	if s == "" || strings.HasPrefix(s, "0000-00-00") {
		return nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			n.wall, n.valid = t, true
			return nil
		}
	}
	return fmt.Errorf("paymenter: unrecognised date/time %q", s)
}

// In returns the stored wall clock as a time in loc; the zero time for NULL.
func (n naiveTime) In(loc *time.Location) time.Time {
	if !n.valid {
		return time.Time{}
	}
	w := n.wall
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
}

// wallClock formats t as the panel's wall clock for a DATETIME/TIMESTAMP.
func wallClock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(naiveLayout)
}
