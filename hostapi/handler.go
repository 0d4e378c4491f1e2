package hostapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// HandleWith serves req with h, a plain http.Handler (an http.ServeMux with
// "GET /packages"-style patterns, html/template pages writing to the
// http.ResponseWriter): the host's request becomes an *http.Request in the
// plugin and what h writes becomes the HTTPResponse, as
// grafana-plugin-sdk-go's httpadapter does. A module's HandleHTTP is then
// one line:
//
//	func (m *Module) HandleHTTP(ctx context.Context, req hostapi.HTTPRequest) (hostapi.HTTPResponse, error) {
//		return hostapi.HandleWith(ctx, m.mux, req)
//	}
//
// The request's path is the module-relative path ("/packages"); the host's
// request (principal, linked service, panel settings, prefetched rows) is
// on its context (RequestOf). A handler that fails calls Fail with a typed
// error and the host maps it to a status and message by its one rule.
func HandleWith(ctx context.Context, h http.Handler, req HTTPRequest) (HTTPResponse, error) {
	u := &url.URL{Path: req.Path, RawQuery: url.Values(req.Query).Encode()}
	r, err := http.NewRequestWithContext(context.WithValue(ctx, requestKey{}, &req), req.Method, u.String(), bytes.NewReader(req.Body))
	if err != nil {
		return HTTPResponse{}, Invalid("path", "not a request path: %q", req.Path)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	r.RequestURI = u.RequestURI()
	w := &responseRecorder{header: http.Header{}}
	h.ServeHTTP(w, r)
	if w.err != nil {
		return HTTPResponse{}, w.err
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	resp := HTTPResponse{Status: w.status, Header: w.header, Body: w.body.Bytes()}
	if v := w.header.Get(reuseUntilHeader); v != "" {
		// The reuse mark travels as a header inside the plugin only.
		delete(resp.Header, reuseUntilHeader)
		if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
			resp.ReuseUntil = time.Unix(sec, 0)
		}
	}
	return resp, nil
}

type requestKey struct{}

// RequestOf is the host's request an *http.Request served by HandleWith
// came from: its Principal, and for a client link the Service, Settings and
// Prefetched rows the host read. Outside HandleWith it returns an empty
// request with an anonymous principal.
func RequestOf(r *http.Request) *HTTPRequest {
	if req, ok := r.Context().Value(requestKey{}).(*HTTPRequest); ok {
		return req
	}
	return &HTTPRequest{Principal: Principal{Kind: Anonymous}}
}

// Fail answers r with err: the host turns err's code into the status and,
// where it is the module's own words, the message (for a page, an HTML
// error page). Anything written to w before is dropped.
func Fail(w http.ResponseWriter, err error) {
	if rec, ok := w.(*responseRecorder); ok {
		rec.err = err
		return
	}
	// Outside HandleWith (a test calling the handler directly): the status
	// the host would give.
	http.Error(w, err.Error(), CodeOf(err).HTTPStatus())
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		Fail(w, Errorf(CodeInternal, "encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// reuseUntilHeader carries MarkReusable's time from the handler to
// HandleWith; it never leaves the plugin.
const reuseUntilHeader = "X-Upsell-Reuse-Until"

// MarkReusable sets HTTPResponse.ReuseUntil for a reply written through w
// (see its rules); call it before writing the body.
func MarkReusable(w http.ResponseWriter, until int64) {
	w.Header().Set(reuseUntilHeader, strconv.FormatInt(until, 10))
}

// responseRecorder is the http.ResponseWriter HandleWith gives a handler.
type responseRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	err    error
}

func (w *responseRecorder) Header() http.Header { return w.header }

func (w *responseRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
