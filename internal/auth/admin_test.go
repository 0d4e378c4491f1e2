package auth

import (
	"strings"
	"testing"
	"time"
)

func TestAdminLink(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	key := AdminLinkKey(secret)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	l := NewAdminLink(3, now, 2*time.Minute)
	token := SignAdminLink(key, l)
	if !strings.HasPrefix(token, "al1.3.") {
		t.Fatalf("token %q", token)
	}
	if got, err := VerifyAdminLink(key, token, now.Add(time.Minute)); err != nil || got != l {
		t.Fatalf("VerifyAdminLink = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name  string
		token string
		at    time.Time
	}{
		{"expired", token, now.Add(2 * time.Minute)},
		{"too long-lived", SignAdminLink(key, NewAdminLink(3, now, 6*time.Minute)), now},
		{"no admin", SignAdminLink(key, NewAdminLink(0, now, time.Minute)), now},
		{"another admin, same mac", strings.Replace(token, "al1.3.", "al1.4.", 1), now},
		{"signed with the link secret itself", SignAdminLink(secret, l), now},
		{"a client link", SignLink(secret, NewLink(3, 0, now, time.Minute)), now},
		{"an admin session", SignAdminSession(SessionKey(secret), l), now},
		{"issued in the future", SignAdminLink(key, NewAdminLink(3, now.Add(2*time.Minute), time.Minute)), now},
	} {
		if _, err := VerifyAdminLink(key, tc.token, tc.at); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestAdminSession(t *testing.T) {
	key := SessionKey([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s := NewAdminLink(0, now, time.Hour)
	v := SignAdminSession(key, s)
	if got, err := VerifyAdminSession(key, v, now, time.Hour); err != nil || got.Actor() != "admin:token" {
		t.Fatalf("VerifyAdminSession = %+v, %v", got, err)
	}
	if _, err := VerifyAdminSession(key, v, now, 30*time.Minute); err == nil {
		t.Error("a session longer than the configured lifetime passed")
	}
	if _, err := VerifyAdminSession(key, v, now.Add(time.Hour), time.Hour); err == nil {
		t.Error("an expired session passed")
	}
	if _, err := VerifySession(key, v, now, time.Hour); err == nil {
		t.Error("an admin session passed as a client session")
	}
	if NewAdminLink(7, now, time.Minute).Actor() != "admin:7" {
		t.Error("actor of panel admin 7")
	}
}
