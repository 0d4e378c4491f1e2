// Package browsertest drives a real headless Chromium for the tests of
// upsell's server-rendered pages: it starts the browser (or skips the test
// outside CI when none is installed), opens a tab, and gives the page tests
// what they check: axe-core accessibility rules, full-page screenshots at a
// desktop and a phone width, keys pressed on the focused element, the text of
// an element and of an aria-live region, and the console errors and Content
// Security Policy violations the page produced.
//
// It is test support: only _test.go files import it.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Environment variables read by New.
const (
	// EnvChromium names the browser executable; without it New looks for
	// chromium and chromium-browser in PATH.
	EnvChromium = "UPSELL_CHROMIUM"
	// EnvScreenshots names the directory Screenshot writes into; without it
	// Screenshot writes nothing.
	EnvScreenshots = "UPSELL_SCREENSHOTS"
)

// InstallHint is how to get the browser on Debian, as the skip message says.
const InstallHint = "apt-get install chromium"

// Default sizes and time limit of a Browser.
const (
	DefaultWidth   = 1280
	DefaultHeight  = 800
	DefaultTimeout = 2 * time.Minute
)

// Browser is one headless Chromium process with one tab, for one test.
type Browser struct {
	ctx    context.Context
	width  int
	height int

	mu       sync.Mutex
	messages []Message
}

// Option changes how New starts the browser or sets up its tab.
type Option func(*config)

type config struct {
	noScript bool
	width    int
	height   int
	timeout  time.Duration
}

// WithoutJavaScript turns script execution off in the tab
// (Emulation.setScriptExecutionDisabled), for the pages' no-JS path. The
// harness's own evaluations over the DevTools protocol (axe, Text) still run.
func WithoutJavaScript() Option { return func(c *config) { c.noScript = true } }

// WithViewport sets the tab's viewport in CSS pixels (default 1280x800).
func WithViewport(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// WithTimeout bounds everything done in the tab (default 2 minutes, and never
// past the test's own deadline).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// FindChromium returns the browser executable: $UPSELL_CHROMIUM, else
// chromium or chromium-browser in PATH.
func FindChromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %w", EnvChromium, p, err)
		}
		return path, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no chromium or chromium-browser in PATH and %s unset", EnvChromium)
}

// New starts a headless Chromium with a fresh profile in t.TempDir() and
// opens a tab; both close when the test ends. Without a browser the test is
// skipped, except under CI=true, where it fails: CI must install one.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	cfg := config{width: DefaultWidth, height: DefaultHeight, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	execPath, err := FindChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test under CI without a browser (%v): CI must %s", err, InstallHint)
		}
		t.Skipf("browser test skipped: %v (%s, or set %s)", err, InstallHint, EnvChromium)
	}

	// TempDir first: its removal is then registered before the cleanup that
	// stops the browser, and cleanups run last-in first-out, so Chromium has
	// exited before its profile is removed.
	profile := t.TempDir()
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(profile),
		// CI runs as root, where Chromium refuses its sandbox.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(cfg.width, cfg.height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	b := &Browser{width: cfg.width, height: cfg.height}
	// The listener is registered before the tab's first command, so not even
	// the first navigation's messages are missed.
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(b.record))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})

	// The first Do starts the browser and binds its life to browserCtx, which
	// has no deadline; the deadline is on the tab context derived from it
	// (chromedp API.md example 21).
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v", execPath, err)
	}
	deadline := time.Now().Add(cfg.timeout)
	if td, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := td.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
	}
	tabCtx, cancelTab := context.WithDeadline(browserCtx, deadline)
	t.Cleanup(cancelTab)
	b.ctx = tabCtx

	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(int64(cfg.width), int64(cfg.height))); err != nil {
		t.Fatalf("set the viewport: %v", err)
	}
	if cfg.noScript {
		if err := setScriptsDisabled(tabCtx, true); err != nil {
			t.Fatalf("switch scripts off: %v", err)
		}
		// Accessibility reads this to switch scripts on for axe's run.
		b.ctx = context.WithValue(tabCtx, scriptsOffKey{}, true)
	}
	return b
}

// scriptsOffKey marks the context of a tab made WithoutJavaScript.
type scriptsOffKey struct{}

func setScriptsDisabled(ctx context.Context, disabled bool) error {
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: disabled})
	return err
}

// Context is the tab's chromedp context: pass it to chromedp.Do and
// chromedp.Run, and to the helpers of this package. It ends at the
// Browser's timeout or when the test ends.
func (b *Browser) Context() context.Context { return b.ctx }

// Navigate loads url in the tab and waits for its load event.
func (b *Browser) Navigate(t testing.TB, url string) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
}
