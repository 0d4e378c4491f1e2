package paymenter

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// statusBatch is how many ids one InvoiceStatuses query takes. The statement
// has a fixed number of placeholders so it can be prepared once; a shorter
// batch repeats its first id.
const statusBatch = 64

// globalSettingKeys are the global settings the binding reads.
var globalSettingKeys = []string{
	"timezone", "default_currency", "tax_enabled", "tax_type",
	"invoice_number_padding", "invoice_number_format", "invoice_proforma",
	"credits_on_downgrade",
}

// panelTimezone is a scalar subquery for the panel's timezone setting, so
// reads that return times need one round trip, not two. The last row wins
// when duplicates exist, as when Paymenter loads its settings.
const panelTimezone = "(SELECT tz.`value` FROM `settings` tz WHERE tz.`settingable_type` IS NULL AND tz.`key` = 'timezone' ORDER BY tz.`id` DESC LIMIT 1)"

// statements are prepared once in New: a prepared statement skips parsing
// on every call, which roughly doubles throughput over db.Query with args.
type statements struct {
	globalSettings *sqlx.Stmt

	service *sqlx.Stmt
	user    *sqlx.Stmt

	invoice         *sqlx.Stmt
	invoiceItems    *sqlx.Stmt
	invoiceStatuses *sqlx.Stmt

	userExists     *sqlx.Stmt
	currencyExists *sqlx.Stmt
	currencies     *sqlx.Stmt
	lockCounter    *sqlx.Stmt
	insertCounter  *sqlx.Stmt
	updateCounter  *sqlx.Stmt
	insertInvoice  *sqlx.Stmt
	insertItem     *sqlx.Stmt

	lockInvoice     *sqlx.Stmt
	invoicePayments *sqlx.Stmt
	cancelInvoice   *sqlx.Stmt

	lockServicePrice   *sqlx.Stmt
	updateServicePrice *sqlx.Stmt
	findRenewalItem    *sqlx.Stmt
	updateItemPrice    *sqlx.Stmt

	serviceServer   *sqlx.Stmt
	serverExtension *sqlx.Stmt
	// serverAndProductSettings reads two owners' settings at once, in id
	// order (a later duplicate wins, as in Paymenter).
	serverAndProductSettings *sqlx.Stmt

	taxRate *sqlx.Stmt
}

// statementSQL pairs each statement with its text.
func (s *statements) statementSQL() []struct {
	dest  **sqlx.Stmt
	query string
} {
	return []struct {
		dest  **sqlx.Stmt
		query string
	}{
		{&s.globalSettings, "SELECT `key`, `value`, `encrypted` FROM `settings` WHERE `settingable_type` IS NULL AND `key` IN (" +
			placeholders(len(globalSettingKeys)) + ") ORDER BY `id`"},

		{&s.service, "SELECT s.`id`, s.`user_id`, s.`product_id`, s.`plan_id`, s.`status`, s.`currency_code`, s.`quantity`, s.`price`," +
			" s.`expires_at`, s.`label`, s.`created_at`, p.`name` AS product_name, pl.`type` AS plan_type," +
			" pl.`billing_period`, pl.`billing_unit`" +
			" FROM `services` s LEFT JOIN `products` p ON p.`id` = s.`product_id` LEFT JOIN `plans` pl ON pl.`id` = s.`plan_id`" +
			" WHERE s.`id` = ?"},
		{&s.user, "SELECT `id`, `email`, `first_name`, `last_name` FROM `users` WHERE `id` = ?"},

		{&s.invoice, "SELECT i.`id`, i.`number`, i.`status`, i.`user_id`, i.`currency_code`, i.`due_at`, i.`created_at`," +
			" (SELECT COALESCE(SUM(t.`amount`), 0) FROM `invoice_transactions` t WHERE t.`invoice_id` = i.`id` AND t.`status` = 'succeeded') AS paid, " +
			panelTimezone + " AS timezone FROM `invoices` i WHERE i.`id` = ?"},
		{&s.invoiceItems, "SELECT `id`, `description`, `price`, `quantity`, `reference_type`, `reference_id` FROM `invoice_items`" +
			" WHERE `invoice_id` = ? ORDER BY `id`"},
		{&s.invoiceStatuses, "SELECT `id`, `status` FROM `invoices` WHERE `id` IN (" + placeholders(statusBatch) + ")"},

		{&s.userExists, "SELECT `id` FROM `users` WHERE `id` = ?"},
		{&s.currencyExists, "SELECT `code` FROM `currencies` WHERE `code` = ?"},
		{&s.currencies, "SELECT `code` FROM `currencies` ORDER BY `code`"},
		// The lock that serialises numbering, exactly as Paymenter takes it.
		{&s.lockCounter, "SELECT `id`, `value` FROM `settings` WHERE `settingable_type` IS NULL AND `key` = 'invoice_number'" +
			" ORDER BY `id` LIMIT 1 FOR UPDATE"},
		{&s.insertCounter, "INSERT INTO `settings` (`key`, `value`, `type`, `encrypted`, `settingable_type`, `settingable_id`, `created_at`, `updated_at`)" +
			" VALUES ('invoice_number', ?, 'integer', 0, NULL, NULL, ?, ?)"},
		{&s.updateCounter, "UPDATE `settings` SET `value` = ?, `updated_at` = ? WHERE `id` = ?"},
		{&s.insertInvoice, "INSERT INTO `invoices` (`number`, `status`, `due_at`, `currency_code`, `user_id`, `created_at`, `updated_at`)" +
			" VALUES (?, 'pending', ?, ?, ?, ?, ?)"},
		{&s.insertItem, "INSERT INTO `invoice_items` (`invoice_id`, `price`, `quantity`, `description`, `reference_type`, `reference_id`, `created_at`, `updated_at`)" +
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},

		// Cancelling: the invoice row locked as Paymenter's addPayment
		// locks it, then its payments read with a locking read (the latest
		// committed rows, not the transaction's snapshot), so a payment
		// either committed before the cancel is seen or waits for it.
		{&s.lockInvoice, "SELECT `status` FROM `invoices` WHERE `id` = ? FOR UPDATE"},
		{&s.invoicePayments, "SELECT COUNT(*) FROM `invoice_transactions` WHERE `invoice_id` = ? AND `status` IN ('succeeded', 'processing')" +
			" LOCK IN SHARE MODE"},
		{&s.cancelInvoice, "UPDATE `invoices` SET `status` = 'cancelled', `updated_at` = ? WHERE `id` = ? AND `status` = 'pending'"},

		{&s.lockServicePrice, "SELECT `price` FROM `services` WHERE `id` = ? FOR UPDATE"},
		{&s.updateServicePrice, "UPDATE `services` SET `price` = ?, `updated_at` = ? WHERE `id` = ?"},
		// Paymenter's own upgrade flow rewrites the first service item of the
		// first pending invoice of the service; so does this.
		{&s.findRenewalItem, "SELECT ii.`id`, ii.`invoice_id` FROM `invoice_items` ii JOIN `invoices` i ON i.`id` = ii.`invoice_id`" +
			" WHERE ii.`reference_type` = ? AND ii.`reference_id` = ? AND i.`status` = 'pending'" +
			" ORDER BY i.`id`, ii.`id` LIMIT 1 FOR UPDATE"},
		{&s.updateItemPrice, "UPDATE `invoice_items` SET `price` = ?, `updated_at` = ? WHERE `id` = ?"},

		{&s.serviceServer, "SELECT s.`product_id`, p.`server_id` FROM `services` s LEFT JOIN `products` p ON p.`id` = s.`product_id` WHERE s.`id` = ?"},
		{&s.serverExtension, "SELECT `id`, `name`, `extension`, `enabled` FROM `extensions`" +
			" WHERE `id` = ? AND `type` = 'server' AND `deleted_at` IS NULL"},
		{&s.serverAndProductSettings, "SELECT `settingable_type`, `key`, `value`, `encrypted` FROM `settings`" +
			" WHERE (`settingable_type` = ? AND `settingable_id` = ?) OR (`settingable_type` = ? AND `settingable_id` = ?) ORDER BY `id`"},
		// The user's country (a custom property) picks the rate; "all" is
		// the fallback, as in Paymenter.
		{&s.taxRate, "SELECT CAST(`rate` AS CHAR) FROM `tax_rates` WHERE `country` IN (COALESCE((SELECT `value` FROM `properties`" +
			" WHERE `model_type` = ? AND `model_id` = ? AND `key` = 'country' LIMIT 1), 'all'), 'all')" +
			" ORDER BY `country` = 'all' LIMIT 1"},
	}
}

func prepareStatements(ctx context.Context, db *sqlx.DB) (*statements, error) {
	s := &statements{}
	for _, st := range s.statementSQL() {
		stmt, err := db.PreparexContext(ctx, st.query)
		if err != nil {
			_ = s.close()
			return nil, fmt.Errorf("paymenter: prepare %q: %w", firstWords(st.query), err)
		}
		*st.dest = stmt
	}
	return s, nil
}

func (s *statements) close() error {
	var errs []error
	for _, st := range s.statementSQL() {
		if *st.dest != nil {
			errs = append(errs, (*st.dest).Close())
			*st.dest = nil
		}
	}
	return errors.Join(errs...)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// firstWords names a statement in an error without the whole text.
func firstWords(query string) string {
	if len(query) > 60 {
		return query[:60] + "..."
	}
	return query
}
