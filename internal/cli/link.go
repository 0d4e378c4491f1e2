package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/adapters/paymenter"
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/daemon"
)

// ErrNotUsersService is returned by `upsell link` for a service that is not
// the user's (or does not exist): no link is printed.
var ErrNotUsersService = errors.New("the service is not the user's")

func newLinkCmd() *cobra.Command {
	var userID, serviceID uint64
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "link --user ID [--service ID]",
		Short: "Mint a signed, expiring link for one client: one service's add-ons, or (without --service) new orders",
		Long: `link prints the URL a client opens to buy add-ons for one service. It is
signed with security.link_secret (HMAC-SHA256), bound to the user and the
service, and expires after --ttl (default and longest: security.link_ttl).
It reads the panel first and refuses a service that is not the user's. The
panel-side bridge in examples/ mints the same links for the "Upgrade
resources" button. Without --service the link is bound to the user alone:
it opens the configurable-options checkout (ordering a new service) and no
service.

"upsell link revoke --user ID" refuses every link of that user minted so far.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, config.ForLink)
			if err != nil {
				return err
			}
			if userID == 0 {
				return fmt.Errorf("--user is required")
			}
			switch {
			case ttl == 0:
				ttl = cfg.Security.LinkTTL
			case ttl < time.Second:
				return fmt.Errorf("--ttl %s: a link must live at least 1s", ttl)
			case ttl > cfg.Security.LinkTTL:
				return fmt.Errorf("--ttl %s is longer than security.link_ttl (%s), the longest the daemon accepts", ttl, cfg.Security.LinkTTL)
			}
			if err := checkLinkTarget(cmd.Context(), cfg, userID, serviceID); err != nil {
				return err
			}
			token := auth.SignLink([]byte(cfg.Security.LinkSecret.Reveal()), auth.NewLink(userID, serviceID, time.Now(), ttl))
			base := strings.TrimRight(cfg.HTTP.PublicURL, "/")
			if serviceID == 0 {
				// A user's link: it opens the configurable-options checkout.
				fmt.Fprintf(cmd.OutOrStdout(), "%s/m/configoptions/checkout?link=%s\n", base, url.QueryEscape(token))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/m/microupsell/packages?link=%s\n", base, url.QueryEscape(token))
			return nil
		},
	}
	cmd.Flags().Uint64Var(&userID, "user", 0, "panel user id the link is bound to")
	cmd.Flags().Uint64Var(&serviceID, "service", 0, "panel service id the link is bound to")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "how long the link is valid (default and longest: security.link_ttl)")
	config.Register(cmd.Flags())
	cmd.AddCommand(newLinkRevokeCmd())
	return cmd
}

// checkLinkTarget reads the panel: the user must exist and, when a service
// is named, own it.
func checkLinkTarget(ctx context.Context, cfg config.Config, userID, serviceID uint64) error {
	db, err := daemon.OpenDB(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	panel, err := paymenter.New(ctx, db, paymenter.Config{BaseURL: cfg.Panel.BaseURL})
	if err != nil {
		return fmt.Errorf("paymenter binding: %w", err)
	}
	if serviceID == 0 {
		if _, err := panel.User(ctx, userID); err != nil {
			if hostapi.CodeOf(err) == hostapi.CodeNotFound {
				return fmt.Errorf("no user %d in the panel", userID)
			}
			return err
		}
		return nil
	}
	svc, err := panel.Service(ctx, serviceID)
	if err != nil && hostapi.CodeOf(err) != hostapi.CodeNotFound {
		return err
	}
	if err != nil || svc.UserID != userID {
		// The same answer whether the service is missing or another
		// user's: the link would open neither.
		return fmt.Errorf("service %d is not user %d's: %w", serviceID, userID, ErrNotUsersService)
	}
	return nil
}

func newLinkRevokeCmd() *cobra.Command {
	var server string
	var userID uint64
	cmd := &cobra.Command{
		Use:   "revoke --user ID",
		Short: "Refuse every link of a user minted so far, on every replica",
		Long: `revoke asks the running daemon to refuse every client link of the user
issued up to now (to the second), whoever minted it (this command, a panel
bridge). The daemon that answers enforces it at once, the other replicas
within 5 seconds. Links minted afterwards work. An unknown user is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if userID == 0 {
				return fmt.Errorf("--user is required")
			}
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			return c.do(cmd, http.MethodPost, "/api/v1/admin/users/"+strconv.FormatUint(userID, 10)+"/revoke-links", nil)
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "base URL of the running daemon")
	cmd.Flags().Uint64Var(&userID, "user", 0, "panel user id whose links to revoke")
	return cmd
}
