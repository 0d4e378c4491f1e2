package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/config"
)

const configoptionsPath = "/m/configoptions"

func newConfigOptionsCmd() *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "configoptions",
		Short: "Manage configurable-option groups and Build-Your-Own configurators",
		Long: `configoptions manages option groups through the running daemon's admin API:
list them, show one, create or replace one from a JSON file, delete one (refused
while services use its options), load the Build-Your-Own seed groups (VPS,
MySQL, game server), and price a selection the way a pricing page does.`,
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "base URL of the running daemon")
	config.Register(cmd.PersistentFlags())
	admin := func(method, path string, body func() (any, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			var b any
			if body != nil {
				if b, err = body(); err != nil {
					return err
				}
			}
			p := path
			if len(args) > 0 {
				p += "/" + url.PathEscape(args[0])
			}
			return c.do(cmd, method, configoptionsPath+p, b)
		}
	}
	var mode, file string
	fromFile := func() (any, error) {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return doc, nil
	}
	list := &cobra.Command{Use: "groups", Short: "List option groups (--mode all, preset or byo)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return admin(http.MethodGet, "/admin/groups?mode="+url.QueryEscape(mode), nil)(cmd, nil)
		}}
	list.Flags().StringVar(&mode, "mode", "all", "all, preset or byo")
	create := &cobra.Command{Use: "create --file group.json", Short: "Create a group with its options and values", Args: cobra.NoArgs,
		RunE: admin(http.MethodPost, "/admin/groups", fromFile)}
	create.Flags().StringVar(&file, "file", "", "JSON document of the group")
	replace := &cobra.Command{Use: "replace ID --file group.json", Short: "Replace a group (options not sent are removed)", Args: cobra.ExactArgs(1),
		RunE: admin(http.MethodPut, "/admin/groups", fromFile)}
	replace.Flags().StringVar(&file, "file", "", "JSON document of the group")
	quote := &cobra.Command{Use: "quote --file selection.json", Short: "Price a selection as the public quote endpoint does", Args: cobra.NoArgs,
		RunE: admin(http.MethodPost, "/quote", fromFile)}
	quote.Flags().StringVar(&file, "file", "", `{"service_type":"vps","choices":[{"option_id":1,"quantity":4}]}`)
	cmd.AddCommand(list, create, replace, quote,
		&cobra.Command{Use: "show ID", Short: "Show a group with its options and values", Args: cobra.ExactArgs(1), RunE: admin(http.MethodGet, "/admin/groups", nil)},
		&cobra.Command{Use: "delete ID", Short: "Delete a group (refused while services use it)", Args: cobra.ExactArgs(1), RunE: admin(http.MethodDelete, "/admin/groups", nil)},
		&cobra.Command{Use: "seed", Short: "Load the Build-Your-Own seed groups (a second run changes nothing)", Args: cobra.NoArgs, RunE: admin(http.MethodPost, "/admin/seed", nil)},
	)
	return cmd
}
