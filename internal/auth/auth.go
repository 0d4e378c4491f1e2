// Package auth verifies who is calling the HTTP API: the admin bearer token
// (constant-time compare) and client links signed with HMAC-SHA256, each
// bound to one user and one service, stamped with the time it was issued,
// expiring, and revocable per user (see revoke.go).
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadLink is returned for a link that is malformed, forged, expired,
// too long-lived or revoked; the caller answers 401 without saying which.
var ErrBadLink = errors.New("invalid or expired link")

// MaxClockSkew is how far in the future a link's issue time may be: the
// panel's bridge stamps links with the panel host's clock.
const MaxClockSkew = time.Minute

// Link is what a signed client link grants: one user and one service from
// Issued until Expires, or, with ServiceID 0, the user alone (to order new
// services), which opens no service's routes. Times are whole seconds.
type Link struct {
	UserID    uint64
	ServiceID uint64
	Issued    time.Time
	Expires   time.Time
}

// NewLink is the link for user and service (0: the user alone) issued at
// now and valid for ttl, in whole seconds.
func NewLink(userID, serviceID uint64, now time.Time, ttl time.Duration) Link {
	issued := now.Truncate(time.Second)
	return Link{UserID: userID, ServiceID: serviceID, Issued: issued, Expires: issued.Add(ttl.Truncate(time.Second))}
}

// Lifetime is how long the link is valid from its issue.
func (l Link) Lifetime() time.Duration { return l.Expires.Sub(l.Issued) }

// linkVersion prefixes the signed payload so the format can change. v1
// links (no issue time) are no longer accepted: they could not be revoked.
const linkVersion = "v2"

func payload(l Link) string {
	b := make([]byte, 0, 64)
	b = append(b, linkVersion...)
	for _, n := range []uint64{l.UserID, l.ServiceID, uint64(l.Issued.Unix()), uint64(l.Expires.Unix())} {
		b = append(b, '.')
		b = strconv.AppendUint(b, n, 10)
	}
	return string(b)
}

func mac(secret []byte, msg string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// SignLink returns the token for l:
// "v2.<user>.<service>.<issued>.<expires>.<mac>", the numbers in decimal
// without sign or leading zero, mac the unpadded base64url HMAC-SHA256 of
// everything before it. This is the one spelling VerifyLink accepts.
func SignLink(secret []byte, l Link) string {
	p := payload(l)
	return p + "." + mac(secret, p)
}

// VerifyLink checks token at now: its exact spelling and signature, that
// its user is set, that it was issued (give or take MaxClockSkew) and has
// not expired, and that its lifetime is at most maxTTL (the configured
// security.link_ttl), whoever minted it. Revocation is the caller's second
// step (Revocations.Check).
func VerifyLink(secret []byte, token string, now time.Time, maxTTL time.Duration) (Link, error) {
	if maxTTL <= 0 {
		return Link{}, ErrBadLink
	}
	n, ok := signedNumbers(secret, linkVersion, token, 4)
	if !ok {
		return Link{}, ErrBadLink
	}
	l := Link{UserID: n[0], ServiceID: n[1], Issued: time.Unix(int64(n[2]), 0).UTC(), Expires: time.Unix(int64(n[3]), 0).UTC()}
	switch {
	case l.UserID == 0,
		l.Lifetime() <= 0, l.Lifetime() > maxTTL,
		l.Issued.After(now.Add(MaxClockSkew)),
		!now.Before(l.Expires):
		return Link{}, ErrBadLink
	}
	return l, nil
}

// signedNumbers reads token, "<version>.<n1>...<nk>.<mac>", for the k
// numbers it signs: each in canonicalUint's one spelling, mac the unpadded
// base64url HMAC-SHA256 under key of everything before it, compared in
// constant time. Every signed value of this package (links, sessions,
// admin links) is read here, so exactly one spelling of each verifies.
func signedNumbers(key []byte, version, token string, k int) ([]uint64, bool) {
	if len(key) == 0 {
		return nil, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != k+2 || parts[0] != version {
		return nil, false
	}
	n := make([]uint64, k)
	for i, s := range parts[1 : k+1] {
		v, ok := canonicalUint(s)
		if !ok {
			return nil, false
		}
		n[i] = v
	}
	signed := token[:len(token)-len(parts[k+1])-1]
	if subtle.ConstantTimeCompare([]byte(mac(key, signed)), []byte(parts[k+1])) != 1 {
		return nil, false
	}
	return n, true
}

// maxLinkNumber bounds every number in a token: a time beyond it does not
// fit int64 seconds, and an id beyond it is no panel's.
const maxLinkNumber = 1<<63 - 1

// canonicalUint parses s, a decimal number with no sign, no leading zero
// (but "0" itself) and at most 19 digits.
func canonicalUint(s string) (uint64, bool) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > maxLinkNumber {
		return 0, false
	}
	return v, true
}

// AdminToken reports whether the Authorization header carries the admin
// token, comparing in constant time.
func AdminToken(header, token string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
