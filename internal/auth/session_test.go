package auth

import (
	"testing"
	"time"
)

func TestSession(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	key := SessionKey(secret)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	link := NewLink(7, 42, now.Add(-time.Hour), 24*time.Hour)
	s := NewSession(link, now, 30*time.Minute)
	value := SignSession(key, s)

	if got, err := VerifySession(key, value, now, 24*time.Hour); err != nil || got != s {
		t.Fatalf("VerifySession = %+v, %v; want %+v", got, err, s)
	}
	if !s.Expires.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("session expires %s, want 30 minutes after the exchange", s.Expires)
	}
	// A session never outlives its link.
	late := NewSession(link, link.Expires.Add(-time.Minute), 30*time.Minute)
	if !late.Expires.Equal(link.Expires) {
		t.Errorf("session of a link about to expire ends %s, want the link's %s", late.Expires, link.Expires)
	}

	refused := []struct {
		name  string
		value string
		at    time.Time
	}{
		{"the link itself is no cookie", SignLink(secret, link), now},
		{"a cookie signed with the link secret", func() string {
			p := SignSession(secret, s)
			return p
		}(), now},
		{"expired", value, s.Expires},
		{"tampered service", SignSession(key, s)[:3] + "8" + SignSession(key, s)[4:], now},
		{"another user", replaceUser(SignSession(key, s), "8"), now},
		{"empty", "", now},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := VerifySession(key, tc.value, tc.at, 24*time.Hour); err == nil {
				t.Fatalf("VerifySession(%q) passed", tc.value)
			}
		})
	}
	if _, err := VerifyLink(secret, value, now, 24*time.Hour); err == nil {
		t.Fatal("a session cookie verified as a link")
	}
}

func replaceUser(v, user string) string {
	// "s1.<user>.": swap the user id, keep the MAC.
	return v[:3] + user + v[4:]
}

func TestCSRFToken(t *testing.T) {
	key := SessionKey([]byte("0123456789abcdef0123456789abcdef"))
	a, b := "s1.7.42.1.2.mac-a", "s1.7.42.1.2.mac-b"
	if !CheckCSRF(key, a, CSRFToken(key, a)) {
		t.Fatal("a session's own token refused")
	}
	for _, tc := range []struct{ name, token string }{
		{"another session's token", CSRFToken(key, b)},
		{"empty", ""},
		{"signed with another key", CSRFToken(SessionKey([]byte("another secret of thirty-two chars!")), a)},
	} {
		if CheckCSRF(key, a, tc.token) {
			t.Errorf("%s accepted", tc.name)
		}
	}
}
