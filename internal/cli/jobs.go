package cli

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/config"
)

func newJobsCmd() *cobra.Command {
	var server, state string
	var limit int
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List background jobs (paid invoices, reconcile rounds) and retry dead ones",
		Long: `jobs lists the daemon's jobs, newest first, optionally of one state
(pending, running, done, dead). A job that failed max_attempts times is dead:
fix the cause (a panel down, a wrong key) and run "upsell jobs retry ID".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			q := url.Values{}
			if state != "" {
				q.Set("state", state)
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			return c.do(cmd, http.MethodGet, "/api/v1/admin/jobs?"+q.Encode(), nil)
		},
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "base URL of the running daemon")
	cmd.Flags().StringVar(&state, "state", "", "pending, running, done or dead")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many (default 100)")
	config.Register(cmd.PersistentFlags())
	cmd.AddCommand(&cobra.Command{
		Use: "retry ID", Short: "Put a dead job back in the queue", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			return c.do(cmd, http.MethodPost, "/api/v1/admin/jobs/"+url.PathEscape(args[0])+"/retry", nil)
		},
	})
	return cmd
}
