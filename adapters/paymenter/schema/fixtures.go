package schema

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// AddUser inserts a customer (role_id NULL) and returns its id.
func AddUser(ctx context.Context, db Execer, email, firstName, lastName string) (uint64, error) {
	now := time.Now().UTC().Format(naiveLayout)
	id, err := insertID(ctx, db,
		"INSERT INTO `users` (`first_name`, `last_name`, `email`, `password`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?, ?, ?)",
		nullString(firstName), nullString(lastName), email, seedPasswordHash, now, now)
	if err != nil {
		return 0, fmt.Errorf("add user %s: %w", email, err)
	}
	return id, nil
}

// ServiceSpec describes a services row. Zero ids are stored as NULL.
type ServiceSpec struct {
	OrderID   uint64
	UserID    uint64
	ProductID uint64
	PlanID    uint64
	// Currency is the service's currency code.
	Currency string
	// Price is the recurring per-unit price.
	Price decimal.Decimal
	// Quantity defaults to 1.
	Quantity int
	// Status defaults to "active".
	Status string
	// ExpiresAt is stored as its wall clock in its own location (pass a time
	// in the panel's timezone); zero stores NULL.
	ExpiresAt time.Time
	// CreatedAt, like ExpiresAt, is stored as its wall clock; zero means now.
	CreatedAt time.Time
	// Label defaults to NULL (Paymenter then shows "<product> #<id>").
	Label string
}

// AddService inserts a services row and returns its id.
func AddService(ctx context.Context, db Execer, s ServiceSpec) (uint64, error) {
	if s.Quantity == 0 {
		s.Quantity = 1
	}
	if s.Status == "" {
		s.Status = "active"
	}
	created := s.CreatedAt
	if created.IsZero() {
		created = time.Now().UTC()
	}
	id, err := insertID(ctx, db,
		"INSERT INTO `services` (`status`, `order_id`, `product_id`, `user_id`, `currency_code`, `quantity`, `price`, `plan_id`, `expires_at`, `created_at`, `updated_at`, `label`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.Status, nullID(s.OrderID), nullID(s.ProductID), s.UserID, s.Currency, s.Quantity,
		s.Price.StringFixed(2), nullID(s.PlanID), nullTime(s.ExpiresAt), created.Format(naiveLayout),
		created.Format(naiveLayout), nullString(s.Label))
	if err != nil {
		return 0, fmt.Errorf("add service: %w", err)
	}
	return id, nil
}

// InvoiceSpec describes an invoice with its items, written directly (no
// numbering: Number is stored as given, NULL when empty).
type InvoiceSpec struct {
	UserID   uint64
	Currency string
	Number   string
	// Status defaults to "pending".
	Status string
	// DueAt is stored as its calendar date in its own location; zero stores
	// NULL.
	DueAt time.Time
	Items []ItemSpec
	// Paid, when positive, adds one succeeded transaction of that amount.
	Paid decimal.Decimal
}

// ItemSpec describes an invoice_items row. An empty ReferenceType and a zero
// ReferenceID are stored as NULL.
type ItemSpec struct {
	Description   string
	Price         decimal.Decimal
	Quantity      int
	ReferenceType string
	ReferenceID   uint64
}

// RenewalItem is the item Paymenter's cron writes to renew a service: it
// references App\Models\Service, so paying it renews the service.
func RenewalItem(serviceID uint64, price decimal.Decimal, quantity int) ItemSpec {
	return ItemSpec{
		Description:   fmt.Sprintf("Renewal of service #%d", serviceID),
		Price:         price,
		Quantity:      quantity,
		ReferenceType: morphService,
		ReferenceID:   serviceID,
	}
}

// AddedInvoice holds the ids AddInvoice wrote.
type AddedInvoice struct {
	ID      uint64
	ItemIDs []uint64
}

// AddInvoice inserts an invoice, its items and optionally a payment.
func AddInvoice(ctx context.Context, db Execer, spec InvoiceSpec) (AddedInvoice, error) {
	if spec.Status == "" {
		spec.Status = "pending"
	}
	now := time.Now().UTC().Format(naiveLayout)
	var due any
	if !spec.DueAt.IsZero() {
		due = spec.DueAt.Format(time.DateOnly)
	}
	id, err := insertID(ctx, db,
		"INSERT INTO `invoices` (`number`, `status`, `due_at`, `currency_code`, `user_id`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?, ?, ?, ?)",
		nullString(spec.Number), spec.Status, due, spec.Currency, spec.UserID, now, now)
	if err != nil {
		return AddedInvoice{}, fmt.Errorf("add invoice: %w", err)
	}
	out := AddedInvoice{ID: id}
	for i, item := range spec.Items {
		if item.Quantity == 0 {
			item.Quantity = 1
		}
		itemID, err := insertID(ctx, db,
			"INSERT INTO `invoice_items` (`invoice_id`, `price`, `quantity`, `description`, `reference_type`, `reference_id`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			id, item.Price.StringFixed(2), item.Quantity, nullString(item.Description),
			nullString(item.ReferenceType), nullID(item.ReferenceID), now, now)
		if err != nil {
			return AddedInvoice{}, fmt.Errorf("add invoice %d item %d: %w", id, i, err)
		}
		out.ItemIDs = append(out.ItemIDs, itemID)
	}
	if spec.Paid.IsPositive() {
		if _, err := db.ExecContext(ctx,
			"INSERT INTO `invoice_transactions` (`invoice_id`, `amount`, `transaction_id`, `status`, `created_at`, `updated_at`) VALUES (?, ?, ?, 'succeeded', ?, ?)",
			id, spec.Paid.StringFixed(2), fmt.Sprintf("seed-%d", id), now, now); err != nil {
			return AddedInvoice{}, fmt.Errorf("add invoice %d payment: %w", id, err)
		}
	}
	return out, nil
}

// nullID maps the zero id to NULL.
func nullID(id uint64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullString maps "" to NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullTime writes t's wall clock, or NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(naiveLayout)
}
