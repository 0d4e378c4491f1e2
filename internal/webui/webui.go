// Package webui is the host's side of the client pages: the layout every
// module's page is wrapped in (themed by the provider's name, logo and
// accent colour, or replaced by a layout.html of their own), the shared
// stylesheet and script, the pages' Content-Security-Policy, and the HTML
// error page. Modules render only their <main> content (hostapi/web).
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

//go:embed templates/*.html static/*
var files embed.FS

// Theme is the provider's look (config ui.*).
type Theme struct {
	Name    string
	LogoURL string
	// Accent is #rrggbb.
	Accent string
}

// Pages renders the layout and error pages and serves the assets.
type Pages struct {
	layout, errorPage *template.Template
	theme             Theme
	// assets is the URL path the assets are served under, as the browser
	// sees it (behind a proxy that strips http.public_url's path).
	assets   string
	version  string
	themeCSS []byte
	themeVer string
}

// New prepares the pages. publicPath is the path of http.public_url ("" or
// "/upsell"); templateDir, when set, may hold a layout.html replacing the
// built-in one (it receives the same fields: see LayoutData).
func New(theme Theme, publicPath, templateDir string) (*Pages, error) {
	if theme.Accent == "" {
		theme.Accent = "#1d4ed8"
	}
	if r := contrastWithWhite(theme.Accent); r < 4.5 {
		return nil, fmt.Errorf("ui.accent %s has a contrast of %.2f:1 with white button text; WCAG AA needs 4.5:1, choose a darker colour", theme.Accent, r)
	}
	layout, err := template.ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("built-in layout: %w", err)
	}
	if templateDir != "" {
		path := filepath.Join(templateDir, "layout.html")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			if layout, err = template.New("layout.html").Parse(string(b)); err != nil {
				return nil, fmt.Errorf("ui.template_dir: %s: %w", path, err)
			}
		case !os.IsNotExist(err):
			return nil, fmt.Errorf("ui.template_dir: %w", err)
		}
	}
	errorPage, err := template.ParseFS(files, "templates/error.html")
	if err != nil {
		return nil, fmt.Errorf("built-in error page: %w", err)
	}
	h := sha256.New()
	for _, name := range []string{"static/upsell.css", "static/upsell.js"} {
		b, _ := files.ReadFile(name)
		h.Write(b)
	}
	css := []byte(":root { --accent: " + strings.ToLower(theme.Accent) + "; }\n")
	themeSum := sha256.Sum256(css)
	return &Pages{
		layout: layout, errorPage: errorPage, theme: theme,
		assets:  strings.TrimSuffix(publicPath, "/") + AssetsPath,
		version: hex.EncodeToString(h.Sum(nil))[:12], themeCSS: css, themeVer: hex.EncodeToString(themeSum[:])[:12],
	}, nil
}

// AssetsPath is where the host serves the stylesheet and the script.
const AssetsPath = "/assets"

// LayoutData is what the layout template receives.
type LayoutData struct {
	Title        string
	Theme        Theme
	Assets       string
	Version      string
	ThemeVersion string
	// PanelURL is the client area's address (the panel's base URL).
	PanelURL string
	// Body is the module's page content, already escaped by its template.
	Body template.HTML
	// Console is set on the provider's console pages: its navigation and
	// the sign-out form.
	Console *Console
}

// Console is the console's navigation on an admin page.
type Console struct {
	Items []NavItem
	// Home is the console overview's address; SignOut the sign-out form's.
	Home, SignOut string
	// CSRF is the admin session's token for the sign-out form ("" when
	// the bearer token made the request: no form then).
	CSRF string
	// Actor says who is signed in ("admin 7", "the admin token").
	Actor string
}

// NavItem is one entry of the console's navigation.
type NavItem struct {
	Label, URL string
	Current    bool
}

// Wrap answers with body (a module's rendered page content) inside the
// layout, with status and the pages' CSP.
func (p *Pages) Wrap(w http.ResponseWriter, status int, title string, body []byte, panelURL string) {
	p.WrapConsole(w, status, title, body, panelURL, nil)
}

// WrapConsole is Wrap for a console page, with the console's navigation.
func (p *Pages) WrapConsole(w http.ResponseWriter, status int, title string, body []byte, panelURL string, console *Console) {
	var buf bytes.Buffer
	err := p.layout.ExecuteTemplate(&buf, "layout.html", LayoutData{
		Title: title, Theme: p.theme, Assets: p.assets, Version: p.version, ThemeVersion: p.themeVer,
		PanelURL: panelURL, Console: console,
		// The module's own html/template escaped it.
		Body: template.HTML(body), //nolint:gosec // rendered by the module's html/template
	})
	if err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", p.CSP(panelURL))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// ErrorPage is what a failed page says.
type ErrorPage struct {
	Heading, Message, Action string
	PanelURL, RequestID      string
}

// Error answers with an error page inside the layout.
func (p *Pages) Error(w http.ResponseWriter, status int, e ErrorPage) {
	var buf bytes.Buffer
	if err := p.errorPage.ExecuteTemplate(&buf, "error.html", e); err != nil {
		http.Error(w, e.Message, status)
		return
	}
	p.Wrap(w, status, e.Heading, buf.Bytes(), e.PanelURL)
}

// Base is the URL path the host's own pages are under (http.public_url's
// path, "" at the root).
func (p *Pages) Base() string { return strings.TrimSuffix(p.assets, AssetsPath) }

// CSP is the pages' Content-Security-Policy: scripts and styles from the
// host only (no inline code), images from the host or the provider's logo,
// forms posted to the host and redirected to the panel (a purchase ends on
// the panel's invoice), nothing else. frame-ancestors is set apart, by the
// security headers.
func (p *Pages) CSP(panelURL string) string {
	img := "'self' data:"
	if o := origin(p.theme.LogoURL); o != "" {
		img += " " + o
	}
	form := "'self'"
	if o := origin(panelURL); o != "" {
		form += " " + o
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; form-action " + form + "; base-uri 'none'"
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Assets serves upsell.css, upsell.js and theme.css under AssetsPath.
func (p *Pages) Assets() http.Handler {
	static, _ := fs.Sub(files, "static")
	fileServer := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, AssetsPath+"/")
		switch name {
		case "theme.css":
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
			_, _ = w.Write(p.themeCSS)
		case "upsell.css", "upsell.js":
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + name
			fileServer.ServeHTTP(w, r2)
		default:
			http.NotFound(w, r)
		}
	})
}

// contrastWithWhite is the WCAG contrast ratio of #rrggbb against white.
func contrastWithWhite(hexColour string) float64 {
	if len(hexColour) != 7 || hexColour[0] != '#' {
		return 0
	}
	var lum float64
	for i, weight := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hexColour[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return 0
		}
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		lum += weight * c
	}
	return 1.05 / (lum + 0.05)
}
