package daemon

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/httpserver"
	"github.com/upsell-io/upsell/internal/webui"
)

// Browser sessions. A page route (hostapi.Route.Page) opened with a client
// link in its query is answered with a session cookie and a redirect to
// the same page without the link; the cookie then authenticates the
// module's client routes for that service (or, for a user link, its user
// routes), and every state-changing request it authenticates must carry the
// session's CSRF token.

// userCookie is the session of a user link (checkout); a service's
// session is serviceCookiePrefix + its id, so a client can keep two
// services' pages open side by side and a form always acts on the service
// its page showed.
const (
	userCookie          = "upsell_u"
	serviceCookiePrefix = "upsell_s"
	// serviceParam names the service in a page's address once its link is
	// exchanged (modules keep it in their links and forms).
	serviceParam = "service"
	// panelSignInPath is the bridge's route that sends a visitor through
	// the panel's login and back with a user link
	// (examples/bridges/paymenter).
	panelSignInPath = "/upsell/checkout"
)

func newPages(c configUI) (*webui.Pages, error) {
	publicPath := ""
	if u, err := url.Parse(c.publicURL); err == nil {
		publicPath = strings.TrimSuffix(u.Path, "/")
	}
	return webui.New(c.theme, publicPath, c.templateDir)
}

type configUI struct {
	theme                  webui.Theme
	publicURL, templateDir string
}

// session is how a request was authenticated by cookie.
type session struct {
	cookie string // the cookie's value, which its CSRF token is bound to
}

// sessionFromCookie authenticates a client or user route by the session
// cookie the request's address names.
func (d *Daemon) sessionFromCookie(r *http.Request, access hostapi.Access) (hostapi.Principal, session, error) {
	name := userCookie
	if access == hostapi.AccessClient {
		id, err := strconv.ParseUint(r.URL.Query().Get(serviceParam), 10, 64)
		if err != nil || id == 0 {
			return hostapi.Principal{}, session{}, errUnauthenticated
		}
		name = serviceCookiePrefix + strconv.FormatUint(id, 10)
	}
	c, err := r.Cookie(name)
	if err != nil {
		return hostapi.Principal{}, session{}, errUnauthenticated
	}
	s, err := auth.VerifySession(d.sessionKey, c.Value, time.Now(), d.Config.Security.LinkTTL)
	if err != nil || (s.ServiceID != 0) != (access == hostapi.AccessClient) || (access == hostapi.AccessClient && name != serviceCookiePrefix+strconv.FormatUint(s.ServiceID, 10)) {
		return hostapi.Principal{}, session{}, errUnauthenticated
	}
	if err := d.Revocations.Check(r.Context(), s); err != nil {
		if errors.Is(err, auth.ErrBadLink) {
			return hostapi.Principal{}, session{}, errUnauthenticated
		}
		return hostapi.Principal{}, session{}, err
	}
	return hostapi.Principal{Kind: hostapi.Client, UserID: s.UserID, ServiceID: s.ServiceID}, session{cookie: c.Value}, nil
}

// exchangeLink answers a page opened with a link: the session cookie, and
// a redirect to the same page without the link (so it is in no history,
// bookmark or Referer), naming the service for a service's page.
func (d *Daemon) exchangeLink(w http.ResponseWriter, r *http.Request, p hostapi.Principal, path string) {
	l := auth.Link{UserID: p.UserID, ServiceID: p.ServiceID}
	// The link verified; read its times again for the session.
	verified, _ := auth.VerifyLink([]byte(d.Config.Security.LinkSecret.Reveal()), linkToken(r), time.Now(), d.Config.Security.LinkTTL)
	l.Issued, l.Expires = verified.Issued, verified.Expires
	s := auth.NewSession(l, time.Now(), d.Config.Security.SessionTTL)
	name := userCookie
	q := r.URL.Query()
	q.Del("link")
	if s.ServiceID != 0 {
		name = serviceCookiePrefix + strconv.FormatUint(s.ServiceID, 10)
		q.Set(serviceParam, strconv.FormatUint(s.ServiceID, 10))
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: auth.SignSession(d.sessionKey, s), Path: d.cookiePath(),
		Expires: s.Expires, MaxAge: int(time.Until(s.Expires).Seconds()),
		HttpOnly: true, Secure: d.secureCookies(r), SameSite: http.SameSiteLaxMode,
	})
	// A relative address: right behind any proxy prefix.
	target := path[strings.LastIndex(path, "/")+1:]
	if target == "" {
		target = "./"
	}
	if enc := q.Encode(); enc != "" {
		target += "?" + enc
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// cookiePath scopes the session cookies to the module routes under
// http.public_url's path.
func (d *Daemon) cookiePath() string {
	if u, err := url.Parse(d.Config.HTTP.PublicURL); err == nil && u.Path != "" {
		return strings.TrimSuffix(u.Path, "/") + "/m/"
	}
	return "/m/"
}

func (d *Daemon) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(d.Config.HTTP.PublicURL, "https://")
}

// checkCSRF reports whether a state-changing request a session
// authenticated carries that session's token, in the X-CSRF-Token header
// (the page's script) or the csrf form field.
func (d *Daemon) checkCSRF(r *http.Request, s session, body []byte) bool {
	token := r.Header.Get(web.CSRFRequestHeader)
	if token == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			token = form.Get(web.CSRFField)
		}
	}
	return auth.CheckCSRF(d.sessionKey, s.cookie, token)
}

// signInRedirect sends a visitor without a session from a user page (the
// checkout) through the panel's login and back to the same page, its
// selection kept in the address. ok is false when no panel is configured.
func (d *Daemon) signInRedirect(w http.ResponseWriter, r *http.Request, module, path string) bool {
	base := strings.TrimSuffix(d.Config.Panel.BaseURL, "/")
	if base == "" || r.Method != http.MethodGet {
		return false
	}
	next := "/m/" + module + path
	if q := r.URL.Query(); len(q) > 0 {
		q.Del("link")
		if enc := q.Encode(); enc != "" {
			next += "?" + enc
		}
	}
	w.Header().Set("Location", base+panelSignInPath+"?next="+url.QueryEscape(next))
	w.WriteHeader(http.StatusSeeOther)
	return true
}

// pageFailure answers a failed page with an HTML page saying what to do.
func (d *Daemon) pageFailure(w http.ResponseWriter, r *http.Request, status int, msg string) {
	e := webui.ErrorPage{Message: msg, PanelURL: d.Config.Panel.BaseURL, RequestID: httpserver.RequestID(r.Context())}
	switch {
	case status == http.StatusUnauthorized:
		e.Heading = "This link has expired or is not valid"
		e.Message = "Links to this page work for a limited time and only for the account they were made for."
		e.Action = "Open it again from your service page in the client area."
	case status == http.StatusForbidden && msg == csrfMessage:
		e.Heading = "This form has expired"
		e.Message = "Nothing was changed."
		e.Action = "Reload the page and try again."
	case status == http.StatusNotFound:
		e.Heading = "Not found"
	case status == http.StatusServiceUnavailable:
		e.Heading = "Temporarily unavailable"
		e.Message = "This page cannot be shown right now. Nothing was changed; please try again in a minute."
	case status >= 500:
		e.Heading = "Something went wrong"
		e.Message = "Nothing was changed. If it happens again, contact support with the reference below."
	default:
		e.Heading = "That did not work"
	}
	d.Pages.Error(w, status, e)
}

// csrfMessage is the answer to a form without its session's token.
const csrfMessage = "this form has expired; reload the page and try again"

// writePage answers a page route with a module's reply: a page marked for
// the layout is wrapped in it, anything else (a fragment, a redirect) goes
// out as the module wrote it.
func (d *Daemon) writePage(w http.ResponseWriter, route hostapi.Route, resp hostapi.HTTPResponse, console *webui.Console) {
	layout := ""
	title := ""
	for k, vs := range resp.Header {
		switch http.CanonicalHeaderKey(k) {
		case web.LayoutHeader:
			layout = strings.Join(vs, "")
			continue
		case web.TitleHeader:
			title = strings.Join(vs, "")
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if route.Access == hostapi.AccessPublic && d.Config.HTTP.FrameAncestors != "" {
		httpserver.AllowFraming(w, d.Config.HTTP.FrameAncestors)
	}
	if layout == "page" {
		d.Pages.WrapConsole(w, resp.Status, title, resp.Body, d.Config.Panel.BaseURL, console)
		return
	}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		w.Header().Set("Content-Security-Policy", d.Pages.CSP(d.Config.Panel.BaseURL))
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}
