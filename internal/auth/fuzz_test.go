package auth

import (
	"testing"
	"time"
)

// FuzzVerifyLink: no token but the one SignLink writes for its exact user,
// service, issue time and expiry verifies, a verified link is live and
// within the longest lifetime, and nothing panics. Inputs the fuzzer found
// are kept in testdata/fuzz/FuzzVerifyLink and replayed by every go test.
func FuzzVerifyLink(f *testing.F) {
	secret := []byte("link-secret-0123456789abcdef0123456")
	now := time.Unix(1_800_000_000, 0)
	const maxTTL = 24 * time.Hour
	f.Add(SignLink(secret, NewLink(3, 7, now, time.Hour)))
	f.Add(SignLink(secret, NewLink(3, 0, now.Add(-time.Hour), maxTTL)))
	f.Add("v2.3.7.1800000000.1800003600.")
	f.Add("v2..7.1.2.x")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		l, err := VerifyLink(secret, token, now, maxTTL)
		if err != nil {
			if err != ErrBadLink {
				t.Fatalf("%q: error %v, want ErrBadLink", token, err)
			}
			return
		}
		if SignLink(secret, l) != token {
			t.Fatalf("verified %q, which is not the link it names (%+v)", token, l)
		}
		if !now.Before(l.Expires) || l.UserID == 0 || l.Lifetime() <= 0 || l.Lifetime() > maxTTL || l.Issued.After(now.Add(MaxClockSkew)) {
			t.Fatalf("verified a link that is not live %+v", l)
		}
	})
}
