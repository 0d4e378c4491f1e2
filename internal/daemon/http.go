package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/httpserver"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/obs"
	"github.com/upsell-io/upsell/internal/sqlerr"
	"github.com/upsell-io/upsell/internal/supervisor"
	"github.com/upsell-io/upsell/internal/webui"
)

// maxBodyBytes bounds request bodies forwarded to modules.
const maxBodyBytes = 1 << 20

// Mount adds the daemon's routes to srv: module routes under /m/{module}/,
// the admin API, the panel's webhook, and /metrics behind the admin token
// unless http.metrics_listen gives the metrics a listener of their own
// (MetricsServer), in which case srv does not serve them at all.
func (d *Daemon) Mount(srv *httpserver.Server) {
	srv.Handle("/m/{module}/{path...}", http.HandlerFunc(d.serveModule))
	srv.Handle("GET "+webui.AssetsPath+"/", d.Pages.Assets())
	d.mountConsole(srv)
	srv.Handle("GET /api/v1/admin/plugins", d.admin(http.HandlerFunc(d.servePlugins)))
	srv.Handle("GET /api/v1/admin/jobs", d.admin(http.HandlerFunc(d.serveJobs)))
	srv.Handle("POST /api/v1/admin/jobs/{id}/retry", d.admin(http.HandlerFunc(d.serveRetryJob)))
	srv.Handle("POST /api/v1/admin/users/{id}/revoke-links", d.admin(http.HandlerFunc(d.serveRevokeLinks)))
	srv.Handle("POST /webhooks/"+panelName, d.webhookHandler())
	if d.Metrics != nil && d.Config.HTTP.MetricsListen == "" {
		srv.Handle(httpserver.MetricsPath, d.admin(d.Metrics.Handler()))
	}
}

// HTTPServers returns the API server on http.listen with the daemon's
// routes, and the metrics server on http.metrics_listen, or nil when none
// is configured. Both answer /healthz and /readyz from the plugins' health.
func (d *Daemon) HTTPServers() (api, metrics *httpserver.Server) {
	ready := d.Ready
	api = httpserver.New(httpserver.Options{Listen: d.Config.HTTP.Listen, Logger: d.Logger, Metrics: d.Metrics, Ready: ready})
	d.Mount(api)
	if d.Metrics != nil && d.Config.HTTP.MetricsListen != "" {
		// Nothing but the scrape and the probes: the address is meant for
		// a scraper on a private network, and nothing there asks for a
		// token.
		metrics = httpserver.New(httpserver.Options{Listen: d.Config.HTTP.MetricsListen, Logger: d.Logger, Metrics: d.Metrics, Ready: ready})
		metrics.Handle(httpserver.MetricsPath, d.Metrics.Handler())
	}
	return api, metrics
}

// ServeHTTP runs the HTTP servers (HTTPServers) until ctx is cancelled, then
// shuts them down gracefully. If one fails, the other is stopped too.
func (d *Daemon) ServeHTTP(ctx context.Context) error {
	api, metrics := d.HTTPServers()
	if metrics == nil {
		return api.Run(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	for _, srv := range []*httpserver.Server{api, metrics} {
		go func() {
			err := srv.Run(ctx)
			cancel()
			errs <- err
		}()
	}
	return errors.Join(<-errs, <-errs)
}

// dbPingTimeout bounds readiness's database ping: a server that does not
// answer within it is as down as one that refuses.
const dbPingTimeout = 2 * time.Second

// Ready reports the database's and the plugins' health for /readyz.
func (d *Daemon) Ready(ctx context.Context) []httpserver.CheckResult {
	out := []httpserver.CheckResult{d.databaseReady(ctx)}
	for _, st := range d.Supervisor.Statuses() {
		ok := st.State == supervisor.Running
		detail := string(st.State)
		if st.LastError != "" && !ok {
			detail += ": " + st.LastError
		}
		out = append(out, httpserver.CheckResult{Name: "plugin " + st.Name, OK: ok, Detail: detail})
	}
	return out
}

// databaseReady pings the database through the pool, as a request would
// reach it, and says why it cannot.
func (d *Daemon) databaseReady(ctx context.Context) httpserver.CheckResult {
	ctx, cancel := context.WithTimeout(ctx, dbPingTimeout)
	defer cancel()
	if err := d.DB.PingContext(ctx); err != nil {
		return httpserver.CheckResult{Name: "database", OK: false, Detail: "unreachable: " + unreachableReason(err)}
	}
	return httpserver.CheckResult{Name: "database", OK: true, Detail: "reachable"}
}

// unreachableReason names why a ping failed without the server's address
// (readiness is served to probes, not to operators): "connect: connection
// refused", "no answer within 2s", the server's own error.
func unreachableReason(err error) string {
	var opErr *net.OpError
	var myErr *mysql.MySQLError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", dbPingTimeout)
	case errors.As(err, &opErr) && opErr.Err != nil:
		return opErr.Err.Error()
	case errors.As(err, &myErr):
		return myErr.Error()
	}
	return obs.Redact(err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (d *Daemon) admin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !auth.AdminToken(r.Header.Get("Authorization"), d.Config.Security.AdminToken.Reveal()) {
			writeError(w, http.StatusUnauthorized, "unauthorized", "admin token required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (d *Daemon) servePlugins(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"plugins": d.Supervisor.Statuses()})
}

func (d *Daemon) serveJobs(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	jobs, err := intake.ListJobs(r.Context(), d.DB, r.URL.Query().Get("state"), limit)
	if err != nil {
		d.writeFailure(w, r, "", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs})
}

func (d *Daemon) serveRetryJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "not a job id")
		return
	}
	if err := intake.RetryJob(r.Context(), d.DB, id, time.Now()); err != nil {
		d.writeFailure(w, r, "", err)
		return
	}
	d.Logger.Info("dead job retried by the admin", "job", id)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "state": "pending"})
}

// serveRevokeLinks refuses every link of a panel user issued up to now, on
// every replica: at once on this one, within auth.DefaultRevocationRefresh
// on the others. An unknown user is 404 and changes nothing.
func (d *Daemon) serveRevokeLinks(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "not a user id")
		return
	}
	if _, err := d.Panel.User(r.Context(), id); err != nil {
		d.writeFailure(w, r, "", err)
		return
	}
	at, err := auth.RevokeUserLinks(r.Context(), d.DB.DB, id, time.Now())
	if err != nil {
		d.writeFailure(w, r, "", err)
		return
	}
	d.Revocations.Invalidate()
	d.Logger.Info("client links revoked by the admin", "user", id, "revoked_at", at)
	writeJSON(w, http.StatusOK, map[string]any{"user_id": id, "revoked_at": at.Format(time.RFC3339)})
}

// errUnauthenticated is a request without the credentials its route needs.
var errUnauthenticated = errors.New("not allowed")

// principal authenticates a request for a route's access level. A client
// link must verify (auth.VerifyLink, with security.link_ttl as the longest
// lifetime) and not be revoked; an error other than errUnauthenticated
// means revocations could not be read, and the link is not let through.
func (d *Daemon) principal(r *http.Request, access hostapi.Access) (hostapi.Principal, error) {
	switch access {
	case hostapi.AccessPublic:
		return hostapi.Principal{Kind: hostapi.Anonymous}, nil
	case hostapi.AccessAdmin:
		if auth.AdminToken(r.Header.Get("Authorization"), d.Config.Security.AdminToken.Reveal()) {
			return hostapi.Principal{Kind: hostapi.Admin}, nil
		}
	case hostapi.AccessClient, hostapi.AccessUser:
		l, err := auth.VerifyLink([]byte(d.Config.Security.LinkSecret.Reveal()), linkToken(r), time.Now(), d.Config.Security.LinkTTL)
		// A service's link opens client routes, a user's link user routes.
		if err != nil || (l.ServiceID != 0) != (access == hostapi.AccessClient) {
			return hostapi.Principal{}, errUnauthenticated
		}
		if err := d.Revocations.Check(r.Context(), l); err != nil {
			if errors.Is(err, auth.ErrBadLink) {
				return hostapi.Principal{}, errUnauthenticated
			}
			return hostapi.Principal{}, err
		}
		return hostapi.Principal{Kind: hostapi.Client, UserID: l.UserID, ServiceID: l.ServiceID}, nil
	}
	return hostapi.Principal{}, errUnauthenticated
}

// linkToken is the client link a request carries, in the X-Upsell-Link
// header or the link query parameter.
func linkToken(r *http.Request) string {
	if token := r.Header.Get("X-Upsell-Link"); token != "" {
		return token
	}
	return r.URL.Query().Get("link")
}

func matchRoute(routes []hostapi.Route, method, path string) (hostapi.Route, bool) {
	for _, rt := range routes {
		if rt.Method != method {
			continue
		}
		if rt.Path == path || (strings.HasSuffix(rt.Path, "/") && strings.HasPrefix(path, rt.Path)) {
			return rt, true
		}
	}
	return hostapi.Route{}, false
}

// serveModule authenticates a request and forwards it to the module that
// declared the route. Modules never see tokens or links, only the Principal.
func (d *Daemon) serveModule(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("module")
	info, ok := d.Supervisor.ModuleInfo(name)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such module")
		return
	}
	path := "/" + r.PathValue("path")
	route, ok := matchRoute(info.Routes, r.Method, path)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such route")
		return
	}
	// A browser's page: a link is exchanged for a session, a session
	// authenticates where no link is given.
	var sess *session
	var admin adminSession
	p, err := d.principal(r, route.Access)
	switch {
	case route.Access == hostapi.AccessAdmin:
		// The bearer token or the console's session.
		if admin, err = d.adminOf(r); err == nil {
			p = admin.principal
			if admin.cookie != "" {
				sess = &session{cookie: admin.cookie}
			}
		}
	case errors.Is(err, errUnauthenticated) && linkToken(r) == "" && route.Access != hostapi.AccessPublic:
		var s session
		if p, s, err = d.sessionFromCookie(r, route.Access); err == nil {
			sess = &s
		}
	}
	fail := func(status int, code, msg string) {
		if route.Page {
			d.pageFailure(w, r, status, msg)
			return
		}
		writeError(w, status, code, msg)
	}
	if errors.Is(err, errUnauthenticated) {
		if route.Page && route.Access == hostapi.AccessUser && d.signInRedirect(w, r, name, path) {
			return
		}
		if route.Page && route.Access == hostapi.AccessAdmin && r.Method == http.MethodGet {
			d.toSignIn(w)
			return
		}
		fail(http.StatusUnauthorized, "unauthorized", "not allowed")
		return
	}
	if err != nil {
		d.Logger.Error("client link not checked", "module", name, "path", path, "request_id", httpserver.RequestID(r.Context()), "error", err)
		fail(http.StatusServiceUnavailable, "unavailable", "cannot check the link now; try again")
		return
	}
	if route.Page && r.Method == http.MethodGet && sess == nil && linkToken(r) != "" && p.Kind == hostapi.Client {
		d.exchangeLink(w, r, p, path)
		return
	}
	m, err := d.Supervisor.Module(name)
	if err != nil {
		fail(http.StatusServiceUnavailable, "unavailable", "module is not running")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		fail(http.StatusRequestEntityTooLarge, "invalid", "request body too large")
		return
	}
	header := map[string][]string{"Content-Type": r.Header.Values("Content-Type"), "Idempotency-Key": r.Header.Values("Idempotency-Key")}
	if v := r.Header.Values(web.LiveHeader); len(v) > 0 {
		header[web.LiveHeader] = v
	}
	if sess != nil {
		if !isView(r.Method) && !d.checkCSRF(r, *sess, body) {
			d.Logger.Warn("form without its session's CSRF token refused", "module", name, "path", path, "request_id", httpserver.RequestID(r.Context()))
			fail(http.StatusForbidden, "csrf", csrfMessage)
			return
		}
		header[web.CSRFHeader] = []string{auth.CSRFToken(d.sessionKey, sess.cookie)}
	}
	q := r.URL.Query()
	q.Del("link")
	req := hostapi.HTTPRequest{
		Method: r.Method, Path: path, Query: q, Body: body, Principal: p,
		Header:    header,
		RequestID: httpserver.RequestID(r.Context()),
	}
	if p.Kind == hostapi.Client && p.ServiceID != 0 {
		// The link names a service: check it is the linked user's, and hand
		// it to the module with the panel settings and the route's
		// prefetched reads, saving it the calls back.
		// A page view holds its places while the host reads for it (the
		// module answers from what was read); a request that changes
		// something holds its one for the whole request, a connection at
		// a time by the pool rule.
		gate, places := d.changes, 1
		if isView(r.Method) {
			gate, places = d.views, 1+len(route.Prefetch)
		}
		release, err := gate.enter(r.Context(), places)
		if err != nil {
			d.writeModuleFailure(w, r, name, route, err)
			return
		}
		defer release()
		err = d.prepareClientRequest(r.Context(), name, route, &req)
		if err != nil {
			d.writeModuleFailure(w, r, name, route, err)
			return
		}
	}
	ctx := r.Context()
	if admin.actor != "" {
		// The audit entries the module writes for this request name the
		// admin (host.Actors), whatever the module says.
		var op hostapi.Operation
		ctx, op = hostapi.StartOperation(ctx, hostapi.RequestOperation)
		defer d.Actors.Set(op, admin.actor)()
	}
	resp, err := m.HandleHTTP(ctx, req)
	if err != nil {
		d.writeModuleFailure(w, r, name, route, err)
		return
	}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	if route.Page && resp.Status >= 200 && resp.Status <= 599 {
		var nav *webui.Console
		if route.Access == hostapi.AccessAdmin {
			nav = d.consoleNav(r, adminRequest{actor: admin.actor, csrf: admin.csrf})
		}
		d.writePage(w, route, resp, nav)
		return
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	if resp.Status < 200 || resp.Status > 599 {
		d.Logger.Error("module answered an invalid status", "module", name, "status", resp.Status)
		writeError(w, http.StatusBadGateway, "internal", "the module gave an invalid answer")
		return
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// prepareClientRequest attaches the linked service and runs the route's
// prefetch reads at the same time: the reads are bound to the link, which
// is already verified, and their rows are dropped unless the service turns
// out to be the linked user's.
func (d *Daemon) prepareClientRequest(ctx context.Context, module string, route hostapi.Route, req *hostapi.HTTPRequest) error {
	if len(route.Prefetch) == 0 {
		return d.attachService(ctx, req)
	}
	store, err := d.Supervisor.ModuleStore(module)
	if err != nil {
		return err
	}
	type result struct {
		name string
		rows *hostapi.Rows
		err  error
	}
	results := make(chan result, len(route.Prefetch))
	for _, f := range route.Prefetch {
		go func() {
			args, err := f.Bind(req.Principal)
			if err != nil {
				results <- result{name: f.Name, err: err}
				return
			}
			rows, err := store.Query(ctx, "", f.SQL, args...)
			results <- result{name: f.Name, rows: rows, err: err}
		}()
	}
	attachErr := d.attachService(ctx, req)
	prefetched := make(map[string]*hostapi.Rows, len(route.Prefetch))
	var prefetchErr error
	for range route.Prefetch {
		res := <-results
		if res.err != nil && prefetchErr == nil {
			prefetchErr = fmt.Errorf("prefetch %q: %w", res.name, res.err)
		}
		prefetched[res.name] = res.rows
	}
	if attachErr != nil {
		return attachErr
	}
	if prefetchErr != nil {
		return prefetchErr
	}
	req.Prefetched = prefetched
	return nil
}

// attachService loads the linked service and the panel settings into req,
// refusing a service that is not the linked user's.
func (d *Daemon) attachService(ctx context.Context, req *hostapi.HTTPRequest) error {
	svc, err := d.Panel.Service(ctx, req.Principal.ServiceID)
	if err != nil {
		return err
	}
	if svc.UserID != req.Principal.UserID {
		return hostapi.Errorf(hostapi.CodeNotFound, "no service %d", req.Principal.ServiceID)
	}
	settings, err := d.Panel.Settings(ctx)
	if err != nil {
		return err
	}
	req.Service, req.Settings = &svc, &settings
	return nil
}

// writeModuleFailure answers a failed module request: a page with an HTML
// page (the linked service is another user's, the module refused), any
// other route as writeFailure does.
func (d *Daemon) writeModuleFailure(w http.ResponseWriter, r *http.Request, module string, route hostapi.Route, err error) {
	if route.Page {
		status, msg := d.failure(r, module, err)
		d.pageFailure(w, r, status, msg)
		return
	}
	d.writeFailure(w, r, module, err)
}

// writeFailure answers a failed request with the status of err's code and
// the message clientMessage allows; what the client does not see is logged
// with the request id the answer names. module is "" for the daemon's own
// routes.
func (d *Daemon) writeFailure(w http.ResponseWriter, r *http.Request, module string, err error) {
	status, msg := d.failure(r, module, err)
	_, code := httpStatus(err)
	writeError(w, status, code, msg)
}

// failure is the status and message a failed request is answered with (by
// clientMessage's rule), logging what the client does not see.
func (d *Daemon) failure(r *http.Request, module string, err error) (int, string) {
	status, code := httpStatus(err)
	requestID := httpserver.RequestID(r.Context())
	msg, public := clientMessage(err, status)
	if !public {
		level := slog.LevelWarn
		if status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		d.Logger.Log(r.Context(), level, "request failed; the client sees a generic message", "module", module, "method", r.Method,
			"path", r.URL.Path, "request_id", requestID, "status", status, "code", code, "error", err)
		msg += "; request id " + requestID
	}
	return status, msg
}

// driverText matches the MySQL driver's error text ("Error 1264 (22003):
// Out of range value for column ..."), which a typed error may carry in its
// message from the host's Store or the panel binding.
var driverText = regexp.MustCompile(`Error [0-9]{4,5}( \([0-9A-Z]{5}\))?: `)

// clientMessage is what a client may read of err, and whether that is err's
// own message (public) or a generic one standing for it. The rule, in one
// place:
//
//   - a server error (5xx) is generic: SQL, panics and stack traces stay in
//     the log;
//   - a refused input (CodeInvalid) is shown only when it names its field:
//     that is a module's own validation ("monthly_prices.GBP: ..."). Without
//     a field it is a statement the database refused (a value out of its
//     column's range, data too long), which a module should have caught by
//     field; the client learns only that the request was invalid;
//   - any other message carrying the MySQL driver's error text (a
//     duplicate entry as CodeConflict, a foreign key as
//     CodePrecondition, an access denied as CodePermission) is generic
//     too, whatever its code;
//   - everything else (not found, conflict, precondition... in a module's
//     own words) is shown as is.
func clientMessage(err error, status int) (msg string, public bool) {
	switch code := hostapi.CodeOf(err); {
	case status == http.StatusServiceUnavailable:
		// A database or plugin out of reach: its address stays in the log.
		return "temporarily unavailable, try again", false
	case status >= http.StatusInternalServerError:
		return "internal error", false
	case driverText.MatchString(err.Error()):
		if code == hostapi.CodeInvalid {
			return "invalid request: a value was refused", false
		}
		return "the request could not be completed", false
	case code == hostapi.CodeInvalid && invalidField(err) == "":
		return "invalid request: a value was refused", false
	}
	return err.Error(), true
}

// invalidField is the field of err's outermost typed error.
func invalidField(err error) string {
	var e *hostapi.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// httpStatus maps a typed error to an HTTP status. An untyped error from
// the host's own queries is a 503 when the database is out of reach (and a
// 500 otherwise), as a typed one would be.
func httpStatus(err error) (int, string) {
	var e *hostapi.Error
	if !errors.As(err, &e) {
		if code, _ := sqlerr.Code(err); code == hostapi.CodeUnavailable {
			return http.StatusServiceUnavailable, string(code)
		}
		return http.StatusInternalServerError, string(hostapi.CodeInternal)
	}
	return e.Code.HTTPStatus(), string(e.Code)
}
