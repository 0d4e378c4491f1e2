// Package paymenter is the Paymenter panel binding: the in-process code that
// knows Paymenter's (v1) MySQL schema and behaviour, so that the rest of
// upsell can speak in hostapi domain types.
//
// What it knows, and why it matters:
//
//   - Times. Paymenter writes DATETIME and TIMESTAMP values as naive wall
//     clocks in the panel's timezone (global setting `timezone`) and sets no
//     MySQL session time zone. The binding reads the stored wall clock and
//     returns it in the panel's location, whatever parseTime/loc the DSN
//     uses, and writes wall-clock strings, never time.Time arguments (the
//     driver would convert those to the DSN's location).
//   - Invoice numbers. Creating an invoice locks the global `invoice_number`
//     setting FOR UPDATE, stores the value + 1, pads it to
//     `invoice_number_padding` digits and substitutes it into
//     `invoice_number_format` ({number}, {year}, {month}, {day} in the panel
//     timezone). With `invoice_proforma` on the number stays NULL: Paymenter
//     assigns it at payment.
//   - Item reference types. Paying an invoice makes Paymenter act on items
//     whose reference_type is App\Models\Service (renews the service),
//     App\Models\ServiceUpgrade (applies an upgrade) or App\Models\Credit
//     (adds credit). An add-on item must use none of them, or paying for it
//     would also renew the service; the binding refuses them.
//   - Renewal price. services.price is the recurring per-unit price; the
//     unpaid renewal invoice (an App\Models\Service item on a pending
//     invoice) carries a copy that must follow a price change.
//   - Server credentials. There is no servers table: a product's server_id
//     points at an `extensions` row (type server) whose `settings` rows
//     (App\Models\Server) hold host and api_key, the latter usually
//     encrypted with Laravel's Crypt under APP_KEY (see internal/laravelcrypt).
//
// Two invoice writers exist. "sql" (the default) writes the rows directly,
// inside the caller's transaction if one is given, and triggers no Paymenter
// event (no e-mail, no credit auto-pay). "api" goes through Paymenter's admin
// REST API (POST /api/v1/admin/invoices, then /api/v1/admin/invoice-items per
// item; Bearer key; retried on 5xx, 429 and connection errors, honouring
// Retry-After, never on other 4xx) so Paymenter sends its own e-mails. Its
// limits all come from Paymenter's side:
//
//   - It cannot join a database transaction: the invoice exists once
//     CreateInvoice returns, whatever happens to the caller's tx.
//   - There is no call that creates an invoice with its items, and Paymenter
//     fires its invoice-created e-mail when the invoice row is created, so a
//     mailer that renders synchronously may show an incomplete invoice.
//   - Items are sent without reference_type/reference_id: the API accepts
//     only the class name of an existing PHP model there. An item without a
//     reference is left alone when the invoice is paid, as upsell needs.
//   - A retry after a 5xx or a dropped connection repeats a POST the panel
//     may already have processed; Paymenter offers no idempotency key.
//   - If an item cannot be created, the invoice is deleted again (best
//     effort) so no partial invoice is left for the client to pay.
//   - The invoice is read back from the database after creation (the API
//     does not expose its number), so the API must be the panel of the
//     binding's database.
//
// Statements that run per request are prepared once in New; Close releases
// them. No error or log line carries APP_KEY, an API key or a decrypted
// secret.
package paymenter
