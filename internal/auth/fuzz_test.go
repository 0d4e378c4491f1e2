package auth

import (
	"testing"
	"time"
)

// FuzzVerifyLink: no token but one signed with the secret for its exact
// user, service and expiry verifies, and nothing panics.
func FuzzVerifyLink(f *testing.F) {
	secret := []byte("link-secret-0123456789abcdef0123456")
	now := time.Unix(1_800_000_000, 0)
	f.Add(SignLink(secret, Link{UserID: 3, ServiceID: 7, Expires: now.Add(time.Hour)}))
	f.Add("v1.3.7.1800003600.")
	f.Add("v1..7.1.x")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		l, err := VerifyLink(secret, token, now)
		if err != nil {
			return
		}
		if SignLink(secret, l) != token {
			t.Fatalf("verified %q, which is not the link it names (%+v)", token, l)
		}
		if !now.Before(l.Expires) || l.UserID == 0 { // service 0: a user's link
			t.Fatalf("verified an expired or empty link %+v", l)
		}
	})
}
