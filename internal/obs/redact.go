package obs

import (
	"context"
	"log/slog"

	"github.com/upsell-io/upsell/internal/obs/redact"
)

// RedactedText replaces every secret upsell would otherwise print.
const RedactedText = redact.Text

// defaultSecrets backs RegisterSecret, Redact and NewLogger: the daemon has one
// set of secrets, registered once at startup.
var defaultSecrets = &redact.SecretSet{}

// RegisterSecret adds a value that loggers built by NewLogger (and Redact)
// must never print; values shorter than redact.MinSecretLen are ignored.
// Call it at startup for every configured secret (config.Config.Secrets),
// before deriving loggers with With: attributes attached by With are redacted
// when attached.
func RegisterSecret(value string) { defaultSecrets.Register(value) }

// Redact returns text with every secret registered by RegisterSecret, every
// password in a URL and every bearer token replaced by RedactedText.
func Redact(text string) string { return redact.Scrub(defaultSecrets, text) }

// IsSecretKey reports whether an attribute named key holds a secret; see
// redact.IsSecretKey for the rules.
func IsSecretKey(key string) bool { return redact.IsSecretKey(key) }

// RedactDSN returns a MySQL DSN with its password replaced by RedactedText.
func RedactDSN(dsn string) string { return redact.DSN(dsn) }

// RedactingHandler is a slog.Handler that redacts secrets (see the package
// documentation) before passing records on to another handler.
type RedactingHandler struct {
	next    slog.Handler
	secrets *redact.SecretSet
	// secretGroup is set under a group whose name looks secret
	// (logger.WithGroup("credentials")): everything in it is redacted.
	secretGroup bool
}

// NewRedactingHandler wraps next so that secrets never reach it. secrets may
// be nil, in which case only key-based and pattern-based redaction apply.
func NewRedactingHandler(next slog.Handler, secrets *redact.SecretSet) *RedactingHandler {
	return &RedactingHandler{next: next, secrets: secrets}
}

// Enabled reports whether the wrapped handler handles level.
func (h *RedactingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle redacts the record's message and attributes and passes it on.
func (h *RedactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redact.Scrub(h.secrets, r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.redactAttr(a, h.secretGroup))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs redacts attrs now: the wrapped handler may pre-format them.
func (h *RedactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	redacted := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		redacted[i] = h.redactAttr(a, h.secretGroup)
	}
	return &RedactingHandler{next: h.next.WithAttrs(redacted), secrets: h.secrets, secretGroup: h.secretGroup}
}

// WithGroup opens a group; a group named like a secret redacts all it holds.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{
		next:        h.next.WithGroup(name),
		secrets:     h.secrets,
		secretGroup: h.secretGroup || redact.IsSecretKey(name),
	}
}

// redactAttr returns a with secrets removed. secret says an enclosing group
// already looked secret.
func (h *RedactingHandler) redactAttr(a slog.Attr, secret bool) slog.Attr {
	v := a.Value.Resolve()
	secret = secret || redact.IsSecretKey(a.Key)
	switch {
	case v.Kind() == slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = h.redactAttr(g, secret)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case secret:
		// A flag such as token_valid=false cannot leak anything, and an
		// empty value says "not configured", which operators need to see.
		if v.Kind() == slog.KindBool || (v.Kind() == slog.KindString && v.String() == "") {
			return slog.Attr{Key: a.Key, Value: v}
		}
		return slog.String(a.Key, RedactedText)
	case v.Kind() == slog.KindString && redact.IsDSNKey(a.Key):
		return slog.String(a.Key, redact.Scrub(h.secrets, redact.DSN(v.String())))
	case v.Kind() == slog.KindString:
		return slog.String(a.Key, redact.Scrub(h.secrets, v.String()))
	case v.Kind() == slog.KindAny:
		// Errors are the usual way a secret sneaks in: a client library
		// quoting the URL or header it failed on.
		if err, ok := v.Any().(error); ok && err != nil {
			return slog.String(a.Key, redact.Scrub(h.secrets, err.Error()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
