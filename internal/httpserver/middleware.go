package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/upsell-io/upsell/internal/obs"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an accepted client request id.
const maxRequestIDLen = 128

type ctxKey int

const (
	requestIDKey ctxKey = iota
	requestInfoKey
)

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// requestInfo is filled in by inner layers for the outer ones: the matched
// route is only known once the mux has routed.
type requestInfo struct {
	route string
}

// recordRoute tells the access log and metrics which pattern matched. Reading
// r.Pattern in the outer middleware would rely on the mux mutating the
// request it was given, which net/http does not promise.
func recordRoute(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(requestInfoKey).(*requestInfo); ok {
			info.route = r.Pattern
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// validRequestID accepts ids made of characters that cannot forge log lines
// or headers: a proxy's UUID passes, arbitrary client text does not.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// quietRoutes are polled by probes and scrapers; logging their successes
// at info would bury everything else. A refused scrape (401) is not quiet.
var quietRoutes = map[string]bool{
	"GET /healthz": true,
	"GET /readyz":  true,
	MetricsPath:    true,
}

func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		rec := &recordingWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey, info))

		// Deferred so that the line is written even when a handler aborts
		// with http.ErrAbortHandler, which recovery lets through to
		// net/http; the panic goes on once the line is written.
		defer func() {
			aborted := recover()
			s.logRequest(r, info, rec, time.Since(start), aborted != nil)
			if aborted != nil {
				panic(aborted)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// logRequest writes the access log line and records the request's metrics.
func (s *Server) logRequest(r *http.Request, info *requestInfo, rec *recordingWriter, elapsed time.Duration, aborted bool) {
	route := info.route
	if route == "" {
		route = obs.UnmatchedRoute
	}
	status := rec.statusOrOK()
	if s.opts.Metrics != nil {
		s.opts.Metrics.ObserveHTTP(route, status, elapsed)
	}
	level := slog.LevelInfo
	if quietRoutes[route] && status < http.StatusBadRequest {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", route),
		// The path only: query strings carry signed link tokens.
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", elapsed),
		slog.Int64("bytes", rec.bytes),
		slog.String("request_id", RequestID(r.Context())),
	}
	if aborted {
		// The client got a cut connection, not this status.
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	s.log.LogAttrs(r.Context(), level, "http request", attrs...)
}

// errorResponse is the JSON body of errors the scaffolding itself returns.
type errorResponse struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				// The handler's deliberate way to cut the connection.
				panic(p)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "http handler panicked",
				slog.String("panic", fmt.Sprint(p)),
				slog.String("stack", string(debug.Stack())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("request_id", RequestID(r.Context())),
			)
			if rec, ok := w.(*recordingWriter); ok && rec.wroteHeader {
				// Part of a response is out: a 500 can no longer be sent,
				// and the client must not take the truncated body for a
				// complete one. Abort the connection.
				panic(http.ErrAbortHandler)
			}
			writeJSON(w, http.StatusInternalServerError, errorResponse{
				Error:     "internal server error",
				RequestID: RequestID(r.Context()),
			})
		}()
		next.ServeHTTP(w, r)
	})
}

// recordingWriter remembers the status and counts the body bytes.
type recordingWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

func (w *recordingWriter) WriteHeader(status int) {
	if !w.wroteHeader && status >= 200 {
		// 1xx informational responses are not the final status.
		w.status, w.wroteHeader = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush supports streaming handlers that assert http.Flusher.
func (w *recordingWriter) Flush() {
	if !w.wroteHeader {
		w.status, w.wroteHeader = http.StatusOK, true
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recordingWriter) statusOrOK() int {
	if !w.wroteHeader {
		// A handler that writes nothing sends 200.
		return http.StatusOK
	}
	return w.status
}
