package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/upsell-io/upsell/internal/auth"
)

// TestRevokeLinksRoute: the admin revokes the seeded user's links through
// the daemon; a link issued before is refused at once (401), one issued
// after opens the page; an unknown or malformed user, or a caller without
// the admin token, is refused and writes nothing.
func TestRevokeLinksRoute(t *testing.T) {
	e := newEnv(t)
	user := strconv.FormatUint(e.seeded.UserID, 10)
	route := "/api/v1/admin/users/" + user + "/revoke-links"
	before := map[string]string{"X-Upsell-Link": e.link(e.seeded.UserID, e.seeded.ServiceID, time.Hour)}
	if r := e.do("GET", "/m/microupsell/packages", before, nil); r.code != http.StatusOK {
		t.Fatalf("link before the revocation: %d %s", r.code, r.body)
	}
	revocations := func() int {
		var n int
		if err := e.db.Get(&n, "SELECT COUNT(*) FROM upsell_link_revocations"); err != nil {
			t.Fatal(err)
		}
		return n
	}

	refused := []struct {
		name   string
		path   string
		header map[string]string
		code   int
	}{
		{"no admin token", route, nil, http.StatusUnauthorized},
		{"a client link instead of the admin token", route, before, http.StatusUnauthorized},
		{"unknown user", "/api/v1/admin/users/999999/revoke-links", e.admin(), http.StatusNotFound},
		{"user 0", "/api/v1/admin/users/0/revoke-links", e.admin(), http.StatusUnprocessableEntity},
		{"not a number", "/api/v1/admin/users/x1/revoke-links", e.admin(), http.StatusUnprocessableEntity},
	}
	for _, tt := range refused {
		if r := e.do("POST", tt.path, tt.header, nil); r.code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.name, r.code, r.body, tt.code)
		}
	}
	if n := revocations(); n != 0 {
		t.Fatalf("refused revocations wrote %d rows", n)
	}
	if r := e.do("GET", "/m/microupsell/packages", before, nil); r.code != http.StatusOK {
		t.Fatalf("link after refused revocations: %d %s", r.code, r.body)
	}

	r := e.do("POST", route, e.admin(), nil)
	var out struct {
		UserID    uint64 `json:"user_id"`
		RevokedAt string `json:"revoked_at"`
	}
	r.decode(t, &out)
	revokedAt, err := time.Parse(time.RFC3339, out.RevokedAt)
	if r.code != http.StatusOK || out.UserID != e.seeded.UserID || err != nil {
		t.Fatalf("revoke: %d %s (%v)", r.code, r.body, err)
	}
	if c := e.do("GET", "/m/microupsell/packages", before, nil).code; c != http.StatusUnauthorized {
		t.Fatalf("link issued before the revocation: %d, want 401", c)
	}
	// Issued the second after the revocation (within the clock skew the
	// daemon allows): accepted, with no waiting.
	after := auth.SignLink([]byte(e.cfg.Security.LinkSecret.Reveal()), auth.NewLink(e.seeded.UserID, e.seeded.ServiceID, revokedAt.Add(time.Second), time.Hour))
	if r := e.do("GET", "/m/microupsell/packages", map[string]string{"X-Upsell-Link": after}, nil); r.code != http.StatusOK {
		t.Fatalf("link issued after the revocation: %d %s", r.code, r.body)
	}
	if n := revocations(); n != 1 {
		t.Fatalf("%d revocation rows, want 1", n)
	}
}
