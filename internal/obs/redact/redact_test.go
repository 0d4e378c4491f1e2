package redact

import (
	"strings"
	"sync"
	"testing"
)

func TestIsSecretKey(t *testing.T) {
	tests := []struct {
		key    string
		secret bool
	}{
		{"admin_token", true}, {"link_secret", true}, {"password", true},
		{"api_key", true}, {"apiKey", true}, {"X-Api-Key", true}, {"API.KEY", true},
		{"app_key", true}, {"key", true}, {"authorization", true}, {"Cookie", true},
		{"idempotency_key", false}, {"public_key", false},
		{"api_url", false}, {"request_timeout", false}, {"route", false}, {"request_id", false},
	}
	for _, tt := range tests {
		if got := IsSecretKey(tt.key); got != tt.secret {
			t.Errorf("IsSecretKey(%q) = %v, want %v", tt.key, got, tt.secret)
		}
	}
}

func TestSecretSet(t *testing.T) {
	var nilSet *SecretSet
	if got := nilSet.Redact("x"); got != "x" {
		t.Errorf("nil set changed text: %q", got)
	}

	var s SecretSet
	s.Register("abcdef")
	s.Register("abcdefghij") // contains the first: must be cut whole
	s.Register("short")      // under MinSecretLen: ignored
	if got := s.Redact("abcdefghij abcdef short"); got != Text+" "+Text+" short" {
		t.Errorf("Redact = %q", got)
	}

	// Registration while redacting, as when a secret is added at runtime.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); s.Register(strings.Repeat(string(rune('k'+i)), 8)) }()
		go func() { defer wg.Done(); _ = s.Redact("kkkkkkkk abcdef") }()
	}
	wg.Wait()
	if got := s.Redact("kkkkkkkk"); got != Text {
		t.Errorf("secret registered concurrently not redacted: %q", got)
	}
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://u:p@h/x", "https://u:" + Text + "@h/x"},
		{"https://h/x?a=b", "https://h/x?a=b"},
		{"Authorization: Bearer abc.def", "Authorization: Bearer " + Text},
		{"plain text", "plain text"},
	}
	for _, tt := range tests {
		if got := Scrub(nil, tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDSN(t *testing.T) {
	tests := []struct{ in, want, password string }{
		{"u:pw1234@tcp(db:3306)/paymenter?parseTime=true", "u:" + Text + "@tcp(db:3306)/paymenter?parseTime=true", "pw1234"},
		{"u@tcp(db:3306)/paymenter", "u@tcp(db:3306)/paymenter", ""},
		{"not a dsn", Text, ""},
	}
	for _, tt := range tests {
		if got := DSN(tt.in); got != tt.want {
			t.Errorf("DSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := DSNPassword(tt.in); got != tt.password {
			t.Errorf("DSNPassword(%q) = %q, want %q", tt.in, got, tt.password)
		}
	}
}
