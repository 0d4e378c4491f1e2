// Package auth verifies who is calling the HTTP API: the admin bearer token
// (constant-time compare) and client links signed with HMAC-SHA256, each
// bound to one user and one service and expiring.
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadLink is returned for a link that is malformed, forged or expired; the
// caller answers 401 without saying which.
var ErrBadLink = errors.New("invalid or expired link")

// Link is what a signed client link grants: one user and one service until
// Expires, or, with ServiceID 0, the user alone (to order new services),
// which opens no service's routes.
type Link struct {
	UserID    uint64
	ServiceID uint64
	Expires   time.Time
}

// linkVersion prefixes the signed payload so the format can change.
const linkVersion = "v1"

func payload(l Link) string {
	return fmt.Sprintf("%s.%d.%d.%d", linkVersion, l.UserID, l.ServiceID, l.Expires.Unix())
}

func mac(secret []byte, msg string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// SignLink returns the token for l: "v1.<user>.<service>.<expires>.<mac>".
func SignLink(secret []byte, l Link) string {
	p := payload(l)
	return p + "." + mac(secret, p)
}

// VerifyLink checks token's signature and expiry at now.
func VerifyLink(secret []byte, token string, now time.Time) (Link, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 5 || parts[0] != linkVersion || len(secret) == 0 {
		return Link{}, ErrBadLink
	}
	user, err1 := strconv.ParseUint(parts[1], 10, 64)
	svc, err2 := strconv.ParseUint(parts[2], 10, 64)
	exp, err3 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || user == 0 {
		return Link{}, ErrBadLink
	}
	l := Link{UserID: user, ServiceID: svc, Expires: time.Unix(exp, 0)}
	if !hmac.Equal([]byte(mac(secret, payload(l))), []byte(parts[4])) {
		return Link{}, ErrBadLink
	}
	if !now.Before(l.Expires) {
		return Link{}, ErrBadLink
	}
	return l, nil
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
