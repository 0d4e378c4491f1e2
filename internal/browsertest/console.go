package browsertest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
)

// Message is one thing the page wrote to the console: a console API call
// (Runtime.consoleAPICalled), an uncaught exception (Runtime.exceptionThrown)
// or an entry of the browser's own log (Log.entryAdded), which is where
// Chromium reports CSP violations, failed loads and interventions.
type Message struct {
	// Source is "console" for a console API call, "exception" for an
	// uncaught exception, else the browser log's source ("security",
	// "network", "javascript", ...).
	Source string
	// Level is the console call's type ("log", "error", "warning", ...) or
	// the log entry's level ("verbose", "info", "warning", "error");
	// "error" for an exception.
	Level string
	Text  string
	URL   string
}

func (m Message) String() string {
	s := fmt.Sprintf("[%s %s] %s", m.Source, m.Level, m.Text)
	if m.URL != "" {
		s += " (" + m.URL + ")"
	}
	return s
}

// IsError reports whether the message is an error: console.error or a failed
// console.assert, an uncaught exception, or a browser log entry of level
// error (CSP violations are among these).
func (m Message) IsError() bool {
	return m.Level == "error" || m.Level == string(runtime.ConsoleAPICalledTypeAssert)
}

// IsCSPViolation reports whether the message is Chromium's report of a
// Content Security Policy violation: something the page's policy blocked
// (or would have, for a report-only policy).
func (m Message) IsCSPViolation() bool {
	return m.Source == string(log.EntrySourceSecurity) && strings.Contains(m.Text, "Content Security Policy")
}

// record runs in the tab's event loop (chromedp.WithListener), in the order
// the browser sent the events: an event sent before a command's reply is
// recorded before that command returns. It must return fast and send no
// command.
func (b *Browser) record(ev any) {
	var m Message
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		m = Message{Source: "console", Level: string(ev.Type), Text: consoleArgs(ev.Args)}
		if st := ev.StackTrace; st != nil && len(st.CallFrames) > 0 {
			m.URL = st.CallFrames[0].URL
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		m = Message{Source: "exception", Level: "error", Text: d.Text, URL: d.URL}
		if d.Exception != nil && d.Exception.Description != "" {
			// An error's description is its message and then its stack.
			first, _, _ := strings.Cut(d.Exception.Description, "\n")
			m.Text += " " + first
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if isFaviconMiss(e) {
			return
		}
		m = Message{Source: string(e.Source), Level: string(e.Level), Text: e.Text, URL: e.URL}
	default:
		return
	}
	b.mu.Lock()
	b.messages = append(b.messages, m)
	b.mu.Unlock()
}

// isFaviconMiss reports the 404 of the /favicon.ico that Chromium asks for
// by itself on every site: no page asked for it, so it is no error of the
// page's. (A page linking a broken /favicon.ico goes unreported too.)
func isFaviconMiss(e *log.Entry) bool {
	if e.Source != log.EntrySourceNetwork {
		return false
	}
	u, err := url.Parse(e.URL)
	return err == nil && u.Path == "/favicon.ico"
}

// consoleArgs renders a console call's arguments roughly as DevTools does:
// strings as they are, other values by their JSON value or description.
func consoleArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a.Type == runtime.RemoteObjectTypeString && len(a.Value) > 0:
			var s string
			if err := json.Unmarshal(a.Value, &s); err == nil {
				parts = append(parts, s)
				continue
			}
			parts = append(parts, string(a.Value))
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// Messages returns everything the tab's pages wrote to the console since
// New, in order.
func (b *Browser) Messages() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.messages)
}

// ConsoleErrors returns the error messages (see Message.IsError), CSP
// violations included.
func (b *Browser) ConsoleErrors() []Message {
	return b.filter(Message.IsError)
}

// CSPViolations returns Chromium's reports of what the pages' Content
// Security Policy blocked. A page test asserts it is empty.
func (b *Browser) CSPViolations() []Message {
	return b.filter(Message.IsCSPViolation)
}

func (b *Browser) filter(keep func(Message) bool) []Message {
	var out []Message
	for _, m := range b.Messages() {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}
