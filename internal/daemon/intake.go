package daemon

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/intake"
)

// panelName names the bound panel in upsell's tables and webhook path.
const panelName = "paymenter"

func (d *Daemon) inbox() *intake.Inbox {
	return &intake.Inbox{DB: d.DB, Panel: panelName, Invoices: d.Panel}
}

// webhookHandler verifies and records paid-invoice webhooks.
func (d *Daemon) webhookHandler() http.Handler {
	return intake.WebhookHandler([]byte(d.Config.Security.WebhookSecret.Reveal()), d.inbox(), d.Logger, time.Now)
}

// reconcilingModules lists the running modules that asked for reconcile
// rounds.
func (d *Daemon) reconcilingModules() []string {
	var out []string
	for _, st := range d.Supervisor.Statuses() {
		info, ok := d.Supervisor.ModuleInfo(st.Name)
		if ok && slices.Contains(info.Events, hostapi.ReconcileEvent) {
			out = append(out, st.Name)
		}
	}
	return out
}

// RunIntake polls for paid invoices and runs jobs until ctx ends. Every
// replica runs it; the database shares the work between them.
func (d *Daemon) RunIntake(ctx context.Context, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	interval := d.Config.Poller.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	poller := &intake.Poller{Inbox: d.inbox(), Panel: d.Panel, Logger: d.Logger}
	wg.Add(1)
	go func() { defer wg.Done(); poller.Run(ctx, interval) }()
	reconcile := d.Config.Poller.ReconcileInterval
	if reconcile <= 0 {
		reconcile = 5 * time.Minute
	}
	sched := &intake.Scheduler{DB: d.DB, Modules: d.reconcilingModules, Interval: reconcile, Logger: d.Logger}
	wg.Add(1)
	go func() { defer wg.Done(); sched.Run(ctx) }()
	host, _ := os.Hostname()
	for i := range max(workers, 1) {
		w := &intake.Worker{
			DB: d.DB, Modules: d.Supervisor, Invoices: d.Panel, Logger: d.Logger,
			Owner: host + "/" + strconv.Itoa(os.Getpid()) + "/" + strconv.Itoa(i),
			OnResult: func(kind, result string) {
				if d.Metrics != nil {
					d.Metrics.Jobs.WithLabelValues(kind, result).Inc()
				}
			},
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx, 250*time.Millisecond) }()
	}
	return &wg
}
