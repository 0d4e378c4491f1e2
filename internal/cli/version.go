package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the upsell version, revision and Go version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "upsell", buildinfo.String())
		},
	}
}
