package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/host"
	"github.com/upsell-io/upsell/internal/httpserver"
	"github.com/upsell-io/upsell/internal/intake"
	"github.com/upsell-io/upsell/internal/supervisor"
	"github.com/upsell-io/upsell/internal/webui"
)

// The provider's console. The host serves its frame (sign-in and out, the
// overview with the plugins' health, the jobs) under /console/ and wraps
// every module's admin page (Route.Page with AccessAdmin) in the console's
// navigation, built from the modules' Route.Nav labels. An admin signs in
// from the panel (the bridge signs an admin link, exchanged here for the
// session cookie) or with the admin token; every write an admin session
// makes carries the session's CSRF token, and the audit entries written
// while serving it name the admin (host.Actors).

// adminCookie is the admin session.
const adminCookie = "upsell_a"

//go:embed templates/*.html
var consoleFS embed.FS

var consoleTemplates = template.Must(template.New("console").Funcs(template.FuncMap{
	"deref": func(s *string) string { return *s },
}).ParseFS(consoleFS, "templates/*.html"))

// mountConsole adds the console's own routes.
func (d *Daemon) mountConsole(srv *httpserver.Server) {
	srv.Handle("GET /console/{$}", http.HandlerFunc(d.serveConsoleHome))
	srv.Handle("GET /console/sign-in", http.HandlerFunc(d.serveSignInForm))
	srv.Handle("POST /console/sign-in", http.HandlerFunc(d.serveSignIn))
	srv.Handle("POST /console/sign-out", d.console(d.serveSignOut))
	srv.Handle("GET /console/jobs", d.console(d.serveConsoleJobs))
	srv.Handle("POST /console/jobs/{id}/retry", d.console(d.serveConsoleRetry))
}

// consoleHandler serves a console page for an authenticated admin.
type consoleHandler func(w http.ResponseWriter, r *http.Request, a adminRequest)

// adminRequest is who is asking, and the session's CSRF token ("" for the
// bearer token).
type adminRequest struct {
	actor string
	csrf  string
}

// console authenticates a console page: the admin session (with its CSRF
// token on a write) or the bearer token; a browser without either is sent
// to the sign-in form.
func (d *Daemon) console(h consoleHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := d.adminOf(r)
		switch {
		case errors.Is(err, errUnauthenticated):
			if r.Method == http.MethodGet {
				d.toSignIn(w)
				return
			}
			d.pageFailure(w, r, http.StatusUnauthorized, "sign in again")
			return
		case err != nil:
			d.Logger.Error("admin session not checked", "request_id", httpserver.RequestID(r.Context()), "error", err)
			d.pageFailure(w, r, http.StatusServiceUnavailable, "")
			return
		}
		if a.csrf != "" && !isView(r.Method) {
			body, err := readForm(w, r)
			if err != nil || !auth.CheckCSRF(d.sessionKey, a.cookie, firstNonEmpty(r.Header.Get(web.CSRFRequestHeader), body.Get(web.CSRFField))) {
				d.pageFailure(w, r, http.StatusForbidden, csrfMessage)
				return
			}
		}
		h(w, r, adminRequest{actor: a.actor, csrf: a.csrf})
	})
}

// adminSession is an authenticated admin.
type adminSession struct {
	principal hostapi.Principal
	actor     string
	cookie    string // "" for the bearer token
	csrf      string
	expires   time.Time
}

// adminOf authenticates an admin by bearer token or session cookie.
func (d *Daemon) adminOf(r *http.Request) (adminSession, error) {
	if auth.AdminToken(r.Header.Get("Authorization"), d.Config.Security.AdminToken.Reveal()) {
		return adminSession{principal: hostapi.Principal{Kind: hostapi.Admin}, actor: "admin:token"}, nil
	}
	c, err := r.Cookie(adminCookie)
	if err != nil {
		return adminSession{}, errUnauthenticated
	}
	s, err := auth.VerifyAdminSession(d.sessionKey, c.Value, time.Now(), d.Config.Security.AdminSessionTTL)
	if err != nil {
		return adminSession{}, errUnauthenticated
	}
	var one int
	err = d.DB.QueryRowContext(r.Context(), "SELECT 1 FROM upsell_admin_signouts WHERE session_hash = ?", sessionHash(c.Value)).Scan(&one)
	switch {
	case err == nil:
		return adminSession{}, errUnauthenticated
	case !errors.Is(err, sql.ErrNoRows):
		return adminSession{}, fmt.Errorf("read signed-out sessions: %w", err)
	}
	return adminSession{
		principal: hostapi.Principal{Kind: hostapi.Admin, UserID: s.AdminID}, actor: s.Actor(),
		cookie: c.Value, csrf: auth.CSRFToken(d.sessionKey, c.Value), expires: s.Expires,
	}, nil
}

func sessionHash(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// startAdminSession answers with the admin session cookie for adminID (0:
// the admin token) and a redirect to the console's overview.
func (d *Daemon) startAdminSession(w http.ResponseWriter, r *http.Request, adminID uint64, how string) {
	s := auth.NewAdminLink(adminID, time.Now(), d.Config.Security.AdminSessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name: adminCookie, Value: auth.SignAdminSession(d.sessionKey, s), Path: d.Pages.Base() + "/",
		Expires: s.Expires, MaxAge: int(d.Config.Security.AdminSessionTTL.Seconds()),
		HttpOnly: true, Secure: d.secureCookies(r), SameSite: http.SameSiteLaxMode,
	})
	d.Logger.Info("admin signed in to the console", "actor", s.Actor(), "how", how)
	_, _ = host.WriteAudit(r.Context(), d.DB, nil, "host", s.Actor(), hostapi.AuditEntry{Action: "console.sign_in", Message: "signed in " + how}, time.Now())
	w.Header().Set("Location", d.Pages.Base()+"/console/")
	w.WriteHeader(http.StatusSeeOther)
}

func (d *Daemon) toSignIn(w http.ResponseWriter) {
	w.Header().Set("Location", d.Pages.Base()+"/console/sign-in")
	w.WriteHeader(http.StatusSeeOther)
}

// serveConsoleHome is the overview; opened with an admin link from the
// panel, it first exchanges the link for the session.
func (d *Daemon) serveConsoleHome(w http.ResponseWriter, r *http.Request) {
	if token := r.URL.Query().Get("link"); token != "" {
		l, err := auth.VerifyAdminLink(auth.AdminLinkKey([]byte(d.Config.Security.LinkSecret.Reveal())), token, time.Now())
		if err != nil {
			e := webui.ErrorPage{
				Heading: "This sign-in link has expired or is not valid",
				Message: "Console links from the panel work for a few minutes.",
				Action:  "Open the console again from the panel's admin area, or sign in with the admin token.",
			}
			d.Pages.Error(w, http.StatusUnauthorized, e)
			return
		}
		d.startAdminSession(w, r, l.AdminID, "from the panel")
		return
	}
	d.console(d.serveOverview).ServeHTTP(w, r)
}

func (d *Daemon) serveSignInForm(w http.ResponseWriter, r *http.Request) {
	d.renderConsole(w, r, http.StatusOK, "Sign in", "signin.html", map[string]any{"Base": d.Pages.Base()}, nil)
}

// serveSignIn checks the admin token from the sign-in form.
func (d *Daemon) serveSignIn(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil || !auth.AdminToken("Bearer "+form.Get("token"), d.Config.Security.AdminToken.Reveal()) {
		d.Logger.Warn("console sign-in with a wrong admin token", "request_id", httpserver.RequestID(r.Context()))
		d.renderConsole(w, r, http.StatusUnauthorized, "Sign in", "signin.html", map[string]any{"Base": d.Pages.Base(), "Error": "That is not the admin token."}, nil)
		return
	}
	d.startAdminSession(w, r, 0, "with the admin token")
}

// serveSignOut ends the session on every replica: the cookie is cleared
// and its value refused until it would have expired.
func (d *Daemon) serveSignOut(w http.ResponseWriter, r *http.Request, a adminRequest) {
	c, err := r.Cookie(adminCookie)
	if err == nil {
		if s, err := auth.VerifyAdminSession(d.sessionKey, c.Value, time.Now(), d.Config.Security.AdminSessionTTL); err == nil {
			ctx := r.Context()
			if _, err := d.DB.ExecContext(ctx, "DELETE FROM upsell_admin_signouts WHERE expires_at < ?", time.Now().UTC()); err != nil {
				d.Logger.Warn("prune signed-out sessions", "error", err)
			}
			if _, err := d.DB.ExecContext(ctx, "INSERT IGNORE INTO upsell_admin_signouts (session_hash, expires_at) VALUES (?, ?)", sessionHash(c.Value), s.Expires.UTC()); err != nil {
				d.writeFailure(w, r, "", err)
				return
			}
			_, _ = host.WriteAudit(ctx, d.DB, nil, "host", a.actor, hostapi.AuditEntry{Action: "console.sign_out", Message: "signed out"}, time.Now())
		}
	}
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: "", Path: d.Pages.Base() + "/", MaxAge: -1, HttpOnly: true, Secure: d.secureCookies(r), SameSite: http.SameSiteLaxMode})
	d.toSignIn(w)
}

type stat struct{ Label, Value, Detail string }

type jobCount struct {
	State string
	Count int
}

func (d *Daemon) jobCounts(ctx context.Context) ([]jobCount, error) {
	rows, err := d.DB.QueryContext(ctx, "SELECT state, COUNT(*) FROM upsell_jobs GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	byState := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		byState[s] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	var out []jobCount
	for _, s := range []string{"pending", "running", "dead", "done"} {
		out = append(out, jobCount{State: s, Count: byState[s]})
	}
	return out, nil
}

func (d *Daemon) serveOverview(w http.ResponseWriter, r *http.Request, a adminRequest) {
	counts, err := d.jobCounts(r.Context())
	if err != nil {
		d.consoleFailure(w, r, err)
		return
	}
	h, err := d.readHealth(r.Context(), time.Now())
	if err != nil {
		d.consoleFailure(w, r, err)
		return
	}
	plugins := d.Supervisor.Statuses()
	sort.Slice(plugins, func(i, j int) bool { return plugins[i].Name < plugins[j].Name })
	running := 0
	for _, p := range plugins {
		if p.State == supervisor.Running {
			running++
		}
	}
	byState := map[string]int{}
	for _, c := range counts {
		byState[c.State] = c.Count
	}
	var charts []barChart
	for _, s := range h.Revenue {
		charts = append(charts, revenueChart(s))
	}
	d.renderConsole(w, r, http.StatusOK, "Overview", "overview.html", map[string]any{
		"Stats": overviewStats(h, byState, running, len(plugins)), "RevenueCharts": charts, "OrdersChart": ordersChart(h.OrdersPerDay),
		"Zone": h.Location.String(), "Plugins": plugins, "JobCounts": counts, "Notice": r.URL.Query().Get("notice"),
	}, &a)
}

// overviewStats are the numbers that matter, in the cards atop the
// overview. The panel API budget (the Pterodactyl adapter's rate limiter)
// lives in the adapter's process, which reports it to no one; the host has
// no figure to show for it.
func overviewStats(h health, jobs map[string]int, running, plugins int) []stat {
	today := stat{Label: "Orders today", Value: strconv.Itoa(h.totalOrdersToday())}
	var parts []string
	for _, m := range h.OrdersToday {
		parts = append(parts, m.Module+" "+strconv.Itoa(m.Count))
	}
	today.Detail = strings.Join(parts, " · ")
	stats := []stat{today}
	for _, s := range h.Revenue {
		this := s.Months[len(s.Months)-1]
		stats = append(stats, stat{Label: "Add-on revenue in " + this.Month.Format("January"), Value: web.Money(this.Amount, s.Currency)})
	}
	stats = append(stats,
		stat{Label: "Applies pending", Value: strconv.Itoa(jobs["pending"] + jobs["running"]), Detail: strconv.Itoa(jobs["running"]) + " running now"},
		stat{Label: "Dead jobs", Value: strconv.Itoa(jobs["dead"]), Detail: "Retry them on the Jobs page once the cause is fixed."},
		stat{Label: "Plugins running", Value: fmt.Sprintf("%d of %d", running, plugins)},
	)
	return stats
}

func (d *Daemon) serveConsoleJobs(w http.ResponseWriter, r *http.Request, a adminRequest) {
	d.renderJobs(w, r, a, http.StatusOK, "", "")
}

func (d *Daemon) renderJobs(w http.ResponseWriter, r *http.Request, a adminRequest, status int, notice, noticeClass string) {
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "dead"
	}
	jobs, err := intake.ListJobs(r.Context(), d.DB, state, 100)
	if err != nil {
		d.consoleFailure(w, r, err)
		return
	}
	counts, err := d.jobCounts(r.Context())
	if err != nil {
		d.consoleFailure(w, r, err)
		return
	}
	type tab struct {
		State, Label string
		Count        int
		Current      bool
	}
	var tabs []tab
	for _, c := range counts {
		tabs = append(tabs, tab{State: c.State, Label: strings.ToUpper(c.State[:1]) + c.State[1:], Count: c.Count, Current: c.State == state})
	}
	d.renderConsole(w, r, status, "Jobs", "jobs.html", map[string]any{"Jobs": jobs, "State": state, "Tabs": tabs, "CSRF": a.csrf, "Notice": notice, "NoticeClass": noticeClass}, &a)
}

func (d *Daemon) serveConsoleRetry(w http.ResponseWriter, r *http.Request, a adminRequest) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		d.pageFailure(w, r, http.StatusNotFound, "no such job")
		return
	}
	if err := intake.RetryJob(r.Context(), d.DB, id, time.Now()); err != nil {
		status, msg := d.failure(r, "", err)
		d.renderJobs(w, r, a, status, "Job "+strconv.FormatUint(id, 10)+" was not retried: "+msg, "bad")
		return
	}
	_, _ = host.WriteAudit(r.Context(), d.DB, nil, "host", a.actor, hostapi.AuditEntry{Action: "job.retried", Subject: "job:" + strconv.FormatUint(id, 10), Message: "dead job retried from the console"}, time.Now())
	w.Header().Set("Location", "../../jobs?state=pending")
	w.WriteHeader(http.StatusSeeOther)
}

func (d *Daemon) consoleFailure(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := d.failure(r, "", err)
	d.pageFailure(w, r, status, msg)
}

// renderConsole renders one of the host's console pages in the layout;
// a is nil on the sign-in form (no navigation).
func (d *Daemon) renderConsole(w http.ResponseWriter, r *http.Request, status int, title, name string, data any, a *adminRequest) {
	var buf bytes.Buffer
	if err := consoleTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		d.consoleFailure(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	var nav *webui.Console
	if a != nil {
		nav = d.consoleNav(r, *a)
	}
	d.Pages.WrapConsole(w, status, title, buf.Bytes(), "", nav)
}

// consoleNav is the console's navigation for the page r: the host's pages,
// then each module's admin pages that name a Nav label.
func (d *Daemon) consoleNav(r *http.Request, a adminRequest) *webui.Console {
	base := d.Pages.Base()
	items := []webui.NavItem{{Label: "Overview", URL: base + "/console/"}, {Label: "Jobs", URL: base + "/console/jobs"}}
	var names []string
	for _, st := range d.Supervisor.Statuses() {
		if st.Kind == hostapi.KindModule {
			names = append(names, st.Name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		info, ok := d.Supervisor.ModuleInfo(name)
		if !ok {
			continue
		}
		for _, rt := range info.Routes {
			if rt.Nav != "" && rt.Method == http.MethodGet && rt.Access == hostapi.AccessAdmin && rt.Page {
				items = append(items, webui.NavItem{Label: rt.Nav, URL: base + "/m/" + name + rt.Path})
			}
		}
	}
	// The entry whose address is the page's, or the longest that is a
	// folder of it (a package's edit page is under "Add-on packages").
	path, best := r.URL.Path, -1
	for i := range items {
		u := strings.TrimPrefix(items[i].URL, base)
		if u == path || (i > 0 && strings.HasPrefix(path, u+"/")) {
			if best < 0 || len(u) > len(strings.TrimPrefix(items[best].URL, base)) {
				best = i
			}
		}
	}
	if best >= 0 {
		items[best].Current = true
	}
	who := "Signed in with the admin token"
	if id, ok := strings.CutPrefix(a.actor, "admin:"); ok && id != "token" {
		who = "Signed in as panel admin " + id
	}
	return &webui.Console{Items: items, Home: base + "/console/", SignOut: base + "/console/sign-out", CSRF: a.csrf, Actor: who}
}

// readForm reads a urlencoded form body (bounded) into r.PostForm.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
