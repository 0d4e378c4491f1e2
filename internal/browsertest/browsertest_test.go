package browsertest

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// strictCSP is the policy upsell's pages will be served with.
const strictCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'"

// site serves the test pages and their assets on loopback, every reply
// under strictCSP. Pages are written as body fragments.
func site(t testing.TB, files map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", strictCSP)
		switch {
		case strings.HasSuffix(r.URL.Path, ".js"):
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		case strings.HasSuffix(r.URL.Path, ".css"):
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			body = `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
				`<meta name="viewport" content="width=device-width, initial-scale=1">` +
				`<title>Test page</title><link rel="stylesheet" href="/site.css"></head>` +
				`<body><main>` + body + `</main></body></html>`
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	if _, ok := files["/site.css"]; !ok {
		files["/site.css"] = "body { font-family: sans-serif; color: #111; background: #fff; }"
	}
	return srv.URL
}

// recorder is a testing.TB that records failures and skips instead of
// acting on them, to test the helpers' own verdicts. Fatalf and Skipf end
// the calling goroutine, as the real ones do; run it in record.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	errs    []string
	fatal   bool
	skipped bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.mu.Lock()
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = true
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

// record runs fn against a recorder wrapping t and returns the recorder.
func record(t *testing.T, fn func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestNewWithoutBrowser(t *testing.T) {
	tests := []struct {
		name        string
		ci          string
		wantSkipped bool
		wantFatal   bool
	}{
		{name: "skipped on a developer's machine", ci: "", wantSkipped: true},
		{name: "fails under CI", ci: "true", wantFatal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvChromium, filepath.Join(t.TempDir(), "no-such-chromium"))
			t.Setenv("CI", tc.ci)
			r := record(t, func(tb testing.TB) { New(tb) })
			if r.skipped != tc.wantSkipped || r.fatal != tc.wantFatal {
				t.Fatalf("skipped=%v fatal=%v, want skipped=%v fatal=%v (%q)", r.skipped, r.fatal, tc.wantSkipped, tc.wantFatal, r.errs)
			}
			if !strings.Contains(strings.Join(r.errs, " "), InstallHint) {
				t.Errorf("message %q does not say how to install the browser", r.errs)
			}
		})
	}
}

func TestAccessibilityFlagsSeriousViolations(t *testing.T) {
	url := site(t, map[string]string{
		"/": `<h1>Order</h1>
			<p id="faint">Prices exclude tax.</p>
			<input type="text" id="nolabel">`,
		"/site.css": `body { color: #111; background: #fff; } #faint { color: #c8c8c8; }`,
	})
	b := New(t)
	b.Navigate(t, url)

	vs, err := Accessibility(b.Context())
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]Violation{}
	for _, v := range vs {
		found[v.ID] = v
	}
	for id, target := range map[string]string{"label": "#nolabel", "color-contrast": "#faint"} {
		v, ok := found[id]
		if !ok {
			t.Errorf("axe did not report %s; got %v", id, vs)
			continue
		}
		if !v.Blocking() {
			t.Errorf("%s has impact %q, want serious or critical", id, v.Impact)
		}
		if !slices.Contains(v.Targets, target) {
			t.Errorf("%s targets %q, want %s among them", id, v.Targets, target)
		}
	}

	r := record(t, func(tb testing.TB) { CheckAccessibility(tb, b.Context()) })
	if len(r.errs) != 1 {
		t.Fatalf("CheckAccessibility reported %q, want one failure listing the violations", r.errs)
	}
	for _, want := range []string{"label (critical)", "color-contrast (serious)", "#nolabel", "#faint", "Form elements must have labels"} {
		if !strings.Contains(r.errs[0], want) {
			t.Errorf("failure %q does not mention %q", r.errs[0], want)
		}
	}
}

func TestAccessibilityPassesCleanPage(t *testing.T) {
	url := site(t, map[string]string{
		"/": `<h1>Order</h1>
			<p>Prices exclude tax.</p>
			<form action="/buy" method="post">
				<label for="qty">Quantity</label>
				<input type="number" id="qty" name="qty" value="1" min="1">
				<button type="submit">Buy</button>
			</form>`,
	})
	b := New(t)
	b.Navigate(t, url)
	r := record(t, func(tb testing.TB) { CheckAccessibility(tb, b.Context()) })
	if len(r.errs) > 0 {
		t.Errorf("clean page failed: %q", r.errs)
	}
	// Injecting axe under the strict policy must not itself trip it.
	if v := b.CSPViolations(); len(v) > 0 {
		t.Errorf("CSP violations on a clean page: %v", v)
	}
	if e := b.ConsoleErrors(); len(e) > 0 {
		t.Errorf("console errors on a clean page: %v", e)
	}
}

func TestCSPViolationReported(t *testing.T) {
	url := site(t, map[string]string{
		"/": `<h1 id="title">Order</h1>
			<p id="out">inline script blocked</p>
			<script>document.getElementById('out').textContent = 'inline script ran';</script>`,
	})
	b := New(t)
	b.Navigate(t, url)

	if got := Text(t, b.Context(), "#out"); got != "inline script blocked" {
		t.Fatalf("#out = %q: the policy was not enforced", got)
	}
	v := b.CSPViolations()
	if len(v) != 1 || !strings.Contains(v[0].Text, "script-src") {
		t.Fatalf("CSP violations = %v, want the blocked inline script", v)
	}
	if !slices.ContainsFunc(b.ConsoleErrors(), Message.IsCSPViolation) {
		t.Errorf("the violation is not among the console errors %v", b.ConsoleErrors())
	}
	// axe still runs on this page: its injection does not depend on the
	// page's script-src.
	if _, err := Accessibility(b.Context()); err != nil {
		t.Fatalf("axe under %q: %v", strictCSP, err)
	}
	if n := len(b.CSPViolations()); n != 1 {
		t.Errorf("axe's injection added CSP violations: %v", b.CSPViolations())
	}
}

func TestConsoleErrors(t *testing.T) {
	url := site(t, map[string]string{
		"/":       `<h1>Order</h1><script src="/app.js"></script>`,
		"/app.js": `console.log('ready'); console.error('price missing', 42); setTimeout(() => { throw new Error('late failure'); });`,
	})
	b := New(t)
	b.Navigate(t, url)
	var errs []Message
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if errs = b.ConsoleErrors(); len(errs) >= 2 {
			break
		}
	}
	var texts []string
	for _, m := range errs {
		texts = append(texts, m.Source+": "+m.Text)
	}
	want := []string{"console: price missing 42", "exception: Uncaught Error: late failure"}
	if !slices.Equal(texts, want) {
		t.Fatalf("console errors %q, want %q", texts, want)
	}
	if len(b.CSPViolations()) > 0 {
		t.Errorf("CSP violations %v from a page with only an external script", b.CSPViolations())
	}
}

func TestWithoutJavaScript(t *testing.T) {
	url := site(t, map[string]string{
		"/":       `<h1>Order</h1><p id="out">no script</p><script src="/app.js"></script>`,
		"/app.js": `document.getElementById('out').textContent = 'script ran';`,
	})
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{name: "JavaScript on", want: "script ran"},
		{name: "JavaScript off", opts: []Option{WithoutJavaScript()}, want: "no script"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := New(t, tc.opts...)
			b.Navigate(t, url)
			if got := Text(t, b.Context(), "#out"); got != tc.want {
				t.Errorf("#out = %q, want %q", got, tc.want)
			}
			// axe runs either way, and running it neither runs the page's
			// script after all nor leaves scripts on for the next load.
			CheckAccessibility(t, b.Context())
			if got := Text(t, b.Context(), "#out"); got != tc.want {
				t.Errorf("#out after axe = %q, want %q", got, tc.want)
			}
			b.Navigate(t, url)
			if got := Text(t, b.Context(), "#out"); got != tc.want {
				t.Errorf("#out on the next load after axe = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKeyboard(t *testing.T) {
	url := site(t, map[string]string{
		"/": `<h1>Resources</h1>
			<label for="ram">Memory (GB)</label>
			<input type="range" id="ram" min="1" max="16" value="4">
			<input type="checkbox" id="backup"><label for="backup">Backups</label>
			<button type="button" id="apply">Apply</button>
			<p id="status" role="status">Nothing applied</p>
			<p id="plain">Nothing applied</p>
			<script src="/app.js"></script>`,
		"/app.js": `document.getElementById('apply').addEventListener('click', () => {
			const ram = document.getElementById('ram').value;
			const backup = document.getElementById('backup').checked ? 'with' : 'without';
			setTimeout(() => { document.getElementById('status').textContent = 'Applied ' + ram + ' GB ' + backup + ' backups'; }, 100);
		});`,
	})
	b := New(t)
	b.Navigate(t, url)
	ctx := b.Context()

	Focus(t, ctx, "#ram")
	Press(t, ctx, KeyArrowRight, KeyArrowRight)
	if got, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#ram"))); err != nil || got != "6" {
		t.Fatalf("range after two ArrowRight = %q (%v), want 6", got, err)
	}
	Press(t, ctx, KeyTab)
	if got := Focused(t, ctx); got != "input#backup" {
		t.Fatalf("Tab from the range focused %q, want input#backup", got)
	}
	Press(t, ctx, KeySpace)
	if checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('backup').checked`)); err != nil || !checked {
		t.Fatalf("Space did not check the focused checkbox (checked=%v, %v)", checked, err)
	}
	Press(t, ctx, KeyTab)
	before := Text(t, ctx, "#status")
	Press(t, ctx, KeyEnter)
	if got := WaitLiveChange(t, ctx, "#status", before); got != "Applied 6 GB with backups" {
		t.Errorf("live region = %q", got)
	}

	r := record(t, func(tb testing.TB) { WaitLiveChange(tb, ctx, "#plain", "Nothing applied") })
	if !r.fatal || !strings.Contains(strings.Join(r.errs, " "), "not a live region") {
		t.Errorf("a region without aria-live passed: %q", r.errs)
	}
}

func TestScreenshot(t *testing.T) {
	url := site(t, map[string]string{
		"/":         `<h1>A long page</h1><div class="tall">Below the fold</div>`,
		"/site.css": `body { color: #111; background: #fff; } .tall { height: 3000px; }`,
	})
	dir := filepath.Join(t.TempDir(), "shots")
	t.Setenv(EnvScreenshots, dir)
	b := New(t)
	b.Navigate(t, url)
	b.Screenshot(t, "long")

	for _, tc := range []struct {
		file  string
		width int
	}{{"long-desktop.png", DesktopWidth}, {"long-phone.png", PhoneWidth}} {
		data, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != tc.width || h < 3000 {
			t.Errorf("%s is %dx%d, want %d wide and the whole 3000+ px page", tc.file, w, h, tc.width)
		}
	}
	// The tab is back at its own viewport for what the test does next.
	if w, err := chromedp.Run(b.Context(), chromedp.Evaluate[int](`window.innerWidth`)); err != nil || w != DefaultWidth {
		t.Errorf("viewport after Screenshot = %d (%v), want %d", w, err, DefaultWidth)
	}

	t.Setenv(EnvScreenshots, "")
	b.Screenshot(t, "unset")
	if _, err := os.Stat(filepath.Join(dir, "unset-desktop.png")); !os.IsNotExist(err) {
		t.Errorf("Screenshot wrote without %s: %v", EnvScreenshots, err)
	}
}

// BenchmarkNewLoadAxe times what a page test costs: New (browser start and
// tab), one page load, and one axe run (injection included), each reported
// apart. Each iteration's browser lives until the benchmark ends: run with
// -benchtime=5x or so, not for seconds.
func BenchmarkNewLoadAxe(b *testing.B) {
	url := site(b, map[string]string{
		"/": `<h1>Order</h1>
			<form action="/buy" method="post">
				<label for="qty">Quantity</label>
				<input type="number" id="qty" name="qty" value="1" min="1">
				<button type="submit">Buy</button>
			</form>`,
	})
	var start, load, axe time.Duration
	for b.Loop() {
		t0 := time.Now()
		br := New(b)
		t1 := time.Now()
		br.Navigate(b, url)
		t2 := time.Now()
		vs, err := Accessibility(br.Context())
		if err != nil || len(vs) > 0 {
			b.Fatalf("axe: %v %v", vs, err)
		}
		t3 := time.Now()
		start += t1.Sub(t0)
		load += t2.Sub(t1)
		axe += t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(start.Milliseconds())/n, "new-ms/op")
	b.ReportMetric(float64(load.Milliseconds())/n, "load-ms/op")
	b.ReportMetric(float64(axe.Milliseconds())/n, "axe-ms/op")
}
