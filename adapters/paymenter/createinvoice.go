package paymenter

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// maxMoney is the first amount DECIMAL(17,2) cannot hold (15 integer digits).
var maxMoney = decimal.New(1, 15)

// maxVarchar is Laravel's default string length.
const maxVarchar = 255

// invoiceDraft is a NewInvoice that passed validation: items normalised
// (quantity at least 1, reference type resolved), amounts exact to the cent.
type invoiceDraft struct {
	userID   uint64
	currency string
	dueAt    time.Time // zero: due today, in the panel's timezone
	items    []hostapi.InvoiceItem
}

// CreateInvoice writes an invoice numbered as Paymenter numbers it and
// returns it as stored.
//
// With the "sql" writer the rows are written in tx, or in a transaction of
// the binding's own when tx is nil. The invoice_number lock is held until
// that transaction ends, so a caller's tx should be short; if CreateInvoice
// fails inside the caller's tx, the caller must roll back.
//
// With the "api" writer the invoice is created through Paymenter's admin API
// and tx is not used: an HTTP call cannot join a database transaction, so
// the invoice exists once CreateInvoice returns, whatever happens to tx. The
// package documentation lists the api writer's other limits.
//
// inv.DueAt is an instant: its calendar date in the panel's timezone becomes
// due_at (zero means today there). Items without a ReferenceType get the
// configured one; a zero Quantity means 1.
//
// Refused without writing anything: items whose reference type Paymenter
// acts on when paid (CodeInvalid), amounts with more than 2 decimal places or
// out of DECIMAL(17,2) range (CodeInvalid; the pricing engine rounds, this
// does not), an unknown currency (CodeInvalid) and an unknown user
// (CodeNotFound).
func (b *Binding) CreateInvoice(ctx context.Context, tx *sqlx.Tx, inv hostapi.NewInvoice) (hostapi.Invoice, error) {
	draft, err := b.validateInvoice(inv)
	if err != nil {
		return hostapi.Invoice{}, err
	}
	if b.api != nil {
		return b.createInvoiceAPI(ctx, draft)
	}
	return inTx(ctx, b.db, tx, func(tx *sqlx.Tx) (hostapi.Invoice, error) {
		return b.createInvoiceSQL(ctx, tx, draft)
	})
}

// validateInvoice checks everything that needs no database.
func (b *Binding) validateInvoice(inv hostapi.NewInvoice) (invoiceDraft, error) {
	if inv.UserID == 0 {
		return invoiceDraft{}, hostapi.Invalid("user_id", "is required")
	}
	currency := strings.TrimSpace(inv.Currency)
	if len(currency) != 3 {
		return invoiceDraft{}, hostapi.Invalid("currency", "%q is not a 3-letter currency code", inv.Currency)
	}
	if len(inv.Items) == 0 {
		return invoiceDraft{}, hostapi.Invalid("items", "an invoice needs at least one item")
	}
	d := invoiceDraft{userID: inv.UserID, currency: currency, dueAt: inv.DueAt}
	for i, item := range inv.Items {
		normalised, err := b.validateItem(i, item)
		if err != nil {
			return invoiceDraft{}, err
		}
		d.items = append(d.items, normalised)
	}
	return d, nil
}

func (b *Binding) validateItem(i int, item hostapi.InvoiceItem) (hostapi.InvoiceItem, error) {
	field := func(name string) string { return fmt.Sprintf("items[%d].%s", i, name) }
	if item.ReferenceType == "" {
		item.ReferenceType = b.itemType
	}
	if isPanelActionType(item.ReferenceType) {
		return item, hostapi.Invalid(field("reference_type"),
			"%q would make Paymenter renew, upgrade or credit when the invoice is paid", item.ReferenceType)
	}
	if utf8.RuneCountInString(item.ReferenceType) > maxVarchar {
		return item, hostapi.Invalid(field("reference_type"), "longer than %d characters", maxVarchar)
	}
	if strings.TrimSpace(item.Description) == "" {
		return item, hostapi.Invalid(field("description"), "is required")
	}
	if utf8.RuneCountInString(item.Description) > maxVarchar {
		return item, hostapi.Invalid(field("description"), "longer than %d characters", maxVarchar)
	}
	if err := checkMoney(field("price"), item.Price); err != nil {
		return item, err
	}
	switch {
	case item.Quantity == 0:
		item.Quantity = 1 // the column's default
	case item.Quantity < 0 || item.Quantity > math.MaxInt32:
		return item, hostapi.Invalid(field("quantity"), "%d is out of range", item.Quantity)
	}
	return item, nil
}

// checkMoney refuses an amount DECIMAL(17,2) cannot store exactly, rather
// than letting MySQL round it: prices are rounded once, by the pricing
// engine, and a silent second rounding would change what the client pays.
func checkMoney(field string, d decimal.Decimal) error {
	switch {
	case !d.Equal(d.Truncate(2)):
		return hostapi.Invalid(field, "%s has more than 2 decimal places", d)
	case d.IsNegative():
		return hostapi.Invalid(field, "%s is negative", d)
	case d.GreaterThanOrEqual(maxMoney):
		return hostapi.Invalid(field, "%s does not fit DECIMAL(17,2)", d)
	}
	return nil
}

// createInvoiceSQL checks the references, takes the next number and writes
// the invoice and its items, all in tx.
func (b *Binding) createInvoiceSQL(ctx context.Context, tx *sqlx.Tx, d invoiceDraft) (hostapi.Invoice, error) {
	if err := b.checkInvoiceRefs(ctx, tx, d); err != nil {
		return hostapi.Invoice{}, err
	}
	settings, err := b.readSettings(ctx, tx)
	if err != nil {
		return hostapi.Invoice{}, err
	}
	now := b.clock().In(settings.location)
	stamp := now.Format(naiveLayout)

	// The counter is locked last, after every check that could refuse, so
	// the lock that serialises all invoice creation is held briefly.
	var number sql.NullString
	if !settings.proforma {
		n, err := b.nextInvoiceNumber(ctx, tx, stamp)
		if err != nil {
			return hostapi.Invoice{}, err
		}
		number = sql.NullString{String: formatInvoiceNumber(n, settings.numberPadding, settings.numberFormat, now), Valid: true}
	}
	due := dueDate(d.dueAt, now, settings.location)
	res, err := tx.StmtxContext(ctx, b.stmts.insertInvoice).ExecContext(ctx,
		number, due.Format(time.DateOnly), d.currency, d.userID, stamp, stamp)
	if err != nil {
		return hostapi.Invoice{}, mapDBError(fmt.Errorf("paymenter: insert invoice: %w", err))
	}
	id, err := lastInsertID(res)
	if err != nil {
		return hostapi.Invoice{}, fmt.Errorf("paymenter: insert invoice: %w", err)
	}
	items, err := b.insertItems(ctx, tx, id, d.items, stamp)
	if err != nil {
		return hostapi.Invoice{}, err
	}
	return hostapi.Invoice{
		ID:        id,
		Number:    number.String,
		Status:    hostapi.InvoicePending,
		UserID:    d.userID,
		Currency:  d.currency,
		DueAt:     due,
		Items:     items,
		Total:     invoiceTotal(items),
		Paid:      decimal.Zero,
		PayURL:    b.payURL(id),
		CreatedAt: now.Truncate(time.Second),
	}, nil
}

// checkInvoiceRefs refuses an unknown user (not found) or currency
// (invalid) before anything is written.
func (b *Binding) checkInvoiceRefs(ctx context.Context, tx *sqlx.Tx, d invoiceDraft) error {
	var userID uint64
	if err := stmtIn(ctx, tx, b.stmts.userExists).GetContext(ctx, &userID, d.userID); err != nil {
		if isNoRows(err) {
			return hostapi.Errorf(hostapi.CodeNotFound, "paymenter: user %d not found", d.userID)
		}
		return mapDBError(fmt.Errorf("paymenter: check user %d: %w", d.userID, err))
	}
	var code string
	if err := stmtIn(ctx, tx, b.stmts.currencyExists).GetContext(ctx, &code, d.currency); err != nil {
		if isNoRows(err) {
			return hostapi.Invalid("currency", "%q is not a currency of the panel", d.currency)
		}
		return mapDBError(fmt.Errorf("paymenter: check currency %q: %w", d.currency, err))
	}
	return nil
}

// nextInvoiceNumber locks the global invoice_number setting, stores its
// value + 1 and returns that, as Paymenter does. A missing row is created
// (the first invoice gets 1).
func (b *Binding) nextInvoiceNumber(ctx context.Context, tx *sqlx.Tx, stamp string) (int64, error) {
	var counter counterRow
	err := tx.StmtxContext(ctx, b.stmts.lockCounter).GetContext(ctx, &counter)
	if isNoRows(err) {
		if _, err := tx.StmtxContext(ctx, b.stmts.insertCounter).ExecContext(ctx, "1", stamp, stamp); err != nil {
			return 0, mapDBError(fmt.Errorf("paymenter: create setting invoice_number: %w", err))
		}
		return 1, nil
	}
	if err != nil {
		return 0, mapDBError(fmt.Errorf("paymenter: lock setting invoice_number: %w", err))
	}
	current := int64(0)
	if v := strings.TrimSpace(counter.Value.String); v != "" {
		if current, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, hostapi.Errorf(hostapi.CodePrecondition, "paymenter: setting invoice_number is %q, not an integer", v)
		}
	}
	next := current + 1
	if _, err := tx.StmtxContext(ctx, b.stmts.updateCounter).ExecContext(ctx, strconv.FormatInt(next, 10), stamp, counter.ID); err != nil {
		return 0, mapDBError(fmt.Errorf("paymenter: update setting invoice_number: %w", err))
	}
	return next, nil
}

// formatInvoiceNumber pads n with zeros to padding digits (never cutting
// it) and substitutes it and the date of now into format, in Paymenter's
// order: {number}, {year}, {month}, {day}.
func formatInvoiceNumber(n int64, padding int, format string, now time.Time) string {
	digits := strconv.FormatInt(n, 10)
	if len(digits) < padding {
		digits = strings.Repeat("0", padding-len(digits)) + digits
	}
	out := strings.ReplaceAll(format, "{number}", digits)
	out = strings.ReplaceAll(out, "{year}", now.Format("2006"))
	out = strings.ReplaceAll(out, "{month}", now.Format("01"))
	return strings.ReplaceAll(out, "{day}", now.Format("02"))
}

// dueDate is the calendar date of due in the panel's timezone, as midnight
// there; today when due is zero.
func dueDate(due, now time.Time, loc *time.Location) time.Time {
	if due.IsZero() {
		due = now
	}
	y, m, d := due.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func (b *Binding) insertItems(ctx context.Context, tx *sqlx.Tx, invoiceID uint64, items []hostapi.InvoiceItem, stamp string) ([]hostapi.InvoiceItem, error) {
	insert := tx.StmtxContext(ctx, b.stmts.insertItem)
	out := make([]hostapi.InvoiceItem, len(items))
	for i, item := range items {
		res, err := insert.ExecContext(ctx, invoiceID, item.Price.StringFixed(2), item.Quantity, item.Description,
			item.ReferenceType, nullableID(item.ReferenceID), stamp, stamp)
		if err != nil {
			return nil, mapDBError(fmt.Errorf("paymenter: insert item %d of invoice %d: %w", i, invoiceID, err))
		}
		if item.ID, err = lastInsertID(res); err != nil {
			return nil, fmt.Errorf("paymenter: insert item %d of invoice %d: %w", i, invoiceID, err)
		}
		out[i] = item
	}
	return out, nil
}

// stmtIn binds a prepared statement to tx, or uses it as is without one.
func stmtIn(ctx context.Context, tx *sqlx.Tx, stmt *sqlx.Stmt) *sqlx.Stmt {
	if tx == nil {
		return stmt
	}
	return tx.StmtxContext(ctx, stmt)
}

func lastInsertID(res sql.Result) (uint64, error) {
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	return uint64(id), nil
}

// nullableID stores the zero id as NULL.
func nullableID(id uint64) any {
	if id == 0 {
		return nil
	}
	return id
}
