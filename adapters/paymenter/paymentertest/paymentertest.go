// Package paymentertest is a test double of Paymenter's admin REST API for
// the calls upsell makes: creating, reading and deleting invoices and
// creating invoice items under /api/v1/admin.
//
// Like the real panel it writes to the panel database it is given (so the
// binding can read back what "Paymenter" created) and it honours the
// documented shapes:
//
//   - Authorization: Bearer <key>, else 401 {"message":"Unauthenticated."};
//   - Accept: application/json (Laravel answers validation errors of other
//     requests with a redirect; the double refuses them with 406);
//   - the validation rules of CreateInvoiceRequest and
//     CreateInvoiceItemRequest, answered as Laravel does: 422
//     {"message": ..., "errors": {field: [...]}};
//   - JSON:API resources ({"data": {"id": "12", "type": ..., "attributes":
//     {...}}}) with 201 on creation;
//   - invoice numbering from the settings invoice_number,
//     invoice_number_padding, invoice_number_format and invoice_proforma.
//
// Failures can be queued per endpoint with FailNext; a queued failure is
// answered before anything is written, as when a proxy or the framework
// fails in front of the controller.
package paymentertest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
)

// Endpoints the double serves.
const (
	InvoicesPath     = "/api/v1/admin/invoices"
	InvoiceItemsPath = "/api/v1/admin/invoice-items"
)

// modelClasses are the PHP model classes the double treats as existing,
// for the reference_type rule (class_exists) of invoice items, with their
// tables for the reference_id rule.
var modelClasses = map[string]string{
	`App\Models\Service`:        "services",
	`App\Models\ServiceUpgrade`: "service_upgrades",
	`App\Models\Credit`:         "credits",
	`App\Models\User`:           "users",
	`App\Models\Invoice`:        "invoices",
	`App\Models\Order`:          "orders",
	`App\Models\Product`:        "products",
}

// Failure is a canned answer for one request. The zero Failure (Pass)
// lets the request through to the endpoint, so a queue can fail, say, the
// second item only.
type Failure struct {
	// Status is the HTTP status to answer; 0 passes the request through.
	Status int
	// Body is sent as is; empty means {"message": "<status text>"}.
	Body string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

// Pass is the Failure that lets one request through.
var Pass = Failure{}

// Request is a request the double received.
type Request struct {
	Method string
	Path   string
	// Authorization is the raw header, so tests can check the scheme.
	Authorization string
	Accept        string
	ContentType   string
	Body          string
	// Status is what the double answered.
	Status int
}

// Server is a running double. Close it when done.
type Server struct {
	// URL is the panel base URL to configure (without /api).
	URL string

	key  string
	db   *sqlx.DB
	http *httptest.Server

	mu       sync.Mutex
	failures map[string][]Failure
	requests []Request
}

// New starts a double that accepts key and writes to db, which must hold the
// Paymenter tables.
func New(db *sqlx.DB, key string) *Server {
	s := &Server{key: key, db: db, failures: map[string][]Failure{}}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.http.URL
	return s
}

// Close stops the double.
func (s *Server) Close() { s.http.Close() }

// FailNext queues answers for the next requests to method and path (e.g.
// "POST", InvoicesPath), used in order before the endpoint runs; Pass lets
// a request through.
func (s *Server) FailNext(method, path string, failures ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := method + " " + path
	s.failures[k] = append(s.failures[k], failures...)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsTo counts the requests received for method and path.
func (s *Server) RequestsTo(method, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
			Accept: r.Header.Get("Accept"), ContentType: r.Header.Get("Content-Type"),
			Body: string(body), Status: rec.status,
		})
		s.mu.Unlock()
	}()
	if f, ok := s.nextFailure(r.Method, r.URL.Path); ok && f != Pass {
		writeFailure(rec, f)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.key {
		writeJSON(rec, http.StatusUnauthorized, map[string]any{"message": "Unauthenticated."})
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(rec, http.StatusNotAcceptable, map[string]any{"message": "paymentertest: send Accept: application/json"})
		return
	}
	s.route(rec, r, body)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	ctx := r.Context()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == InvoicesPath:
		s.createInvoice(ctx, w, body)
	case r.Method == http.MethodPost && r.URL.Path == InvoiceItemsPath:
		s.createInvoiceItem(ctx, w, body)
	case strings.HasPrefix(r.URL.Path, InvoicesPath+"/"):
		id, err := strconv.ParseUint(strings.TrimPrefix(r.URL.Path, InvoicesPath+"/"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.showInvoice(ctx, w, id)
		case http.MethodDelete:
			s.deleteInvoice(ctx, w, id)
		default:
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method Not Allowed"})
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

func (s *Server) nextFailure(method, path string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := method + " " + path
	queue := s.failures[k]
	if len(queue) == 0 {
		return Failure{}, false
	}
	s.failures[k] = queue[1:]
	return queue[0], true
}

// validationErrors collects Laravel-style messages per field.
type validationErrors map[string][]string

func (v validationErrors) add(field, msg string) { v[field] = append(v[field], msg) }

func (v validationErrors) write(w http.ResponseWriter) bool {
	if len(v) == 0 {
		return false
	}
	fields := make([]string, 0, len(v))
	for f := range v {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	first := v[fields[0]][0]
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": first, "errors": v})
	return true
}

// createInvoice follows CreateInvoiceRequest: user_id required|exists,
// currency_code required|exists, due_at nullable|date, status
// in:pending,paid,cancelled (default pending).
func (s *Server) createInvoice(ctx context.Context, w http.ResponseWriter, body []byte) {
	in, ok := decodeBody(w, body)
	if !ok {
		return
	}
	errs := validationErrors{}
	userID, okUser := uintField(in, "user_id")
	if !okUser {
		errs.add("user_id", "The user id field is required.")
	} else if !s.exists(ctx, "SELECT 1 FROM `users` WHERE `id` = ?", userID) {
		errs.add("user_id", "The selected user id is invalid.")
	}
	currency, _ := in["currency_code"].(string)
	if currency == "" {
		errs.add("currency_code", "The currency code field is required.")
	} else if !s.exists(ctx, "SELECT 1 FROM `currencies` WHERE `code` = ?", currency) {
		errs.add("currency_code", "The selected currency code is invalid.")
	}
	var due any
	if raw, present := in["due_at"]; present && raw != nil {
		str, _ := raw.(string)
		t, err := time.Parse(time.DateOnly, str)
		if err != nil {
			errs.add("due_at", "The due at field must be a valid date.")
		}
		due = t.Format(time.DateOnly)
	}
	status := "pending"
	if raw, present := in["status"]; present {
		status, _ = raw.(string)
		if status != "pending" && status != "paid" && status != "cancelled" {
			errs.add("status", "The selected status is invalid.")
		}
	}
	if errs.write(w) {
		return
	}
	id, err := s.insertInvoice(ctx, userID, currency, due, status)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Server Error"})
		return
	}
	s.showInvoiceStatus(ctx, w, id, http.StatusCreated)
}

// insertInvoice numbers and inserts an invoice the way Paymenter does.
func (s *Server) insertInvoice(ctx context.Context, userID uint64, currency string, due any, status string) (uint64, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	now := time.Now().UTC()
	var number any
	if setting(ctx, tx, "invoice_proforma") != "1" {
		n, err := nextNumber(ctx, tx)
		if err != nil {
			return 0, err
		}
		number = formatNumber(n, setting(ctx, tx, "invoice_number_padding"), setting(ctx, tx, "invoice_number_format"), now)
	}
	res, err := tx.ExecContext(ctx,
		"INSERT INTO `invoices` (`number`, `status`, `due_at`, `currency_code`, `user_id`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?, ?, ?, ?)",
		number, status, due, currency, userID, now.Format(time.DateTime), now.Format(time.DateTime))
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	return uint64(id), tx.Commit()
}

func setting(ctx context.Context, tx *sqlx.Tx, key string) string {
	var v sql.NullString
	_ = tx.GetContext(ctx, &v, "SELECT `value` FROM `settings` WHERE `settingable_type` IS NULL AND `key` = ? ORDER BY `id` DESC LIMIT 1", key)
	return v.String
}

func nextNumber(ctx context.Context, tx *sqlx.Tx) (int64, error) {
	var row struct {
		ID    uint64         `db:"id"`
		Value sql.NullString `db:"value"`
	}
	err := tx.GetContext(ctx, &row, "SELECT `id`, `value` FROM `settings` WHERE `settingable_type` IS NULL AND `key` = 'invoice_number' ORDER BY `id` LIMIT 1 FOR UPDATE")
	if err != nil {
		return 0, err
	}
	n, _ := strconv.ParseInt(row.Value.String, 10, 64)
	n++
	_, err = tx.ExecContext(ctx, "UPDATE `settings` SET `value` = ? WHERE `id` = ?", strconv.FormatInt(n, 10), row.ID)
	return n, err
}

func formatNumber(n int64, padding, format string, now time.Time) string {
	digits := strconv.FormatInt(n, 10)
	if p, err := strconv.Atoi(padding); err == nil && len(digits) < p {
		digits = strings.Repeat("0", p-len(digits)) + digits
	}
	if format == "" {
		format = "INV-{number}"
	}
	r := strings.NewReplacer("{number}", digits, "{year}", now.Format("2006"), "{month}", now.Format("01"), "{day}", now.Format("02"))
	return r.Replace(format)
}

// createInvoiceItem follows CreateInvoiceItemRequest: invoice_id
// required|exists, description required|string|max:255, price
// required|numeric|min:0, quantity required|integer|min:1, reference_type
// nullable (a class that exists, with a reference_id of an existing row).
func (s *Server) createInvoiceItem(ctx context.Context, w http.ResponseWriter, body []byte) {
	in, ok := decodeBody(w, body)
	if !ok {
		return
	}
	errs := validationErrors{}
	invoiceID, okInvoice := uintField(in, "invoice_id")
	if !okInvoice {
		errs.add("invoice_id", "The invoice id field is required.")
	} else if !s.exists(ctx, "SELECT 1 FROM `invoices` WHERE `id` = ?", invoiceID) {
		errs.add("invoice_id", "The selected invoice id is invalid.")
	}
	description, _ := in["description"].(string)
	switch {
	case description == "":
		errs.add("description", "The description field is required.")
	case len([]rune(description)) > 255:
		errs.add("description", "The description field must not be greater than 255 characters.")
	}
	price, okPrice := numericField(in, "price")
	if !okPrice {
		errs.add("price", "The price field must be a number.")
	} else if price.IsNegative() {
		errs.add("price", "The price field must be at least 0.")
	}
	quantity, okQty := uintField(in, "quantity")
	if !okQty || quantity < 1 {
		errs.add("quantity", "The quantity field must be at least 1.")
	}
	refType, _ := in["reference_type"].(string)
	refID, hasRefID := uintField(in, "reference_id")
	if refType != "" {
		table, known := modelClasses[refType]
		switch {
		case !hasRefID:
			errs.add("reference_id", "The reference_id field is required when reference_type is provided.")
		case !known:
			errs.add("reference_id", "The reference_type must be a valid class name.")
		case !s.exists(ctx, "SELECT 1 FROM `"+table+"` WHERE `id` = ?", refID):
			errs.add("reference_id", "The selected reference_id is invalid for the given reference_type.")
		}
	}
	if errs.write(w) {
		return
	}
	now := time.Now().UTC().Format(time.DateTime)
	var ref, refIDArg any
	if refType != "" {
		ref, refIDArg = refType, refID
	}
	res, err := s.db.ExecContext(ctx,
		"INSERT INTO `invoice_items` (`invoice_id`, `price`, `quantity`, `description`, `reference_type`, `reference_id`, `created_at`, `updated_at`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		invoiceID, price.StringFixed(2), quantity, description, ref, refIDArg, now, now)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Server Error"})
		return
	}
	id, _ := res.LastInsertId()
	writeJSON(w, http.StatusCreated, map[string]any{
		"data": map[string]any{
			"id":   strconv.FormatInt(id, 10),
			"type": "invoiceItems",
			"attributes": map[string]any{
				"id": id, "quantity": quantity, "price": price.StringFixed(2),
				"created_at": now, "updated_at": now,
			},
			"relationships": map[string]any{}, "links": map[string]any{}, "meta": map[string]any{},
		},
		"jsonapi": map[string]any{"version": "1.0", "meta": map[string]any{}},
	})
}

func (s *Server) showInvoice(ctx context.Context, w http.ResponseWriter, id uint64) {
	s.showInvoiceStatus(ctx, w, id, http.StatusOK)
}

// showInvoiceStatus answers an InvoiceResource: attributes id, status,
// currency_code, due_at, updated_at, created_at (no number: the real
// resource does not expose it either).
func (s *Server) showInvoiceStatus(ctx context.Context, w http.ResponseWriter, id uint64, status int) {
	var row struct {
		ID       uint64         `db:"id"`
		Status   string         `db:"status"`
		Currency string         `db:"currency_code"`
		DueAt    sql.NullString `db:"due_at"`
	}
	err := s.db.GetContext(ctx, &row, "SELECT `id`, `status`, `currency_code`, DATE_FORMAT(`due_at`, '%Y-%m-%d') AS due_at FROM `invoices` WHERE `id` = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "No query results for model [App\\Models\\Invoice]."})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Server Error"})
		return
	}
	var due any
	if row.DueAt.Valid {
		due = row.DueAt.String + "T00:00:00.000000Z"
	}
	writeJSON(w, status, map[string]any{
		"data": map[string]any{
			"id":   strconv.FormatUint(row.ID, 10),
			"type": "invoices",
			"attributes": map[string]any{
				"id": row.ID, "status": row.Status, "currency_code": row.Currency, "due_at": due,
			},
			"relationships": map[string]any{}, "links": map[string]any{}, "meta": map[string]any{},
		},
		"jsonapi": map[string]any{"version": "1.0", "meta": map[string]any{}},
	})
}

func (s *Server) deleteInvoice(ctx context.Context, w http.ResponseWriter, id uint64) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM `invoices` WHERE `id` = ?", id)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Server Error"})
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "No query results for model [App\\Models\\Invoice]."})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) exists(ctx context.Context, query string, arg any) bool {
	var one int
	return s.db.GetContext(ctx, &one, query, arg) == nil
}

func decodeBody(w http.ResponseWriter, body []byte) (map[string]any, bool) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "paymentertest: the body is not a JSON object"})
		return nil, false
	}
	return in, true
}

// uintField reads a non-negative integer sent as a JSON number or a
// numeric string, as Laravel's integer rule accepts both.
func uintField(in map[string]any, key string) (uint64, bool) {
	switch v := in[key].(type) {
	case json.Number:
		n, err := strconv.ParseUint(v.String(), 10, 64)
		return n, err == nil
	case string:
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// numericField reads a number sent as a JSON number or a numeric string.
func numericField(in map[string]any, key string) (decimal.Decimal, bool) {
	var s string
	switch v := in[key].(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	return d, err == nil
}

func writeFailure(w http.ResponseWriter, f Failure) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	body := f.Body
	if body == "" {
		b, _ := json.Marshal(map[string]any{"message": http.StatusText(f.Status)})
		body = string(b)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusRecorder remembers the status written, for Requests.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// String describes the double without its key.
func (s *Server) String() string { return fmt.Sprintf("paymentertest.Server at %s", s.URL) }
