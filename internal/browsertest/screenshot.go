package browsertest

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Screenshot widths in CSS pixels. 390 is a current mid-size phone (iPhone
// 12 to 15).
const (
	DesktopWidth = 1280
	PhoneWidth   = 390
)

// Screenshot writes full-page PNGs of the tab's current page at the desktop
// and phone widths, as <name>-desktop.png and <name>-phone.png in the
// directory $UPSELL_SCREENSHOTS. Without the variable it writes nothing: the
// shots are for a person to look at, not compared by the test. The tab's
// viewport is restored afterwards.
func (b *Browser) Screenshot(t testing.TB, name string) {
	t.Helper()
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	shots := []struct {
		suffix string
		width  int
		mobile bool
	}{
		{"desktop", DesktopWidth, false},
		// Mobile emulation makes the page's <meta name=viewport> count, as
		// on a phone: without it the page would be laid out 980 px wide.
		{"phone", PhoneWidth, true},
	}
	for _, s := range shots {
		png, err := chromedp.Run(b.ctx, fullPage(s.width, b.height, s.mobile))
		if err != nil {
			t.Fatalf("screenshot %s at %d px: %v", name, s.width, err)
		}
		path := filepath.Join(dir, fmt.Sprintf("%s-%s.png", name, s.suffix))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("write screenshot: %v", err)
		}
		t.Logf("screenshot: %s", path)
	}
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(int64(b.width), int64(b.height))); err != nil {
		t.Fatalf("restore the viewport: %v", err)
	}
}

// fullPage lays the page out at width and captures all of its height.
func fullPage(width, height int, mobile bool) chromedp.Action[[]byte] {
	return func(ctx context.Context, tgt *chromedp.Target) ([]byte, error) {
		var opts []chromedp.EmulateViewportOption
		if mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
		}
		if _, err := chromedp.EmulateViewport(int64(width), int64(height), opts...)(ctx, tgt); err != nil {
			return nil, err
		}
		m, err := cdp.Call(ctx, tgt, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		h := float64(height)
		if m.CSSContentSize != nil {
			h = math.Max(h, math.Ceil(m.CSSContentSize.Height))
		}
		shot, err := cdp.Call(ctx, tgt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: float64(width), Height: h, Scale: 1},
			CaptureBeyondViewport: new(true),
		})
		if err != nil {
			return nil, err
		}
		return shot.Data, nil
	}
}
