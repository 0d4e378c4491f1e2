//go:build !nodemo

package cli

import (
	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var opts demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole money path end to end with nothing installed",
		Long: `demo starts an embedded MySQL-compatible engine holding Paymenter's tables
with a seeded customer and an active monthly service mid-cycle, a Pterodactyl
Application API simulator on loopback, and the real host with its real plugin
processes. It walks quote -> invoice -> payment -> limits applied, printing
each step with its amounts, and exits non-zero if the end state is wrong.
No MySQL, panel or network is needed.

With --serve it then keeps the daemon up and prints the addresses of the
client pages (a stand-in client area that signs links as the panel's bridge
does, the add-on shop, the configurator, a checkout) to click through in a
browser; Ctrl-C stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Serve, "serve", false, "keep the daemon up after the walk, for a browser")
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "address to serve on (default 127.0.0.1:8080 with --serve, else a free loopback port)")
	return cmd
}
