package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/config"
	"github.com/upsell-io/upsell/internal/supervisor"
)

func newPluginsCmd() *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List plugins and their state in the running daemon",
		Long: `plugins asks the running daemon (--server, default the configured listen
address) for each plugin's state: running, restarting, failed (gave up after
too many restarts), with its pid, version, restart count and last error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, config.ForAnyCommand)
			if err != nil {
				return err
			}
			if server == "" {
				server = "http://" + cfg.HTTP.Listen
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, server+"/api/v1/admin/plugins", nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+cfg.Security.AdminToken.Reveal())
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				return fmt.Errorf("ask the daemon at %s: %w", server, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				return fmt.Errorf("daemon answered %s: %s", resp.Status, b)
			}
			var body struct{ Plugins []supervisor.Status }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				return fmt.Errorf("decode plugin list: %w", err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tSTATE\tPID\tRESTARTS\tLAST ERROR")
			for _, p := range body.Plugins {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", p.Name, p.Kind, p.Version, p.State, p.PID, p.Restarts, p.LastError)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "base URL of the running daemon")
	config.Register(cmd.Flags())
	cmd.AddCommand(&cobra.Command{
		Use:   "hash FILE",
		Short: "Print the sha256 to register a third-party plugin binary with",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sum, err := supervisor.FileSHA256(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), sum)
			return nil
		},
	})
	return cmd
}
