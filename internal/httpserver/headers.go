package httpserver

import (
	"net/http"
	"slices"
)

// securityHeaders are set on every reply the server sends, whoever wrote it:
// a module's reply forwarded by the daemon, an error, the mux's 404, a
// probe, a recovered panic. Replies carry per-user data (a client's
// services, prices, signed links), so:
//
//   - no cache, shared or private, may keep them (Cache-Control);
//   - the browser sends no Referer onwards: a page's URL can hold a link
//     token (Referrer-Policy);
//   - the browser must not sniff a JSON body into HTML (nosniff);
//   - no other site may frame a page (X-Frame-Options for old browsers,
//     CSP frame-ancestors for the rest): nothing upsell serves is meant to
//     be embedded, and a framed purchase button is a clickjacking target.
var securityHeaders = [...]struct{ name, value string }{
	{"Cache-Control", "no-store"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
}

// frameAncestorsPolicy is added as a Content-Security-Policy of its own. A
// browser enforces every CSP header a reply carries, so a policy the handler
// (or a module) set keeps working and cannot loosen this one.
const frameAncestorsPolicy = "frame-ancestors 'none'"

// applySecurityHeaders sets the headers on h, replacing whatever a handler
// put there under the same names. frameAncestors, when not empty, are the
// origins a page AllowFraming opened may be framed by.
func applySecurityHeaders(h http.Header, frameAncestors string) {
	for _, sh := range securityHeaders {
		if sh.name == "X-Frame-Options" && frameAncestors != "" {
			// Old browsers that know only X-Frame-Options cannot name
			// origins; they get no framing protection for this page, the
			// others get the CSP below.
			h.Del(sh.name)
			continue
		}
		h.Set(sh.name, sh.value)
	}
	policy := frameAncestorsPolicy
	if frameAncestors != "" {
		policy = "frame-ancestors " + frameAncestors
	}
	if !slices.Contains(h.Values("Content-Security-Policy"), policy) {
		h.Add("Content-Security-Policy", policy)
	}
}

// AllowFraming lets the pages of origins (space-separated, e.g.
// "https://www.example.com") frame the reply being written to w, instead
// of nobody. Only a public page that acts for nobody may be framed (the
// Build-Your-Own configurator on a provider's pricing page).
func AllowFraming(w http.ResponseWriter, origins string) {
	for w != nil {
		if hw, ok := w.(*headerWriter); ok {
			hw.frameAncestors = origins
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// withSecurityHeaders applies the security headers at the moment a reply's
// header is sent, so that no handler can forget them or overwrite them.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &headerWriter{ResponseWriter: w}
		next.ServeHTTP(hw, r)
		if !hw.sent {
			// Nothing written: net/http sends a 200 with this header.
			applySecurityHeaders(w.Header(), hw.frameAncestors)
		}
	})
}

// headerWriter applies the security headers before the header goes out.
type headerWriter struct {
	http.ResponseWriter
	sent           bool
	frameAncestors string
}

func (w *headerWriter) WriteHeader(status int) {
	// Also before a 1xx: its header is sent too, and the final one is
	// checked again below.
	applySecurityHeaders(w.Header(), w.frameAncestors)
	if status >= 200 {
		w.sent = true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *headerWriter) Write(b []byte) (int, error) {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush supports streaming handlers that assert http.Flusher.
func (w *headerWriter) Flush() {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *headerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
