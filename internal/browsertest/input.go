package browsertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Key is a key Press sends.
type Key string

// Keys the page tests press.
const (
	KeyTab        Key = kb.Tab
	KeyEnter      Key = kb.Enter
	KeySpace      Key = " "
	KeyEscape     Key = kb.Escape
	KeyArrowLeft  Key = kb.ArrowLeft
	KeyArrowRight Key = kb.ArrowRight
	KeyArrowUp    Key = kb.ArrowUp
	KeyArrowDown  Key = kb.ArrowDown
	KeyHome       Key = kb.Home
	KeyEnd        Key = kb.End
)

// LiveTimeout bounds WaitLiveChange.
const LiveTimeout = 10 * time.Second

// Text returns the rendered text (innerText) of the first element matching
// the CSS selector, waiting for it to exist.
func Text(t testing.TB, ctx context.Context, selector string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		t.Fatalf("text of %s: %v", selector, err)
	}
	return s
}

// Focus focuses the first element matching the CSS selector.
func Focus(t testing.TB, ctx context.Context, selector string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(selector))); err != nil {
		t.Fatalf("focus %s: %v", selector, err)
	}
}

// Focused describes the focused element as "tag#id" (or "tag" without an
// id), for asserting where Tab moved focus.
func Focused(t testing.TB, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const e = document.activeElement;
		if (!e) return '';
		return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '');
	})()`))
	if err != nil {
		t.Fatalf("focused element: %v", err)
	}
	return s
}

// Press sends each key, in order, to the focused element as a user's key
// press would (keydown, char where the key types one, keyup), so the
// browser's default actions run: Tab moves focus, Enter submits, Space
// toggles, arrows move a range input or a radio group.
func Press(t testing.TB, ctx context.Context, keys ...Key) {
	t.Helper()
	for _, k := range keys {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(string(k))); err != nil {
			t.Fatalf("press %q: %v", k, err)
		}
	}
}

// liveRegion is what WaitLiveChange reads of the element.
type liveRegion struct {
	Found bool   `json:"found"`
	Live  string `json:"live"`
	Role  string `json:"role"`
	Text  string `json:"text"`
}

// liveRoles are the ARIA roles that make an element a live region
// without an aria-live attribute.
var liveRoles = map[string]bool{"status": true, "alert": true, "log": true, "timer": true, "marquee": true}

// WaitLiveChange waits, at most LiveTimeout, until the text of the live
// region matching the CSS selector differs from before (both compared with
// surrounding space trimmed), and returns the new text. It fails the test if
// the element is not a live region (aria-live other than "off", or a live
// role such as status or alert): an update a screen reader would not
// announce is a bug the test should report.
func WaitLiveChange(t testing.TB, ctx context.Context, selector, before string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, LiveTimeout)
	defer cancel()
	expr := fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		if (!e) return {found: false};
		return {found: true, live: e.getAttribute('aria-live') || '', role: e.getAttribute('role') || '', text: e.textContent};
	})()`, mustJSON(selector))
	before = strings.TrimSpace(before)
	checked := false
	for {
		r, err := chromedp.Run(ctx, chromedp.Evaluate[liveRegion](expr))
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("live region %s: text still %q after %v", selector, before, LiveTimeout)
			}
			t.Fatalf("read live region %s: %v", selector, err)
		}
		if r.Found && !checked {
			if r.Live == "off" || (r.Live == "" && !liveRoles[r.Role]) {
				t.Fatalf("%s is not a live region (aria-live=%q role=%q): screen readers will not announce its change", selector, r.Live, r.Role)
			}
			checked = true
		}
		if r.Found && strings.TrimSpace(r.Text) != before {
			return strings.TrimSpace(r.Text)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("live region %s: text still %q after %v", selector, before, LiveTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TabTo presses Tab, as a keyboard user does, until the element Focused
// names as target ("tag#id") has the focus, failing the test after max
// presses with the path the focus took.
func TabTo(t testing.TB, ctx context.Context, target string, max int) {
	t.Helper()
	var seen []string
	for range max {
		Press(t, ctx, KeyTab)
		f := Focused(t, ctx)
		if f == target {
			return
		}
		seen = append(seen, f)
	}
	t.Fatalf("Tab never reached %s; focus went %s", target, strings.Join(seen, ", "))
}
