package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored from npm (testdata/axe-core/README.md).
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// AxeTags are the rule sets run: WCAG 2.0, 2.1 and 2.2 at levels A and AA.
// axe-core 4.14 files WCAG 2.2's new A criteria under no tag of their own
// (it has no "wcag22a"), so wcag22aa is the only 2.2 tag.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// AxeTimeout bounds one Accessibility run.
const AxeTimeout = 30 * time.Second

// Violation is one axe rule the page breaks, with the elements breaking it.
type Violation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"` // minor, moderate, serious or critical
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"` // one CSS selector per element
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s; elements: %s; %s",
		v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "), v.HelpURL)
}

// Blocking reports whether the violation fails CheckAccessibility: impact
// serious or critical.
func (v Violation) Blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

// axeRun runs the injected axe over the document and flattens its result to
// []Violation. A node's target is one selector per frame (an array inside it
// for shadow DOM); joined with spaces it reads as one path.
var axeRun = `axe.run(document, {
	runOnly: {type: 'tag', values: ` + mustJSON(AxeTags) + `},
	resultTypes: ['violations'],
}).then(r => r.violations.map(v => ({
	id: v.id,
	impact: v.impact || '',
	help: v.help,
	helpUrl: v.helpUrl,
	targets: v.nodes.map(n => n.target.map(s => Array.isArray(s) ? s.join(' ') : s).join(' ')),
})))`

// Accessibility injects axe-core into the tab's current page, unless it is
// there already, and returns every violation of AxeTags, whatever its
// impact. The script goes in through Runtime.evaluate, which the page's
// Content Security Policy does not govern, so it works under a strict
// script-src without Page.setBypassCSP (which would also hide the page's own
// violations from CSPViolations).
//
// In a tab made WithoutJavaScript, script execution is switched on for the
// length of the run and off again: axe schedules its checks as tasks and
// promises, which never run with scripts off. No page script runs then: the
// page's scripts were skipped when it loaded, so none registered a handler
// or a timer.
func Accessibility(ctx context.Context) (_ []Violation, err error) {
	tab := ctx
	ctx, cancel := context.WithTimeout(ctx, AxeTimeout)
	defer cancel()
	if off, _ := ctx.Value(scriptsOffKey{}).(bool); off {
		if err := setScriptsDisabled(ctx, false); err != nil {
			return nil, fmt.Errorf("switch scripts on for axe: %w", err)
		}
		defer func() {
			// Switched off again even when axe ran out of time.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(tab), 5*time.Second)
			defer cancel()
			if rerr := setScriptsDisabled(rctx, true); rerr != nil && err == nil {
				err = fmt.Errorf("switch scripts off again after axe: %w", rerr)
			}
		}()
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		return nil, fmt.Errorf("look for axe: %w", err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe: %w", err)
	}
	return vs, nil
}

// CheckAccessibility runs axe over the tab's current page (see
// Accessibility) and fails the test on every violation of impact serious or
// critical, listing rule, impact, help and the elements' selectors. Minor and
// moderate ones are logged.
func CheckAccessibility(t testing.TB, ctx context.Context) {
	t.Helper()
	vs, err := Accessibility(ctx)
	if err != nil {
		t.Fatalf("accessibility check: %v", err)
	}
	var blocking []string
	for _, v := range vs {
		if v.Blocking() {
			blocking = append(blocking, v.String())
		} else {
			t.Logf("axe, not failing the test: %s", v)
		}
	}
	if len(blocking) > 0 {
		t.Errorf("axe: %d serious or critical accessibility violations:\n  %s",
			len(blocking), strings.Join(blocking, "\n  "))
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
