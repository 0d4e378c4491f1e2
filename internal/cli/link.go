package cli

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/config"
)

func newLinkCmd() *cobra.Command {
	var userID, serviceID uint64
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "link --user ID [--service ID]",
		Short: "Mint a signed, expiring link for one client: one service's add-ons, or (without --service) new orders",
		Long: `link prints the URL a client opens to buy add-ons for one service. It is
signed with security.link_secret (HMAC-SHA256), bound to the user and the
service, and expires after --ttl (default security.link_ttl). The panel-side
bridge in examples/ mints the same links for the "Upgrade resources" button.
Without --service the link is bound to the user alone: it opens the
configurable-options checkout (ordering a new service) and no service.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, config.ForLink)
			if err != nil {
				return err
			}
			if userID == 0 {
				return fmt.Errorf("--user is required")
			}
			if ttl <= 0 {
				ttl = cfg.Security.LinkTTL
			}
			token := auth.SignLink([]byte(cfg.Security.LinkSecret.Reveal()), auth.Link{UserID: userID, ServiceID: serviceID, Expires: time.Now().Add(ttl)})
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
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "how long the link is valid (default security.link_ttl)")
	config.Register(cmd.Flags())
	return cmd
}
