package auth

import (
	"strings"
	"testing"
	"time"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	testNow    = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
)

const testMaxTTL = 24 * time.Hour

func TestLinkAccepted(t *testing.T) {
	tests := []struct {
		name string
		link Link
	}{
		{"a service's link issued now", NewLink(3, 7, testNow, time.Hour)},
		{"a user's link (service 0)", NewLink(3, 0, testNow, time.Hour)},
		{"issued an hour ago, a second left", Link{UserID: 3, ServiceID: 7, Issued: testNow.Add(-time.Hour), Expires: testNow.Add(time.Second)}},
		{"exactly the longest lifetime", NewLink(3, 7, testNow, testMaxTTL)},
		{"issued within the clock skew ahead", NewLink(3, 7, testNow.Add(MaxClockSkew), time.Hour)},
		{"ids as large as a token holds", NewLink(1<<63-1, 1<<63-1, testNow, time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := SignLink(testSecret, tt.link)
			got, err := VerifyLink(testSecret, tok, testNow, testMaxTTL)
			if err != nil || got.UserID != tt.link.UserID || got.ServiceID != tt.link.ServiceID || !got.Issued.Equal(tt.link.Issued) || !got.Expires.Equal(tt.link.Expires) {
				t.Fatalf("%q: got %+v, %v; want %+v", tok, got, err, tt.link)
			}
		})
	}
}

// TestLinkRefused: every form a token can take but the one SignLink writes
// for a live link is refused, with the same error.
func TestLinkRefused(t *testing.T) {
	good := NewLink(3, 7, testNow, time.Hour)
	iss, exp := "1795262400", "1795266000" // testNow and an hour later
	if p := payload(good); p != "v2.3.7."+iss+"."+exp {
		t.Fatalf("payload %q", p)
	}
	// signed signs an arbitrary payload with the right secret: the forms a
	// bridge with a bug (or an attacker holding a valid link's pieces)
	// might produce.
	signed := func(p string) string { return p + "." + mac(testSecret, p) }
	goodTok := SignLink(testSecret, good)
	goodMAC := goodTok[strings.LastIndexByte(goodTok, '.')+1:]
	tests := []struct {
		name, token string
	}{
		// Non-canonical spellings of the good link's payload, each with the
		// good link's MAC (what VerifyLink computes if it re-formats what it
		// parsed: the bug make fuzz found) and signed as spelled.
		{"leading zero in the user, the good MAC", "v2.03.7." + iss + "." + exp + "." + goodMAC},
		{"leading zero in the user, signed", signed("v2.03.7." + iss + "." + exp)},
		{"leading zero in the service, the good MAC", "v2.3.07." + iss + "." + exp + "." + goodMAC},
		{"leading zero in the service, signed", signed("v2.3.07." + iss + "." + exp)},
		{"leading zero in the issue time, the good MAC", "v2.3.7.0" + iss + "." + exp + "." + goodMAC},
		{"leading zero in the issue time, signed", signed("v2.3.7.0" + iss + "." + exp)},
		{"leading zero in the expiry, the good MAC", "v2.3.7." + iss + ".0" + exp + "." + goodMAC},
		{"leading zero in the expiry, signed", signed("v2.3.7." + iss + ".0" + exp)},
		{"service written 00, the good MAC", "v2.3.00." + iss + "." + exp + "." + goodMAC},
		{"service written 00, signed", signed("v2.3.00." + iss + "." + exp)},
		{"plus sign, the good MAC", "v2.+3.7." + iss + "." + exp + "." + goodMAC},
		{"plus sign, signed", signed("v2.+3.7." + iss + "." + exp)},
		{"minus sign, the good MAC", "v2.3.-7." + iss + "." + exp + "." + goodMAC},
		{"minus sign, signed", signed("v2.3.-7." + iss + "." + exp)},
		{"underscore in a number, the good MAC", "v2.3.7.1_795262400." + exp + "." + goodMAC},
		{"underscore in a number, signed", signed("v2.3.7.1_795262400." + exp)},
		{"hex number, the good MAC", "v2.0x3.7." + iss + "." + exp + "." + goodMAC},
		{"hex number, signed", signed("v2.0x3.7." + iss + "." + exp)},
		{"space in a number, the good MAC", "v2. 3.7." + iss + "." + exp + "." + goodMAC},
		{"space in a number, signed", signed("v2. 3.7." + iss + "." + exp)},
		{"empty number, the good MAC", "v2.3.." + iss + "." + exp + "." + goodMAC},
		{"empty number, signed", signed("v2.3.." + iss + "." + exp)},
		{"number beyond int64, the good MAC", "v2.9223372036854775808.7." + iss + "." + exp + "." + goodMAC},
		{"number beyond int64, signed", signed("v2.9223372036854775808.7." + iss + "." + exp)},
		{"20 digits, the good MAC", "v2.10000000000000000000.7." + iss + "." + exp + "." + goodMAC},
		{"20 digits, signed", signed("v2.10000000000000000000.7." + iss + "." + exp)},
		{"upper-case version, the good MAC", "V2.3.7." + iss + "." + exp + "." + goodMAC},
		{"upper-case version, signed", signed("V2.3.7." + iss + "." + exp)},
		{"v1 link (no issue time), the good MAC", "v1.3.7." + exp + "." + goodMAC},
		{"v1 link (no issue time), signed", signed("v1.3.7." + exp)},
		{"extra field, the good MAC", "v2.3.7." + iss + "." + exp + ".0" + "." + goodMAC},
		{"extra field, signed", signed("v2.3.7." + iss + "." + exp + ".0")},
		// The MAC's spelling.
		{"padded MAC", goodTok + "="},
		{"standard base64 MAC", "v2.3.7." + iss + "." + exp + "." + strings.NewReplacer("-", "+", "_", "/").Replace(goodMAC) + "+/"},
		{"MAC with a trailing dot", goodTok + "."},
		{"MAC with a trailing newline", goodTok + "\n"},
		{"empty MAC", "v2.3.7." + iss + "." + exp + "."},
		{"MAC changed", goodTok[:len(goodTok)-2] + "AA"},
		// Another link's MAC.
		{"other service, same MAC", "v2.3.8." + iss + "." + exp + "." + goodMAC},
		{"other user, same MAC", "v2.4.7." + iss + "." + exp + "." + goodMAC},
		{"later expiry, same MAC", "v2.3.7." + iss + ".1795269600." + goodMAC},
		{"wrong secret", SignLink([]byte("another secret another secret 00"), good)},
		// Well spelled and signed, but not a live link.
		{"expired", SignLink(testSecret, Link{UserID: 3, ServiceID: 7, Issued: testNow.Add(-2 * time.Hour), Expires: testNow})},
		{"lifetime a second above the maximum", SignLink(testSecret, NewLink(3, 7, testNow, testMaxTTL+time.Second))},
		{"lifetime of 30 days", SignLink(testSecret, NewLink(3, 7, testNow.Add(-time.Hour), 30*24*time.Hour))},
		{"expires before it is issued", SignLink(testSecret, Link{UserID: 3, ServiceID: 7, Issued: testNow.Add(time.Hour), Expires: testNow.Add(time.Minute)})},
		{"zero lifetime", SignLink(testSecret, Link{UserID: 3, ServiceID: 7, Issued: testNow, Expires: testNow})},
		{"issued beyond the clock skew", SignLink(testSecret, NewLink(3, 7, testNow.Add(MaxClockSkew+time.Second), time.Hour))},
		{"user 0", SignLink(testSecret, NewLink(0, 7, testNow, time.Hour))},
		{"issued before 1970", SignLink(testSecret, Link{UserID: 3, ServiceID: 7, Issued: time.Unix(-1, 0), Expires: testNow.Add(time.Hour)})},
		// Not a token.
		{"empty", ""},
		{"dots only", "....."},
		{"truncated", goodTok[:len(goodTok)-len(goodMAC)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if l, err := VerifyLink(testSecret, tt.token, testNow, testMaxTTL); err != ErrBadLink {
				t.Errorf("%q: got %+v, %v; want ErrBadLink", tt.token, l, err)
			}
		})
	}
	// The good link verifies: the refusals above are about their forms.
	if _, err := VerifyLink(testSecret, goodTok, testNow, testMaxTTL); err != nil {
		t.Fatalf("good link %q: %v", goodTok, err)
	}
}

func TestLinkRefusedWithoutConfiguration(t *testing.T) {
	tok := SignLink(testSecret, NewLink(3, 7, testNow, time.Hour))
	tests := []struct {
		name   string
		secret []byte
		maxTTL time.Duration
	}{
		{"no secret", nil, testMaxTTL},
		{"no maximum lifetime", testSecret, 0},
		{"a maximum below the link's lifetime", testSecret, time.Hour - time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := VerifyLink(tt.secret, tok, testNow, tt.maxTTL); err != ErrBadLink {
				t.Errorf("got %v, want ErrBadLink", err)
			}
		})
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
