package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/migrate"
	"github.com/upsell-io/upsell/internal/supervisor"
)

// ModuleMigrations asks every configured module for its migrations by
// starting it briefly (migrations run before any module is configured).
func ModuleMigrations(ctx context.Context, cfg config.Config, logger *slog.Logger) ([]migrate.ModuleMigrations, error) {
	d := &Daemon{Config: cfg, Logger: logger}
	specs, err := d.PluginSpecs()
	if err != nil {
		return nil, err
	}
	opts := supervisor.Options{PluginDir: cfg.Plugins.Dir, SocketDir: cfg.Plugins.SocketDir, StartTimeout: cfg.Plugins.StartTimeout, Logger: pluginLogger(cfg.Log.Level)}
	var out []migrate.ModuleMigrations
	for _, spec := range specs {
		if spec.Kind != hostapi.KindModule {
			continue
		}
		info, err := supervisor.DescribeModule(ctx, opts, spec)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", spec.Name, err)
		}
		out = append(out, migrate.ModuleMigrations{Module: info.Name, Migrations: info.Migrations})
	}
	return out, nil
}
