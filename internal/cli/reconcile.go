package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/upsell-io/upsell/internal/config"
)

// ErrDriftLeft is returned by `upsell reconcile` when drift remains that it
// did not fix, so the process exits non-zero and a cron job or a monitor
// notices.
var ErrDriftLeft = errors.New("drift left")

// reconcileReport is the Micro-Upsell module's answer to /admin/reconcile.
// The host does not import a plugin's internals: the CLI reads the JSON
// contract, with the fields it prints.
type reconcileReport struct {
	Fix      bool `json:"fix"`
	Checked  int  `json:"checked"`
	Services []struct {
		ServiceID     uint64 `json:"service_id"`
		UserID        uint64 `json:"user_id"`
		Status        string `json:"status"`
		ExpectedPrice string `json:"expected_price"`
		PanelPrice    string `json:"panel_price"`
		Findings      []struct {
			Kind     string `json:"kind"`
			Verdict  string `json:"verdict"`
			Resource string `json:"resource"`
			Expected string `json:"expected"`
			Actual   string `json:"actual"`
			Repair   string `json:"repair"`
			Message  string `json:"message"`
			Outcome  string `json:"outcome"`
		} `json:"findings"`
		Error string `json:"error"`
	} `json:"services"`
	Fixed int `json:"fixed"`
	Left  int `json:"left"`
}

func newReconcileCmd() *cobra.Command {
	var server string
	var fix, asJSON bool
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Compare applied Micro-Upsell add-ons with the panel and the servers; --fix repairs drift",
		Long: `reconcile compares every service holding applied Micro-Upsell add-ons with
what upsell last set: the service's recurring price on the panel and the
server's current limits through its adapter. It prints one line per finding.

Without --fix it only reports (GET /m/microupsell/admin/reconcile) and
changes nothing. With --fix (POST) it repairs what is safe to repair, exactly
as the periodic reconcile round does, under each service's lock, with an
"addon.restored" audit entry:

  restorable    the panel recomputed the price, or reset a limit below what
                the add-ons gave: the add-ons go back on top of the new base.
  needs_human   a cancelled or deleted service still holds applied add-ons
                (refund or clean up by hand), or the adapter does not report
                a resource: never touched by --fix.
  error         the panel or the adapter could not be read for that service.
  info          a limit above what upsell set (kept, expected from then on),
                or no baseline recorded yet (--fix records the present one).

Exit status: 0 when no drift is left: none was found, or --fix repaired all
of it (info findings do not count). 1 when drift remains that was not fixed
(any restorable finding without --fix, any needs_human or error finding), or
when the daemon could not be asked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAdminClient(cmd, server)
			if err != nil {
				return err
			}
			method := http.MethodGet
			if fix {
				method = http.MethodPost
			}
			raw, err := c.fetch(cmd, method, microupsellAdmin+"/reconcile")
			if err != nil {
				return err
			}
			var rep reconcileReport
			if err := json.Unmarshal(raw, &rep); err != nil {
				return fmt.Errorf("read the daemon's reconcile report: %w", err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				fmt.Fprintln(out, strings.TrimSpace(string(raw)))
			} else if err := printReconcile(out, rep); err != nil {
				return err
			}
			if rep.Left > 0 {
				return fmt.Errorf("%d finding(s) not fixed: %w", rep.Left, ErrDriftLeft)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "base URL of the running daemon")
	cmd.Flags().BoolVar(&fix, "fix", false, "repair what is safe to repair (restorable findings) and list the rest")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the daemon's JSON report instead of a table")
	config.Register(cmd.Flags())
	return cmd
}

// fetch sends a request without a body and returns the answer's body,
// failing on a non-2xx status with the daemon's message.
func (c *adminClient) fetch(cmd *cobra.Command, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(cmd.Context(), method, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the daemon at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("read the daemon's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return nil, fmt.Errorf("daemon answered %s: %s", resp.Status, msg)
	}
	return raw, nil
}

// printReconcile writes one line per finding, then what was fixed and what
// is left.
func printReconcile(w io.Writer, rep reconcileReport) error {
	if len(rep.Services) == 0 {
		_, err := fmt.Fprintf(w, "No drift: %d service(s) holding add-ons checked.\n", rep.Checked)
		return err
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tUSER\tSTATUS\tFINDING\tEXPECTED\tNOW\tVERDICT\tOUTCOME\tDETAIL")
	restorable := 0
	var stopped []string
	for _, s := range rep.Services {
		for _, f := range s.Findings {
			what := f.Kind
			if f.Resource != "" {
				what += " " + f.Resource
			}
			if f.Verdict == "restorable" && f.Outcome != "fixed" {
				restorable++
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ServiceID, dash(userText(s.UserID)), dash(s.Status), what,
				dash(f.Expected), dash(f.Actual), f.Verdict, dash(f.Outcome), f.Message)
		}
		if s.Error != "" {
			stopped = append(stopped, fmt.Sprintf("service %d: the fix stopped: %s", s.ServiceID, s.Error))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print the report: %w", err)
	}
	for _, s := range stopped {
		fmt.Fprintln(w, s)
	}
	fmt.Fprintf(w, "%d service(s) checked, %d with findings: %d fixed, %d left.\n", rep.Checked, len(rep.Services), rep.Fixed, rep.Left)
	if !rep.Fix && restorable > 0 {
		fmt.Fprintf(w, "Run \"upsell reconcile --fix\" to restore the %d restorable finding(s).\n", restorable)
	}
	return nil
}

func userText(id uint64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprint(id)
}
