package hostapi

import (
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Rows is a fully read query result. Each value is nil (SQL NULL), int64,
// uint64, string (text, DECIMAL and other non-binary columns), []byte
// (binary columns), bool or time.Time.
type Rows struct {
	Columns []string
	Values  [][]any
}

// Len is the number of rows.
func (r *Rows) Len() int { return len(r.Values) }

// Scan copies row i into dest, one pointer per column. Supported pointers:
// *int64, *int, *uint64, *string, *bool, *[]byte, *time.Time,
// *decimal.Decimal, and a pointer to one of those pointer types (*(*string))
// for nullable columns, set to nil on NULL.
func (r *Rows) Scan(i int, dest ...any) error {
	if i < 0 || i >= len(r.Values) {
		return fmt.Errorf("scan row %d of %d: %w", i, len(r.Values), ErrNotFound)
	}
	row := r.Values[i]
	if len(dest) != len(row) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dest), len(row))
	}
	for c, d := range dest {
		if err := assign(d, row[c]); err != nil {
			return fmt.Errorf("scan column %q: %w", r.Columns[c], err)
		}
	}
	return nil
}

func assign(dest any, v any) error {
	switch d := dest.(type) {
	case *any:
		*d = v
		return nil
	case **string:
		return assignNullable(d, v)
	case **int64:
		return assignNullable(d, v)
	case **uint64:
		return assignNullable(d, v)
	case **time.Time:
		return assignNullable(d, v)
	case **decimal.Decimal:
		return assignNullable(d, v)
	}
	if v == nil {
		return fmt.Errorf("NULL into %T", dest)
	}
	switch d := dest.(type) {
	case *string:
		switch x := v.(type) {
		case string:
			*d = x
		case []byte:
			*d = string(x)
		case int64:
			*d = strconv.FormatInt(x, 10)
		case uint64:
			*d = strconv.FormatUint(x, 10)
		default:
			return fmt.Errorf("%T into *string", v)
		}
	case *int64:
		n, err := toInt64(v)
		if err != nil {
			return err
		}
		*d = n
	case *int:
		n, err := toInt64(v)
		if err != nil {
			return err
		}
		*d = int(n)
	case *uint64:
		if u, ok := v.(uint64); ok {
			*d = u
			return nil
		}
		n, err := toInt64(v)
		if err != nil {
			return err
		}
		if n < 0 {
			return fmt.Errorf("negative %d into *uint64", n)
		}
		*d = uint64(n)
	case *bool:
		switch x := v.(type) {
		case bool:
			*d = x
		default:
			n, err := toInt64(v)
			if err != nil {
				return err
			}
			*d = n != 0
		}
	case *[]byte:
		switch x := v.(type) {
		case []byte:
			*d = append([]byte(nil), x...)
		case string:
			*d = []byte(x)
		default:
			return fmt.Errorf("%T into *[]byte", v)
		}
	case *time.Time:
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("%T into *time.Time", v)
		}
		*d = t
	case *decimal.Decimal:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		case int64:
			*d = decimal.NewFromInt(x)
			return nil
		case uint64:
			s = strconv.FormatUint(x, 10)
		default:
			return fmt.Errorf("%T into *decimal.Decimal", v)
		}
		dec, err := decimal.NewFromString(s)
		if err != nil {
			return fmt.Errorf("decimal %q: %w", s, err)
		}
		*d = dec
	default:
		return fmt.Errorf("unsupported destination %T", dest)
	}
	return nil
}

func assignNullable[T any](d **T, v any) error {
	if v == nil {
		*d = nil
		return nil
	}
	var x T
	if err := assign(&x, v); err != nil {
		return err
	}
	*d = &x
	return nil
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		if x > 1<<63-1 {
			return 0, fmt.Errorf("%d overflows int64", x)
		}
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		return strconv.ParseInt(x, 10, 64)
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	}
	return 0, fmt.Errorf("%T is not an integer", v)
}
