package obs

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// UnmatchedRoute is the route label of requests no handler pattern matched.
// Using the raw path instead would let any client create label values.
const UnmatchedRoute = "unmatched"

// Metrics are the host's Prometheus metrics, on a registry of their own.
//
// Label values must come from bounded sets (route patterns, configured plugin
// names, fixed result words), never from request data: every distinct value
// is a new time series kept for the life of the process.
type Metrics struct {
	// Registry holds the metrics below plus the Go and process collectors.
	Registry *prometheus.Registry

	// HTTPRequests counts served requests by route pattern and status code.
	HTTPRequests *prometheus.CounterVec // upsell_http_requests_total{route,code}
	// HTTPRequestDuration observes request latency by route pattern.
	HTTPRequestDuration *prometheus.HistogramVec // upsell_http_request_duration_seconds{route}
	// PluginUp is 1 while a plugin process is running and serving, else 0.
	PluginUp *prometheus.GaugeVec // upsell_plugin_up{plugin,kind}
	// PluginRestarts counts restarts of crashed plugin processes.
	PluginRestarts *prometheus.CounterVec // upsell_plugin_restarts_total{plugin}
	// Jobs counts background jobs by kind and result (ok, error, ...).
	Jobs *prometheus.CounterVec // upsell_jobs_total{kind,result}
	// InvoicesApplied counts paid invoices whose effect a module applied.
	InvoicesApplied *prometheus.CounterVec // upsell_invoices_applied_total{module}
	// ProvisionRequests counts provisioning calls by adapter and result.
	ProvisionRequests *prometheus.CounterVec // upsell_provision_requests_total{adapter,result}
}

// NewMetrics creates the host metrics on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upsell_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		HTTPRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "upsell_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		PluginUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "upsell_plugin_up",
			Help: "1 while the plugin process runs and answers, 0 otherwise.",
		}, []string{"plugin", "kind"}),
		PluginRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upsell_plugin_restarts_total",
			Help: "Restarts of plugin processes after they exited or stopped answering.",
		}, []string{"plugin"}),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upsell_jobs_total",
			Help: "Background jobs run, by kind and result.",
		}, []string{"kind", "result"}),
		InvoicesApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upsell_invoices_applied_total",
			Help: "Paid invoices whose purchase a module applied.",
		}, []string{"module"}),
		ProvisionRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "upsell_provision_requests_total",
			Help: "Provisioning requests sent to adapters, by adapter and result.",
		}, []string{"adapter", "result"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests,
		m.HTTPRequestDuration,
		m.PluginUp,
		m.PluginRestarts,
		m.Jobs,
		m.InvoicesApplied,
		m.ProvisionRequests,
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		// Serve what could be gathered rather than nothing when one
		// collector fails; the failure shows in promhttp's own counter.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.Registry,
	})
}

// ObserveHTTP records one served request. route is the matched pattern or
// UnmatchedRoute.
func (m *Metrics) ObserveHTTP(route string, status int, elapsed time.Duration) {
	m.HTTPRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.HTTPRequestDuration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// SetPluginUp records whether a plugin of the given kind (module, adapter)
// is up.
func (m *Metrics) SetPluginUp(plugin, kind string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.PluginUp.WithLabelValues(plugin, kind).Set(v)
}
