package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/daemon"
	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/obs"
)

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or update upsell's tables in the panel's database",
		Long: `migrate applies upsell's own migrations (tables prefixed upsell_) and then
each module's migrations (tables prefixed ext_), each tracked in its own
version table. It never touches the panel's tables. Running it twice changes
nothing; replicas running it at once are serialized by a database lock.

Module migrations are asked from the module plugins themselves, so migrate
starts each plugin briefly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, config.ForMigrate)
			if err != nil {
				return err
			}
			return runMigrate(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	config.Register(cmd.Flags())
	status := &cobra.Command{
		Use:   "status",
		Short: "Show applied and pending migrations of the host and each module",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, config.ForMigrate)
			if err != nil {
				return err
			}
			return runMigrateStatus(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	config.Register(status.Flags())
	cmd.AddCommand(status)
	return cmd
}

func runMigrate(ctx context.Context, cfg config.Config, out io.Writer) error {
	db, err := daemon.OpenDB(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := migrate.Host(ctx, db.DB)
	printApplied(out, res)
	if err != nil {
		return fmt.Errorf("host migrations: %w", err)
	}
	mods, err := daemon.ModuleMigrations(ctx, cfg, obs.NewLogger(io.Discard, "error", "json"))
	if err != nil {
		return err
	}
	for _, m := range mods {
		res, err := migrate.Module(ctx, db.DB, m.Module, m.Migrations)
		printApplied(out, res)
		if err != nil {
			return fmt.Errorf("module %s migrations: %w", m.Module, err)
		}
	}
	fmt.Fprintln(out, "migrations up to date")
	return nil
}

func printApplied(out io.Writer, res migrate.Result) {
	for _, a := range res.Applied {
		fmt.Fprintf(out, "applied %s %05d %s (%s)\n", a.Source, a.Version, a.Name, a.Duration.Round(1e6))
	}
}

func runMigrateStatus(ctx context.Context, cfg config.Config, out io.Writer) error {
	db, err := daemon.OpenDB(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	mods, err := daemon.ModuleMigrations(ctx, cfg, obs.NewLogger(io.Discard, "error", "json"))
	if err != nil {
		return err
	}
	sts, err := migrate.Status(ctx, db.DB, mods...)
	if err != nil {
		return err
	}
	for _, s := range sts {
		fmt.Fprintf(out, "%s (%s): %d applied, %d pending\n", s.Source, s.VersionTable, len(s.Applied), len(s.Pending))
		for _, p := range s.Pending {
			fmt.Fprintf(out, "  pending %05d %s\n", p.Version, p.Name)
		}
	}
	return nil
}
