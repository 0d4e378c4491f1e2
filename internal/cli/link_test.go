package cli

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/testdb"
)

// TestLinkCommand: `upsell link` prints a link that verifies for the user's
// own service, and refuses (an error, so a non-zero exit, and no link) a
// service that is another user's or does not exist, an unknown user, and a
// --ttl above security.link_ttl.
func TestLinkCommand(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	if err := schema.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	seeded, err := schema.Seed(ctx, db, schema.SeedOptions{Now: time.Now(), ServicePrice: decimal.RequireFromString("10.00")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := schema.AddUser(ctx, db, "other@example.com", "Other", "User")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := schema.AddService(ctx, db, schema.ServiceSpec{
		OrderID: seeded.OrderID, UserID: other, ProductID: seeded.ProductID, PlanID: seeded.PlanID,
		Currency: seeded.Currency, Price: decimal.RequireFromString("10.00"), ExpiresAt: time.Now().AddDate(0, 1, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("ab", 32)
	cfgPath := filepath.Join(t.TempDir(), "upsell.yaml")
	cfg := "database:\n  dsn: \"" + db.DSN + "\"\nhttp:\n  public_url: \"https://upsell.example\"\nsecurity:\n  link_secret: \"" + secret + "\"\n  link_ttl: 1h\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		root := NewRoot(&out, &errOut)
		root.SetArgs(append([]string{"link", "--config", cfgPath}, args...))
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	id := func(n uint64) string { return strconv.FormatUint(n, 10) }

	t.Run("own service", func(t *testing.T) {
		out, err := run("--user", id(seeded.UserID), "--service", id(seeded.ServiceID), "--ttl", "30m")
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(strings.TrimSpace(out))
		if err != nil || u.Path != "/m/microupsell/packages" {
			t.Fatalf("printed %q", out)
		}
		l, err := auth.VerifyLink([]byte(secret), u.Query().Get("link"), time.Now(), time.Hour)
		if err != nil || l.UserID != seeded.UserID || l.ServiceID != seeded.ServiceID || l.Lifetime() != 30*time.Minute {
			t.Fatalf("link %q: %+v %v", out, l, err)
		}
	})
	t.Run("user's link", func(t *testing.T) {
		out, err := run("--user", id(other))
		if err != nil || !strings.Contains(out, "/m/configoptions/checkout?link=") {
			t.Fatalf("printed %q, %v", out, err)
		}
	})

	refused := []struct {
		name string
		args []string
		want string
	}{
		{"another user's service", []string{"--user", id(seeded.UserID), "--service", id(foreign)}, "service " + id(foreign) + " is not user " + id(seeded.UserID) + "'s"},
		{"the owner's service, named for another user", []string{"--user", id(other), "--service", id(seeded.ServiceID)}, "is not user " + id(other) + "'s"},
		{"a service that does not exist", []string{"--user", id(seeded.UserID), "--service", "999999"}, "service 999999 is not user"},
		{"an unknown user", []string{"--user", "999999"}, "no user 999999 in the panel"},
		{"a lifetime above security.link_ttl", []string{"--user", id(seeded.UserID), "--service", id(seeded.ServiceID), "--ttl", "61m"}, "longer than security.link_ttl"},
		{"no user", []string{"--service", id(seeded.ServiceID)}, "--user is required"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if out != "" {
				t.Fatalf("printed %q with the error", out)
			}
		})
	}
	if _, err := run("--user", id(seeded.UserID), "--service", id(foreign)); !errors.Is(err, ErrNotUsersService) {
		t.Fatalf("foreign service: %v, want ErrNotUsersService", err)
	}
}
