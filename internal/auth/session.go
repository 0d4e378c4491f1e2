package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"
)

// A browser never keeps a link: the host exchanges it on arrival for a
// session cookie and redirects to the same page without it, so the token
// is in no history, bookmark or Referer. The session carries the link's
// user, service and issue time (revoking the user's links ends it too) and
// expires after security.session_ttl, never after the link would have.
//
// The cookie is signed with a key derived from the link secret, so a
// cookie's value is never a valid link and a link never a valid cookie.

// sessionVersion prefixes a session's signed payload.
const sessionVersion = "s1"

// SessionKey derives the key sessions and CSRF tokens are signed with from
// the link secret.
func SessionKey(linkSecret []byte) []byte {
	h := hmac.New(sha256.New, linkSecret)
	h.Write([]byte("upsell browser session key v1"))
	return h.Sum(nil)
}

// NewSession is the session a verified link is exchanged for at now: it
// lasts ttl, cut short at the link's own expiry.
func NewSession(l Link, now time.Time, ttl time.Duration) Link {
	exp := now.Truncate(time.Second).Add(ttl.Truncate(time.Second))
	if exp.After(l.Expires) {
		exp = l.Expires
	}
	return Link{UserID: l.UserID, ServiceID: l.ServiceID, Issued: l.Issued, Expires: exp}
}

// SignSession returns the cookie value for session s:
// "s1.<user>.<service>.<issued>.<expires>.<mac>" under key (SessionKey).
func SignSession(key []byte, s Link) string {
	p := sessionVersion + strings.TrimPrefix(payload(s), linkVersion)
	return p + "." + mac(key, p)
}

// VerifySession checks a cookie value at now: its exact spelling and
// signature, and that it has not expired and does not outlive a link of
// the longest lifetime (maxLinkTTL) issued when its link was. Revocation is
// the caller's second step, as for links.
func VerifySession(key []byte, value string, now time.Time, maxLinkTTL time.Duration) (Link, error) {
	n, ok := signedNumbers(key, sessionVersion, value, 4)
	if !ok {
		return Link{}, ErrBadLink
	}
	s := Link{UserID: n[0], ServiceID: n[1], Issued: time.Unix(int64(n[2]), 0).UTC(), Expires: time.Unix(int64(n[3]), 0).UTC()}
	switch {
	case s.UserID == 0,
		s.Lifetime() <= 0, s.Lifetime() > maxLinkTTL,
		s.Issued.After(now.Add(MaxClockSkew)),
		!now.Before(s.Expires):
		return Link{}, ErrBadLink
	}
	return s, nil
}

// CSRFToken is the token a session's forms carry: a MAC of the cookie
// value, so it changes with every session and cannot be made without the
// key.
func CSRFToken(key []byte, cookieValue string) string {
	return mac(key, "csrf."+cookieValue)
}

// CheckCSRF reports whether token is the session's CSRF token, comparing
// in constant time.
func CheckCSRF(key []byte, cookieValue, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(CSRFToken(key, cookieValue)), []byte(token)) == 1
}
