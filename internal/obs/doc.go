// Package obs is upsell's observability: structured logs that cannot leak
// secrets, and the host's Prometheus metrics.
//
// Logs. NewLogger builds a JSON (or text) slog.Logger whose handler is wrapped
// by a redacting handler. Redaction happens in two independent ways, because
// either alone leaves holes:
//
//   - by key: an attribute whose key looks like it names a secret (token,
//     secret, password, api_key, authorization, anything ending in _key, ...)
//     has its value replaced by "[redacted]", whatever the value is. A key
//     naming a DSN keeps the DSN but loses its password.
//   - by value: every secret the daemon knows about (RegisterSecret, called
//     at startup with the configuration's secrets) is replaced wherever it
//     appears in a message, a string attribute or an error, under any key.
//     This is what catches the API key a third-party library put into an
//     error message.
//
// Credentials embedded in URLs (https://user:pass@host) and bearer tokens are
// scrubbed from every string as well. The rules live in the leaf package
// obs/redact, which the configuration shares.
//
// Metrics. Metrics owns its own prometheus.Registry rather than using the
// global one, so what /metrics exposes is exactly what the host registered
// (plus Go and process collectors), and tests can build as many as they like.
package obs
