// Package redact holds upsell's rules for what is secret and how it is hidden:
// which keys name secrets, how a DSN loses its password, and the set of known
// secret values to cut out of text.
//
// It is a leaf package (no logging, no metrics) so that the configuration
// and the logger share one definition without the configuration depending
// on the observability stack. Most code uses it through package obs.
package redact

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
)

// Text replaces every secret upsell would otherwise print.
const Text = "[redacted]"

// MinSecretLen is the shortest value SecretSet.Register accepts. Shorter
// values would blank ordinary words all over the logs ("root", "1234") and
// are no secret worth the name anyway; key-based redaction still covers them.
const MinSecretLen = 6

// SecretSet is a set of known secret values to cut out of text. The zero value
// is empty and ready to use; it is safe for concurrent use.
type SecretSet struct {
	mu       sync.Mutex
	values   map[string]struct{}
	replacer atomic.Pointer[strings.Replacer]
}

// Register adds a secret value. Values shorter than MinSecretLen are ignored.
func (s *SecretSet) Register(value string) {
	if len(value) < MinSecretLen {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.values[value]; ok {
		return
	}
	if s.values == nil {
		s.values = make(map[string]struct{})
	}
	s.values[value] = struct{}{}

	// Longest first: strings.Replacer prefers earlier pairs at a position, so
	// a secret that contains another one is cut out whole.
	all := make([]string, 0, len(s.values))
	for v := range s.values {
		all = append(all, v)
	}
	slices.SortFunc(all, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	pairs := make([]string, 0, 2*len(all))
	for _, v := range all {
		pairs = append(pairs, v, Text)
	}
	s.replacer.Store(strings.NewReplacer(pairs...))
}

// Redact returns text with every registered value replaced by Text. A nil set
// redacts nothing.
func (s *SecretSet) Redact(text string) string {
	if s == nil || text == "" {
		return text
	}
	r := s.replacer.Load()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

var (
	// urlCredentials matches the password of scheme://user:password@host.
	urlCredentials = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#@\s:]*):[^/?#@\s]*@`)
	// bearerToken matches an Authorization header's bearer credential.
	bearerToken = regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+`)
)

// Scrub returns s without the values registered in secrets (which may be nil),
// URL passwords (scheme://user:[redacted]@host) and bearer tokens. The
// regular expressions only run when a cheap test says they may match.
func Scrub(secrets *SecretSet, s string) string {
	s = secrets.Redact(s)
	if strings.Contains(s, "://") {
		s = urlCredentials.ReplaceAllString(s, "${1}:"+Text+"@")
	}
	if strings.Contains(s, "earer") || strings.Contains(s, "EARER") {
		s = bearerToken.ReplaceAllString(s, "${1} "+Text)
	}
	return s
}

// secretKeyWords are the fragments that make a key secret once it is
// lower-cased and stripped of separators (so apiKey, api-key, api_key and
// API.KEY all read "apikey").
var secretKeyWords = []string{
	"token", "secret", "password", "passwd", "passphrase", "apikey",
	"authorization", "cookie", "credential", "privatekey", "signature",
}

// publicKeys end in "key" but name identifiers, not secrets; operators need
// them to trace payments, so they stay readable.
var publicKeys = map[string]bool{
	"idempotency_key": true,
	"public_key":      true,
}

// IsSecretKey reports whether an attribute or setting named key holds a
// secret: it contains token, secret, password, api_key (any spelling),
// authorization, cookie, credential or signature, or ends in "key" (app_key,
// hmacKey, the bare "key"). It errs on the side of hiding: a hidden harmless
// value costs less than a leaked key.
func IsSecretKey(key string) bool {
	norm := strings.NewReplacer("-", "_", ".", "_", " ", "_").Replace(strings.ToLower(key))
	if publicKeys[norm] {
		return false
	}
	compact := strings.ReplaceAll(norm, "_", "")
	for _, w := range secretKeyWords {
		if strings.Contains(compact, w) {
			return true
		}
	}
	return strings.HasSuffix(compact, "key")
}

// IsDSNKey reports whether key names a database DSN, of which only the
// password is secret: host and database stay useful in logs.
func IsDSNKey(key string) bool {
	k := strings.ToLower(key)
	return k == "dsn" || strings.HasSuffix(k, "_dsn") || strings.HasSuffix(k, ".dsn")
}

// DSN returns a go-sql-driver/mysql DSN with its password replaced by Text,
// keeping the rest exactly as written. A DSN that does not parse is redacted
// whole: where its password is cannot be known.
func DSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return Text
	}
	if cfg.Passwd == "" {
		return dsn
	}
	// The driver takes the password from between the first ':' and the last
	// '@' before the last '/'; cut exactly that span out.
	slash := strings.LastIndexByte(dsn, '/')
	at := strings.LastIndexByte(dsn[:max(slash, 0)], '@')
	if at < 0 || !strings.HasSuffix(dsn[:at], ":"+cfg.Passwd) {
		cfg.Passwd = Text
		return cfg.FormatDSN()
	}
	return dsn[:at-len(cfg.Passwd)] + Text + dsn[at:]
}

// DSNPassword returns the password of a MySQL DSN, or "" when it has none or
// does not parse.
func DSNPassword(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return ""
	}
	return cfg.Passwd
}
