package pterosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Route names, used as keys of the request counters. They are the panel's
// route patterns relative to /api/application.
const (
	RouteListServers           = "GET /servers"
	RouteGetServer             = "GET /servers/{id}"
	RouteGetServerByExternalID = "GET /servers/external/{external_id}"
	RouteUpdateBuild           = "PATCH /servers/{id}/build"
	RouteGetNode               = "GET /nodes/{node}"
	RouteListNodeAllocations   = "GET /nodes/{node}/allocations"
	// RouteUnmatched counts requests for paths the simulator does not serve.
	RouteUnmatched = "unmatched"
)

const apiPrefix = "/api/application"

// maxBodyBytes bounds what the simulator reads from a request body.
const maxBodyBytes = 1 << 20

// genericErrorDetail is what the panel says for exceptions that are not HTTP
// exceptions.
const genericErrorDetail = "An unexpected error was encountered while processing this request, please try again."

// route is the result of matching a request against the served routes.
type route struct {
	name    string // one of the Route* constants
	method  string // the method the route accepts
	param   string // {id}, {external_id} or {node}
	matched bool
}

func matchRoute(path string) route {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok || (rest != "" && rest[0] != '/') {
		return route{name: RouteUnmatched}
	}
	// Laravel matches routes with the trailing slash trimmed.
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	if slices.Contains(seg[1:], "") {
		return route{name: RouteUnmatched}
	}
	r := route{matched: true, method: http.MethodGet}
	switch {
	case len(seg) == 1 && seg[0] == "servers":
		r.name = RouteListServers
	case len(seg) == 3 && seg[0] == "servers" && seg[1] == "external":
		r.name, r.param = RouteGetServerByExternalID, seg[2]
	case len(seg) == 2 && seg[0] == "servers":
		r.name, r.param = RouteGetServer, seg[1]
	case len(seg) == 3 && seg[0] == "servers" && seg[2] == "build":
		r.name, r.param, r.method = RouteUpdateBuild, seg[1], http.MethodPatch
	case len(seg) == 2 && seg[0] == "nodes":
		r.name, r.param = RouteGetNode, seg[1]
	case len(seg) == 3 && seg[0] == "nodes" && seg[2] == "allocations":
		r.name, r.param = RouteListNodeAllocations, seg[1]
	default:
		return route{name: RouteUnmatched}
	}
	return r
}

// errorKind decides how a failure is rendered for a client that does not
// want JSON.
type errorKind int

const (
	kindPage         errorKind = iota // an HTML error page with the same status
	kindLogin                         // 302 to /auth/login (unauthenticated)
	kindRedirectBack                  // 302 back (validation, DisplayException)
)

type errorEntry struct {
	Code   string     `json:"code"`
	Status string     `json:"status"`
	Detail string     `json:"detail"`
	Meta   *errorMeta `json:"meta,omitempty"`
}

type errorMeta struct {
	SourceField string `json:"source_field"`
	Rule        string `json:"rule"`
}

// failure is an error response before rendering.
type failure struct {
	status int
	kind   errorKind
	errors []errorEntry
}

func newFailure(status int, kind errorKind, code, detail string) *failure {
	return &failure{status: status, kind: kind, errors: []errorEntry{{
		Code: code, Status: strconv.Itoa(status), Detail: detail,
	}}}
}

func notFound() *failure {
	return newFailure(http.StatusNotFound, kindPage, "NotFoundHttpException",
		"The requested resource could not be found on the server.")
}

func forbidden(detail string) *failure {
	return newFailure(http.StatusForbidden, kindPage, "AccessDeniedHttpException", detail)
}

func displayError(detail string) *failure {
	return newFailure(http.StatusBadRequest, kindRedirectBack, "DisplayException", detail)
}

func badRequest(code, detail string) *failure {
	return newFailure(http.StatusBadRequest, kindPage, code, detail)
}

func serverError(code string) *failure {
	return newFailure(http.StatusInternalServerError, kindPage, code, genericErrorDetail)
}

// reply is a response before rendering: a failure, a JSON document, or a
// proxy's HTML page.
type reply struct {
	status int
	header http.Header
	doc    any
	fail   *failure
	html   string
}

func success(doc any) reply   { return reply{status: http.StatusOK, doc: doc} }
func failed(f *failure) reply { return reply{status: f.status, fail: f} }
func (r reply) with(h http.Header) reply { // adds headers, keeping existing ones
	if r.header == nil {
		r.header = http.Header{}
	}
	for k, v := range h {
		r.header[k] = append(r.header[k], v...)
	}
	return r
}

// apiRequest is a request that passed the middleware.
type apiRequest struct {
	*http.Request
	route route
	key   APIKey
	input map[string]any // the JSON body after TrimStrings and ConvertEmptyStringsToNull
}

// ServeHTTP serves the simulated Application API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	rt := matchRoute(r.URL.Path)
	s.requests[rt.name]++
	s.last[rt.name] = RecordedRequest{
		Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body,
	}
	res := s.process(r, rt, body)
	latency := s.latency
	s.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	render(w, r, res)
}

// process runs the panel's middleware stack and the controller. The caller
// holds s.mu.
func (s *Sim) process(r *http.Request, rt route, body []byte) reply {
	if f, hit := s.takeFault(r); hit {
		return f
	}
	if !rt.matched {
		return failed(notFound())
	}
	if r.Method != rt.method {
		return failed(newFailure(http.StatusMethodNotAllowed, kindPage, "MethodNotAllowedHttpException",
			fmt.Sprintf("The %s method is not supported for route %s. Supported methods: %s.",
				r.Method, strings.TrimPrefix(r.URL.Path, "/"), rt.method)))
	}
	key, authenticated := s.authenticate(r)
	if !authenticated {
		return failed(newFailure(http.StatusUnauthorized, kindLogin, "AuthenticationException", "Unauthenticated."))
	}
	limitHeaders, throttled := s.throttle(key.Owner)
	if throttled != nil {
		return *throttled
	}
	input, fail := parseJSONBody(r, body)
	if fail != nil {
		return failed(fail).with(limitHeaders)
	}
	if key.NotAdmin {
		return failed(forbidden("This account does not have permission to access the API.")).with(limitHeaders)
	}
	req := &apiRequest{Request: r, route: rt, key: key, input: input}
	var res reply
	switch rt.name {
	case RouteListServers:
		res = s.listServers(req)
	case RouteGetServer, RouteGetServerByExternalID:
		res = s.getServer(req)
	case RouteUpdateBuild:
		res = s.updateBuild(req)
	case RouteGetNode:
		res = s.getNode(req)
	case RouteListNodeAllocations:
		res = s.listNodeAllocations(req)
	}
	return res.with(limitHeaders)
}

// takeFault consumes the first queued fault matching r.
func (s *Sim) takeFault(r *http.Request) (reply, bool) {
	for i := range s.faults {
		f := &s.faults[i]
		if (f.Method != "" && f.Method != r.Method) || !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			continue
		}
		status := f.Status
		if f.Count--; f.Count == 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		switch status {
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			text := fmt.Sprintf("%d %s", status, http.StatusText(status))
			return reply{status: status, html: "<html><head><title>" + text + "</title></head><body><center><h1>" +
				text + "</h1></center><hr><center>nginx</center></body></html>\n"}, true
		case http.StatusInternalServerError:
			return failed(serverError("Exception")), true
		default:
			return failed(newFailure(status, kindPage, "HttpException", http.StatusText(status))), true
		}
	}
	return reply{}, false
}

// authenticate finds the key of a Sanctum bearer token.
func (s *Sim) authenticate(r *http.Request) (APIKey, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return APIKey{}, false
	}
	key, ok := s.keys[strings.TrimSpace(token)]
	return key, ok
}

// bucket is a Laravel RateLimiter entry: a hit counter and a timer, both
// created by the first hit and expiring together.
type bucket struct {
	hits    int
	resetAt time.Time
}

// throttle applies throttle:api.application for a key owner. It returns the
// headers for a response that was let through, or the 429 reply.
func (s *Sim) throttle(owner string) (http.Header, *reply) {
	if s.rateLimit.Disabled {
		return nil, nil
	}
	now, limit := s.now(), s.rateLimit.Limit
	b := s.buckets[owner]
	if b != nil && !now.Before(b.resetAt) {
		b = nil
	}
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	if b != nil && b.hits >= limit {
		retryAfter := int64(math.Ceil(b.resetAt.Sub(now).Seconds()))
		h.Set("Retry-After", strconv.FormatInt(retryAfter, 10))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Unix()+retryAfter, 10))
		s.throttled++
		res := failed(newFailure(http.StatusTooManyRequests, kindPage, "ThrottleRequestsException", "Too Many Attempts.")).with(h)
		return nil, &res
	}
	if b == nil {
		b = &bucket{resetAt: now.Add(s.rateLimit.Window)}
		s.buckets[owner] = b
	}
	b.hits++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(limit-b.hits))
	return h, nil
}

// parseJSONBody is the IsValidJson middleware plus TrimStrings and
// ConvertEmptyStringsToNull. A body that is not sent as JSON is not read,
// which leaves the input empty.
func parseJSONBody(r *http.Request, body []byte) (map[string]any, *failure) {
	input := map[string]any{}
	if !isJSONMediaType(r.Header.Get("Content-Type")) || len(body) == 0 {
		return input, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, badRequest("BadRequestHttpException",
			"The JSON data passed in the request appears to be malformed: Syntax error")
	}
	if m, isObject := normalizeInput(v).(map[string]any); isObject {
		input = m
	}
	return input, nil
}

func normalizeInput(v any) any {
	switch v := v.(type) {
	case string:
		if t := strings.TrimSpace(v); t != "" {
			return t
		}
		return nil
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeInput(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeInput(e)
		}
	}
	return v
}

func isJSONMediaType(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "/json") || strings.Contains(s, "+json")
}

// expectsJSON is Laravel's Request::expectsJson: an AJAX request that accepts
// anything, or a request whose most acceptable content type is JSON.
func expectsJSON(r *http.Request) bool {
	types := acceptableTypes(strings.Join(r.Header.Values("Accept"), ","))
	if len(types) > 0 && isJSONMediaType(types[0]) {
		return true
	}
	ajax := r.Header.Get("X-Requested-With") == "XMLHttpRequest" && r.Header.Get("X-Pjax") == ""
	return ajax && (len(types) == 0 || types[0] == "*/*" || types[0] == "*")
}

// acceptableTypes returns the media types of an Accept header, most
// acceptable first.
func acceptableTypes(accept string) []string {
	type entry struct {
		media string
		q     float64
	}
	var entries []entry
	for part := range strings.SplitSeq(accept, ",") {
		media, params, _ := strings.Cut(part, ";")
		media = strings.TrimSpace(media)
		if media == "" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if v, isQ := strings.CutPrefix(strings.TrimSpace(p), "q="); isQ {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			entries = append(entries, entry{media, q})
		}
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.media
	}
	return out
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// render writes a reply the way the panel's exception handler would for this
// client.
func render(w http.ResponseWriter, r *http.Request, res reply) {
	for k, v := range res.header {
		w.Header()[k] = v
	}
	switch {
	case res.html != "":
		writeHTML(w, res.status, res.html)
	case res.fail == nil:
		writeJSON(w, res.status, res.doc)
	case expectsJSON(r):
		writeJSON(w, res.status, map[string]any{"errors": res.fail.errors})
	case res.fail.kind == kindLogin:
		http.Redirect(w, r, baseURL(r)+"/auth/login", http.StatusFound)
	case res.fail.kind == kindRedirectBack:
		// url()->previous(): the Referer, else the site root. The errors are
		// flashed to a session the API client never sees.
		back := r.Header.Get("Referer")
		if back == "" {
			back = baseURL(r) + "/"
		}
		http.Redirect(w, r, back, http.StatusFound)
	default:
		text := fmt.Sprintf("%d %s", res.status, http.StatusText(res.status))
		writeHTML(w, res.status, "<!DOCTYPE html><html><head><title>"+text+"</title></head><body><h1>"+
			text+"</h1><p>"+html.EscapeString(res.fail.errors[0].Detail)+"</p></body></html>\n")
	}
}

func writeJSON(w http.ResponseWriter, status int, doc any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(doc) // a failed write means the client went away
}

func writeHTML(w http.ResponseWriter, status int, page string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, page) // a failed write means the client went away
}
