package webui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAccentNeedsAAContrast(t *testing.T) {
	for _, tc := range []struct {
		accent string
		ok     bool
	}{
		{"#1d4ed8", true},  // 6.7:1 with white
		{"#000000", true},  // 21:1
		{"#767676", true},  // 4.54:1, the lightest grey that passes
		{"#777777", false}, // 4.48:1
		{"#ffcc00", false}, // yellow: 1.6:1
	} {
		_, err := New(Theme{Accent: tc.accent}, "", "")
		if (err == nil) != tc.ok {
			t.Errorf("accent %s: err = %v, want ok=%v", tc.accent, err, tc.ok)
		}
	}
}

func TestWrapPutsTheModulesPageInTheLayout(t *testing.T) {
	p, err := New(Theme{Name: "Acme Hosting", LogoURL: "https://cdn.acme.example/logo.svg", Accent: "#1d4ed8"}, "/upsell", "")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.Wrap(rec, http.StatusUnprocessableEntity, "Add resources", []byte(`<h1>Add resources</h1>`), "https://panel.acme.example")
	body := rec.Body.String()
	for _, want := range []string{
		"<title>Add resources · Acme Hosting</title>",
		`href="/upsell/assets/upsell.css?v=`, `src="/upsell/assets/upsell.js?v=`, `href="/upsell/assets/theme.css?v=`,
		`<h1>Add resources</h1>`, `href="https://panel.acme.example"`, `<html lang="en">`, `href="#main"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("status %d, want the module's 422", rec.Code)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "img-src 'self' data: https://cdn.acme.example;", "form-action 'self' https://panel.acme.example;", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(body, "style=") || strings.Contains(body, "<script>") {
		t.Error("inline script or style in the layout")
	}
}

func TestAssets(t *testing.T) {
	p, err := New(Theme{Accent: "#0F766E"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, contentType, contains string
		status                      int
	}{
		{"/assets/upsell.css", "text/css", "--accent", 200},
		{"/assets/upsell.js", "javascript", "Upsell-Live", 200},
		{"/assets/theme.css", "text/css", "--accent: #0f766e;", 200},
		{"/assets/../webui.go", "", "", 404},
		{"/assets/layout.html", "", "", 404},
	} {
		rec := httptest.NewRecorder()
		p.Assets().ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Header().Get("Content-Type"), tc.contentType) || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s = %d %q, want %d %q containing %q", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.status, tc.contentType, tc.contains)
		}
	}
	// Every page stays well under 100 KB before images: the shared assets
	// are a small part of it.
	for _, name := range []string{"static/upsell.css", "static/upsell.js"} {
		b, _ := files.ReadFile(name)
		if len(b) > 16<<10 {
			t.Errorf("%s is %d bytes; keep the shared assets small", name, len(b))
		}
	}
}

func TestTemplateDirReplacesTheLayout(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "layout.html"), []byte(`<!doctype html><title>{{.Title}}</title><div class="mine">{{.Body}}</div>`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(Theme{}, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.Wrap(rec, 200, "Shop", []byte("<p>hi</p>"), "")
	if !strings.Contains(rec.Body.String(), `<div class="mine"><p>hi</p></div>`) {
		t.Errorf("the provider's layout was not used: %s", rec.Body)
	}
	if err := os.WriteFile(filepath.Join(dir, "layout.html"), []byte(`{{.Broken`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Theme{}, "", dir); err == nil || !strings.Contains(err.Error(), "layout.html") {
		t.Errorf("a broken layout.html: err = %v, want it named", err)
	}
}

func TestErrorPage(t *testing.T) {
	p, _ := New(Theme{}, "", "")
	rec := httptest.NewRecorder()
	p.Error(rec, http.StatusUnauthorized, ErrorPage{Heading: "This link has expired or is not valid", Message: "m", Action: "Open it again from your service page in the client area.", PanelURL: "https://panel.example", RequestID: "req-1"})
	body := rec.Body.String()
	if rec.Code != 401 || !strings.Contains(body, "<h1 id=\"error-title\">This link has expired or is not valid</h1>") || !strings.Contains(body, "Open it again from your service page") || !strings.Contains(body, "req-1") {
		t.Errorf("error page %d:\n%s", rec.Code, body)
	}
}
