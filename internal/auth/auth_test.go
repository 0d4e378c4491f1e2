package auth

import (
	"testing"
	"time"
)

func TestLinks(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	good := SignLink(secret, Link{UserID: 3, ServiceID: 7, Expires: now.Add(time.Hour)})
	l, err := VerifyLink(secret, good, now)
	if err != nil || l.UserID != 3 || l.ServiceID != 7 {
		t.Fatalf("good link: %+v %v", l, err)
	}
	tampered := []string{
		SignLink(secret, Link{UserID: 3, ServiceID: 7, Expires: now.Add(-time.Second)}), // expired
		SignLink([]byte("another secret another secret 00"), Link{UserID: 3, ServiceID: 7, Expires: now.Add(time.Hour)}),
		"v1.3.8." + good[len("v1.3.7."):], // other service, same mac
		"v1.4.7." + good[len("v1.3.7."):], // other user
		good[:len(good)-2] + "AA",
		"v2" + good[2:],
		"", "v1.3.7", "v1.0.7.99999999999.x",
	}
	for _, tok := range tampered {
		if _, err := VerifyLink(secret, tok, now); err != ErrBadLink {
			t.Errorf("%q accepted: %v", tok, err)
		}
	}
	if _, err := VerifyLink(nil, good, now); err == nil {
		t.Error("empty secret verified a link")
	}
}

func TestAdminToken(t *testing.T) {
	tok := "s3cr3t-admin-token-0123456789abcdef"
	cases := map[string]bool{"Bearer " + tok: true, "Bearer " + tok + "x": false, tok: false, "Bearer ": false, "": false}
	for h, want := range cases {
		if got := AdminToken(h, tok); got != want {
			t.Errorf("%q: %v", h, got)
		}
	}
	if AdminToken("Bearer ", "") {
		t.Error("empty configured token accepted")
	}
}
