package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/config"
)

// adminClient calls the running daemon's admin API with the admin token.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

func newAdminClient(cmd *cobra.Command, server string) (*adminClient, error) {
	cfg, err := loadConfig(cmd, config.ForAnyCommand)
	if err != nil {
		return nil, err
	}
	if server == "" {
		server = "http://" + cfg.HTTP.Listen
	}
	if cfg.Security.AdminToken == "" {
		return nil, fmt.Errorf("security.admin_token is not set (UPSELL_SECURITY_ADMIN_TOKEN)")
	}
	return &adminClient{base: strings.TrimRight(server, "/"), token: cfg.Security.AdminToken.Reveal(), http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// do sends a request and pretty-prints the JSON answer to out.
func (c *adminClient) do(cmd *cobra.Command, method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(cmd.Context(), method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ask the daemon at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, raw, "", "  ") != nil {
		pretty.Write(raw)
	}
	fmt.Fprintln(cmd.OutOrStdout(), pretty.String())
	if resp.StatusCode >= 300 {
		return fmt.Errorf("daemon answered %s", resp.Status)
	}
	return nil
}

const microupsellAdmin = "/m/microupsell/admin"

func newPackagesCmd() *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "packages",
		Short: "Manage Micro-Upsell add-on packages (list, create, update, disable)",
		Long: `packages manages the preset add-ons clients can buy, through the running
daemon's admin API. Price changes apply to new orders only: every order keeps
the prices it locked.`,
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "base URL of the running daemon")
	config.Register(cmd.PersistentFlags())

	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List packages", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			return c.do(cmd, http.MethodGet, microupsellAdmin+"/packages", nil)
		},
	})
	var in struct {
		name, resource, product string
		amount                  int64
		prices                  []string
		maxPer, sort            int
	}
	body := func(cmd *cobra.Command) (map[string]any, error) {
		b := map[string]any{}
		f := cmd.Flags()
		if f.Changed("name") {
			b["name"] = in.name
		}
		if f.Changed("resource") {
			b["resource"] = in.resource
		}
		if f.Changed("amount") {
			b["amount"] = in.amount
		}
		if f.Changed("max-per-service") {
			b["max_per_service"] = in.maxPer
		}
		if f.Changed("sort") {
			b["sort"] = in.sort
		}
		if f.Changed("price") {
			prices := map[string]string{}
			for _, p := range in.prices {
				cur, amt, ok := strings.Cut(p, "=")
				if !ok {
					return nil, fmt.Errorf("--price wants CURRENCY=AMOUNT, e.g. EUR=2.00, not %q", p)
				}
				prices[strings.ToUpper(cur)] = amt
			}
			b["monthly_prices"] = prices
		}
		return b, nil
	}
	flags := func(c *cobra.Command) {
		c.Flags().StringVar(&in.name, "name", "", `display name, e.g. "+1 GB RAM"`)
		c.Flags().StringVar(&in.resource, "resource", "", "memory_mib, disk_mib, cpu_percent, ports, databases, backups or swap_mib")
		c.Flags().Int64Var(&in.amount, "amount", 0, "how much of the resource it adds (MiB, percent, count)")
		c.Flags().StringArrayVar(&in.prices, "price", nil, "monthly price per currency, e.g. --price EUR=2.00 --price USD=2.20")
		c.Flags().IntVar(&in.maxPer, "max-per-service", 0, "cap per service (0 = none)")
		c.Flags().IntVar(&in.sort, "sort", 0, "display order")
	}
	create := &cobra.Command{
		Use: "create", Short: "Create a package", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			b, err := body(cmd)
			if err != nil {
				return err
			}
			return c.do(cmd, http.MethodPost, microupsellAdmin+"/packages", b)
		},
	}
	flags(create)
	update := &cobra.Command{
		Use: "update ID", Short: "Change a package (only the flags given)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			b, err := body(cmd)
			if err != nil {
				return err
			}
			return c.do(cmd, http.MethodPatch, microupsellAdmin+"/packages/"+url.PathEscape(args[0]), b)
		},
	}
	flags(update)
	for _, v := range []struct {
		use    string
		active bool
	}{{"disable", false}, {"enable", true}} {
		cmd.AddCommand(&cobra.Command{
			Use: v.use + " ID", Short: strings.ToUpper(v.use[:1]) + v.use[1:] + " a package", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newAdminClient(cmd, server)
				if err != nil {
					return err
				}
				return c.do(cmd, http.MethodPatch, microupsellAdmin+"/packages/"+url.PathEscape(args[0]), map[string]any{"active": v.active})
			},
		})
	}
	cmd.AddCommand(create, update)
	return cmd
}

func newOrdersCmd() *cobra.Command {
	var server, state string
	var serviceID, userID uint64
	var limit int
	cmd := &cobra.Command{
		Use:   "orders",
		Short: "List, show and retry Micro-Upsell orders",
		Long: `orders lists add-on orders (filter by --state, --service, --user), shows one
with its full history, and retries a failed one.`,
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
			if serviceID != 0 {
				q.Set("service_id", fmt.Sprint(serviceID))
			}
			if userID != 0 {
				q.Set("user_id", fmt.Sprint(userID))
			}
			if limit != 0 {
				q.Set("limit", fmt.Sprint(limit))
			}
			return c.do(cmd, http.MethodGet, microupsellAdmin+"/orders?"+q.Encode(), nil)
		},
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "base URL of the running daemon")
	cmd.Flags().StringVar(&state, "state", "", "awaiting_payment, paid, applying, applied, failed or flagged")
	cmd.Flags().Uint64Var(&serviceID, "service", 0, "only this service")
	cmd.Flags().Uint64Var(&userID, "user", 0, "only this user")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many (default 100)")
	config.Register(cmd.PersistentFlags())
	cmd.AddCommand(&cobra.Command{
		Use: "show ID", Short: "Show an order with its history", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			return c.do(cmd, http.MethodGet, microupsellAdmin+"/orders/"+url.PathEscape(args[0]), nil)
		},
	}, &cobra.Command{
		Use: "retry ID", Short: "Retry a failed order now", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			return c.do(cmd, http.MethodPost, microupsellAdmin+"/orders/"+url.PathEscape(args[0])+"/retry", nil)
		},
	})
	return cmd
}
