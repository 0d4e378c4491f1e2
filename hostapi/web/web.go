// Package web is what a module needs to serve HTML pages through the host:
// render a template as a page the host wraps in the provider's layout (or
// as a fragment a live update swaps in), read the session's CSRF token,
// and show figures in the units clients read. The host owns the layout,
// the stylesheet and the script (one look for every module, themed by the
// provider); a module owns its templates, embedded from its own folder.
//
// The page never computes a price: every figure on it, and every figure a
// live update swaps in, is rendered by the module from its server-side
// quote.
package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// Headers between a module and the host. A module sets LayoutHeader and
// TitleHeader through Render; the host sets CSRFHeader and forwards
// LiveHeader from the browser's script.
const (
	// LayoutHeader set to "page" asks the host to wrap the body (the
	// page's <main> content) in its layout.
	LayoutHeader = "Upsell-Layout"
	// TitleHeader is the page's title (the host adds the provider's name).
	TitleHeader = "Upsell-Title"
	// LiveHeader marks a request from the page's script wanting only the
	// fragment named by its value (e.g. "summary"), not the whole page.
	LiveHeader = "Upsell-Live"
	// CSRFHeader carries the session's CSRF token to the module, which
	// puts it in its forms as the CSRFField; the host checks it on every
	// state-changing request a session cookie authenticated.
	CSRFHeader = "X-Upsell-Csrf"
	// CSRFField is the form field (and CSRFRequestHeader the header, for
	// the script's requests) the host reads the token from.
	CSRFField         = "csrf"
	CSRFRequestHeader = "X-CSRF-Token"
)

// CSRF is the CSRF token of the request's session, "" without one.
func CSRF(r *http.Request) string { return r.Header.Get(CSRFHeader) }

// Live is the fragment the page's script asked for, "" for a whole page.
func Live(r *http.Request) string { return r.Header.Get(LiveHeader) }

// Render executes the template name with data and answers with it as a
// page titled title, with status. A live request (Live(r) != "") gets the
// body as it is, not wrapped, for the script to swap in.
func Render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, name, title string, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		hostapi.Fail(w, hostapi.Errorf(hostapi.CodeInternal, "render %s: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if Live(r) == "" {
		h.Set(LayoutHeader, "page")
		h.Set(TitleHeader, title)
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// SeeOther sends the browser on to target after a form (303: the next
// request is a GET, and reloading it does not post the form again).
func SeeOther(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// Form parses r's urlencoded body (the host has read it; at most 1 MiB).
func Form(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return nil, hostapi.Invalid("form", "not a form: %v", err)
	}
	return r.PostForm, nil
}

// Funcs are template functions for figures in the units clients read.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"money":    Money,
		"mib":      MiB,
		"plural":   Plural,
		"percent":  func(n int64) string { return strconv.FormatInt(n, 10) + " %" },
		"csrfName": func() string { return CSRFField },
	}
}

// Money is an amount as a client reads it: "12.00 EUR". Amounts are
// already rounded by the module's money rule; this only spells them.
func Money(amount decimal.Decimal, currency string) string {
	return amount.StringFixed(2) + " " + currency
}

// MiB is a size in MiB as clients read it: "512 MB", "4 GB", "1.5 GB".
func MiB(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " MB"
	}
	return decimal.New(n, 0).Div(decimal.New(1024, 0)).Round(2).String() + " GB"
}

// Plural is "1 port", "2 ports".
func Plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// Join is a list in prose: "a, b and c".
func Join(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
