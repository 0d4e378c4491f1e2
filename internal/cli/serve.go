package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/buildinfo"
	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/daemon"
	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/obs"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: plugins, HTTP API, paid-invoice intake",
		Long: `serve starts every plugin (first-party ones from this binary, third-party
ones from the plugin directory, checked against their sha256 at every launch),
restarts a crashed plugin with backoff and gives up after plugins.max_restarts,
and serves the HTTP API with /healthz and /readyz (failing while the database
or a plugin is down). Prometheus /metrics is served on http.metrics_listen when that is set,
else on the API's address to requests bearing the admin token. Logs are JSON
on stderr; secrets never appear.

SIGTERM or Ctrl-C stops plugins gracefully; if the host is killed outright,
the kernel kills its plugins too (Linux) so none is left behind.

Run "upsell migrate" first: serve refuses to start on an outdated schema.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, config.ForServe)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			logger := obs.NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
			for _, w := range cfg.Warnings {
				logger.Warn(w)
			}
			logger.Info("starting upsell", "version", buildinfo.String(), "config", cfg.Redacted())
			db, err := daemon.OpenDB(ctx, cfg.Database)
			if err != nil {
				return err
			}
			if err := schemaUpToDate(ctx, db); err != nil {
				db.Close()
				return err
			}
			metrics := obs.NewMetrics()
			d, err := daemon.New(ctx, cfg, db, logger, metrics)
			if err != nil {
				db.Close()
				return err
			}
			defer d.Close()
			if err := d.StartPlugins(ctx); err != nil {
				return err
			}
			intakeCtx, stopIntake := context.WithCancel(ctx)
			intake := d.RunIntake(intakeCtx, 2)
			defer intake.Wait()
			defer stopIntake()
			logger.Info("listening", "addr", cfg.HTTP.Listen, "metrics_addr", cfg.HTTP.MetricsListen)
			return d.ServeHTTP(ctx)
		},
	}
	config.Register(cmd.Flags())
	return cmd
}

// schemaUpToDate refuses to serve on a database with pending host
// migrations: a replica from a newer release must not run on an old schema.
func schemaUpToDate(ctx context.Context, db *sqlx.DB) error {
	sts, err := migrate.Status(ctx, db.DB)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	for _, s := range sts {
		if len(s.Pending) > 0 {
			return fmt.Errorf("%d %s migrations pending: run \"upsell migrate\" first", len(s.Pending), s.Source)
		}
	}
	return nil
}
