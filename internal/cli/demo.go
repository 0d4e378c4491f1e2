//go:build !nodemo

package cli

import (
	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/demo"
)

func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run the whole money path end to end with nothing installed",
		Long: `demo starts an embedded MySQL-compatible engine holding Paymenter's tables
with a seeded customer and an active monthly service mid-cycle, a Pterodactyl
Application API simulator on loopback, and the real host with its real plugin
processes. It walks quote -> invoice -> payment -> limits applied, printing
each step with its amounts, and exits non-zero if the end state is wrong.
No MySQL, panel or network is needed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demo.Run(cmd.Context(), cmd.OutOrStdout())
		},
	}
}
