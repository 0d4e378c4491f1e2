package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/builtin"
)

// newPluginCmd is the hidden entry point of first-party plugin processes:
// the host re-executes its own binary as `upsell plugin serve NAME`.
func newPluginCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "plugin",
		Short:  "Run a first-party plugin process (started by the host, not by hand)",
		Hidden: true,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "serve NAME",
		Short: "Serve the first-party plugin NAME over go-plugin on stdout",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			p, ok := builtin.Lookup(args[0])
			if !ok {
				return fmt.Errorf("no first-party plugin named %q", args[0])
			}
			p.Serve()
			return nil
		},
	})
	return cmd
}
