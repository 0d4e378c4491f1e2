package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"time"
)

// Admin sign-in. The panel's bridge signs a short-lived admin link for a
// panel admin allowed into the console; the host exchanges it for an admin
// session cookie, as for clients. Without the panel, the admin token signs
// an admin in (admin id 0).
//
// Admin links are signed with a key derived from the link secret (the
// bridge has it already), under a label of their own: a client link never
// verifies as an admin link, nor the other way round.

// MaxAdminLinkTTL is the longest an admin link may live: it is clicked at
// once, from the panel's navigation.
const MaxAdminLinkTTL = 5 * time.Minute

// AdminLink grants the console to a panel admin from Issued until Expires.
type AdminLink struct {
	AdminID uint64
	Issued  time.Time
	Expires time.Time
}

const (
	adminLinkVersion    = "al1"
	adminSessionVersion = "as1"
)

// AdminLinkKey derives the admin links' key from the link secret (the raw
// 32 bytes of HMAC-SHA256(link_secret, "upsell admin link v1"), as the
// bridge computes it).
func AdminLinkKey(linkSecret []byte) []byte {
	h := hmac.New(sha256.New, linkSecret)
	h.Write([]byte("upsell admin link v1"))
	return h.Sum(nil)
}

// NewAdminLink is the link for adminID issued at now, valid for ttl.
func NewAdminLink(adminID uint64, now time.Time, ttl time.Duration) AdminLink {
	issued := now.Truncate(time.Second)
	return AdminLink{AdminID: adminID, Issued: issued, Expires: issued.Add(ttl.Truncate(time.Second))}
}

func adminPayload(version string, l AdminLink) string {
	return version + "." + strconv.FormatUint(l.AdminID, 10) + "." + strconv.FormatInt(l.Issued.Unix(), 10) + "." + strconv.FormatInt(l.Expires.Unix(), 10)
}

// SignAdminLink is "al1.<admin>.<issued>.<expires>.<mac>" under key
// (AdminLinkKey).
func SignAdminLink(key []byte, l AdminLink) string {
	p := adminPayload(adminLinkVersion, l)
	return p + "." + mac(key, p)
}

// VerifyAdminLink checks an admin link at now: spelling, signature, an
// admin id, issued (give or take MaxClockSkew), not expired, and a lifetime
// of at most MaxAdminLinkTTL.
func VerifyAdminLink(key []byte, token string, now time.Time) (AdminLink, error) {
	l, err := verifyAdmin(key, adminLinkVersion, token)
	if err != nil || l.AdminID == 0 {
		return AdminLink{}, ErrBadLink
	}
	life := l.Expires.Sub(l.Issued)
	if life <= 0 || life > MaxAdminLinkTTL || l.Issued.After(now.Add(MaxClockSkew)) || !now.Before(l.Expires) {
		return AdminLink{}, ErrBadLink
	}
	return l, nil
}

// SignAdminSession is the admin session cookie's value for s under the
// session key (SessionKey): "as1.<admin>.<issued>.<expires>.<mac>".
func SignAdminSession(key []byte, s AdminLink) string {
	p := adminPayload(adminSessionVersion, s)
	return p + "." + mac(key, p)
}

// VerifyAdminSession checks an admin session cookie at now: signature, not
// expired, and no longer than maxTTL (security.admin_session_ttl). Admin id
// 0 is an admin signed in with the token.
func VerifyAdminSession(key []byte, value string, now time.Time, maxTTL time.Duration) (AdminLink, error) {
	s, err := verifyAdmin(key, adminSessionVersion, value)
	if err != nil {
		return AdminLink{}, err
	}
	life := s.Expires.Sub(s.Issued)
	if life <= 0 || life > maxTTL || s.Issued.After(now.Add(MaxClockSkew)) || !now.Before(s.Expires) {
		return AdminLink{}, ErrBadLink
	}
	return s, nil
}

func verifyAdmin(key []byte, version, token string) (AdminLink, error) {
	n, ok := signedNumbers(key, version, token, 3)
	if !ok {
		return AdminLink{}, ErrBadLink
	}
	return AdminLink{AdminID: n[0], Issued: time.Unix(int64(n[1]), 0).UTC(), Expires: time.Unix(int64(n[2]), 0).UTC()}, nil
}

// Actor names who acted in the audit log: "admin:7" for panel admin 7,
// "admin:token" for the admin token.
func (l AdminLink) Actor() string {
	if l.AdminID == 0 {
		return "admin:token"
	}
	return "admin:" + strconv.FormatUint(l.AdminID, 10)
}
