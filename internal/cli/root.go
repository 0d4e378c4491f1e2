// Package cli is the upsell command line: one cobra command per job a
// provider runs (serve, migrate, plugins, demo, version). Configuration comes
// from flags, then UPSELL_* environment variables, then the config file.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/obs"
)

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot(os.Stdout, os.Stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "upsell:", obs.Redact(err.Error()))
		return 1
	}
	return 0
}

// NewRoot builds the command tree writing to out and errOut.
func NewRoot(out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "upsell",
		Short: "Sell resource add-ons and configurable options next to your billing panel",
		Long: `upsell runs next to a billing panel (Paymenter) and sells extra resources
for running services: a client pays the prorated amount for the rest of the
cycle, the service's recurring price grows, and the new limits are applied to
the game server through its panel's API within seconds.

Feature modules and resource adapters run as separate plugin processes; the
host owns the panel's database, detects paid invoices and serves the HTTP API.

Configuration is read from flags, then UPSELL_* environment variables, then
the file given by --config (see examples/upsell.example.yaml).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(
		newServeCmd(),
		newMigrateCmd(),
		newPluginsCmd(),
		newPluginCmd(),
		newDemoCmd(),
		newVersionCmd(),
		newLinkCmd(),
		newPackagesCmd(),
		newOrdersCmd(),
		newReconcileCmd(),
		newJobsCmd(),
		newConfigOptionsCmd(),
	)
	return root
}

// loadConfig registers nothing: each command registers the flags it uses
// with config.Register, then loads and validates for its purpose.
func loadConfig(cmd *cobra.Command, purpose config.Purpose) (config.Config, error) {
	cfg, err := config.Load(cmd.Flags())
	if err != nil {
		return config.Config{}, err
	}
	if err := cfg.Validate(purpose); err != nil {
		return config.Config{}, err
	}
	for _, s := range cfg.Secrets() {
		obs.RegisterSecret(s)
	}
	return cfg, nil
}
