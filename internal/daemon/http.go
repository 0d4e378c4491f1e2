package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/httpserver"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/obs"
	"github.com/upsell-io/upsell/internal/sqlerr"
	"github.com/upsell-io/upsell/internal/supervisor"
)

// maxBodyBytes bounds request bodies forwarded to modules.
const maxBodyBytes = 1 << 20

// Mount adds the daemon's routes to srv: module routes under /m/{module}/
// and the admin plugin status.
func (d *Daemon) Mount(srv *httpserver.Server) {
	srv.Handle("/m/{module}/{path...}", http.HandlerFunc(d.serveModule))
	srv.Handle("GET /api/v1/admin/plugins", d.admin(http.HandlerFunc(d.servePlugins)))
	srv.Handle("GET /api/v1/admin/jobs", d.admin(http.HandlerFunc(d.serveJobs)))
	srv.Handle("POST /api/v1/admin/jobs/{id}/retry", d.admin(http.HandlerFunc(d.serveRetryJob)))
	srv.Handle("POST /webhooks/"+panelName, d.webhookHandler())
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
		d.writeFailure(w, r, "list jobs", err)
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
		d.writeFailure(w, r, "retry job", err)
		return
	}
	d.Logger.Info("dead job retried by the admin", "job", id)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "state": "pending"})
}

// principal authenticates a request for a route's access level.
func (d *Daemon) principal(r *http.Request, access hostapi.Access) (hostapi.Principal, bool) {
	switch access {
	case hostapi.AccessPublic:
		return hostapi.Principal{Kind: hostapi.Anonymous}, true
	case hostapi.AccessAdmin:
		if auth.AdminToken(r.Header.Get("Authorization"), d.Config.Security.AdminToken.Reveal()) {
			return hostapi.Principal{Kind: hostapi.Admin}, true
		}
	case hostapi.AccessClient:
		l, err := auth.VerifyLink([]byte(d.Config.Security.LinkSecret.Reveal()), linkToken(r), time.Now())
		if err == nil && l.ServiceID != 0 {
			return hostapi.Principal{Kind: hostapi.Client, UserID: l.UserID, ServiceID: l.ServiceID}, true
		}
	case hostapi.AccessUser:
		l, err := auth.VerifyLink([]byte(d.Config.Security.LinkSecret.Reveal()), linkToken(r), time.Now())
		if err == nil && l.ServiceID == 0 {
			return hostapi.Principal{Kind: hostapi.Client, UserID: l.UserID}, true
		}
	}
	return hostapi.Principal{}, false
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
	p, ok := d.principal(r, route.Access)
	if !ok {
		writeError(w, http.StatusUnauthorized, "unauthorized", "not allowed")
		return
	}
	m, err := d.Supervisor.Module(name)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "module is not running")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid", "request body too large")
		return
	}
	q := r.URL.Query()
	q.Del("link")
	req := hostapi.HTTPRequest{
		Method: r.Method, Path: path, Query: q, Body: body, Principal: p,
		Header:    map[string][]string{"Content-Type": r.Header.Values("Content-Type"), "Idempotency-Key": r.Header.Values("Idempotency-Key")},
		RequestID: httpserver.RequestID(r.Context()),
	}
	if p.Kind == hostapi.Client && p.ServiceID != 0 {
		// The link names a service: check it is the linked user's, and hand
		// it to the module with the panel settings and the route's
		// prefetched reads, saving it the calls back.
		if err := d.prepareClientRequest(r.Context(), name, route, &req); err != nil {
			d.writeFailure(w, r, "module request "+name+" "+path, err)
			return
		}
	}
	resp, err := m.HandleHTTP(r.Context(), req)
	if err != nil {
		d.writeFailure(w, r, "module request "+name+" "+path, err)
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

// writeFailure answers a failed request with the status its error calls
// for. The client reads the message of an error it can act on (not found,
// invalid, conflict); the details of an internal failure or of something
// unavailable (SQL, a database's address, a panic) go to the log under the
// request id, and the client gets the id.
func (d *Daemon) writeFailure(w http.ResponseWriter, r *http.Request, what string, err error) {
	status, code := httpStatus(err)
	msg := err.Error()
	id := httpserver.RequestID(r.Context())
	switch status {
	case http.StatusInternalServerError:
		d.Logger.Error("request failed", "what", what, "request_id", id, "error", err)
		msg = "internal error; request id " + id
	case http.StatusServiceUnavailable:
		d.Logger.Warn("request refused: unavailable", "what", what, "request_id", id, "error", err)
		msg = "temporarily unavailable, try again; request id " + id
	}
	writeError(w, status, code, msg)
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
	switch e.Code {
	case hostapi.CodeNotFound:
		return http.StatusNotFound, string(e.Code)
	case hostapi.CodeConflict:
		return http.StatusConflict, string(e.Code)
	case hostapi.CodeInvalid:
		return http.StatusUnprocessableEntity, string(e.Code)
	case hostapi.CodePermission:
		return http.StatusForbidden, string(e.Code)
	case hostapi.CodePrecondition, hostapi.CodeCapacity:
		return http.StatusConflict, string(e.Code)
	case hostapi.CodeUnavailable:
		return http.StatusServiceUnavailable, string(e.Code)
	}
	return http.StatusInternalServerError, string(e.Code)
}
