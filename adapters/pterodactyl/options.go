package pterodactyl

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/upsell-io/upsell/hostapi"
)

// config is the adapter's tuning. The defaults follow the research notes: the
// build PATCH can block for about 20 s while the panel waits for an
// unreachable Wings node, and the panel allows 240 requests per minute per
// admin user.
type config struct {
	requestTimeout time.Duration
	retryMax       int
	retryWaitMin   time.Duration
	retryWaitMax   time.Duration
	maxRetryAfter  time.Duration
	ratePerMinute  int
	// rateWindow is the window ratePerMinute counts in: a minute, as the
	// panel counts; tests scale it down to run the budget in seconds.
	rateWindow         time.Duration
	portAttempts       int
	allocationsPerPage int
	readHandoff        time.Duration
	logger             hclog.Logger
}

func defaultConfig() config {
	return config{
		requestTimeout:     60 * time.Second,
		retryMax:           4,
		retryWaitMin:       500 * time.Millisecond,
		retryWaitMax:       15 * time.Second,
		maxRetryAfter:      65 * time.Second, // the panel's window is one minute
		ratePerMinute:      200,
		rateWindow:         time.Minute,
		portAttempts:       3,
		allocationsPerPage: 500,
		readHandoff:        2 * time.Second,
		logger:             hclog.NewNullLogger(),
	}
}

// Option tunes an Adapter.
type Option func(*config)

// WithRequestTimeout bounds each HTTP attempt (default 60 s). Keep it above
// 30 s in production: the panel answers a build PATCH only after trying to
// reach the Wings node, which takes about 20 s when the node is offline.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) { c.requestTimeout = d }
}

// WithRetries sets how many times a failed request is retried (default 4)
// and the bounds of the jittered exponential backoff between attempts
// (default 500 ms to 15 s). Tests use tiny waits.
func WithRetries(retries int, waitMin, waitMax time.Duration) Option {
	return func(c *config) { c.retryMax, c.retryWaitMin, c.retryWaitMax = retries, waitMin, waitMax }
}

// WithMaxRetryAfter caps how long one wait for a 429's Retry-After may be
// (default 65 s, a little over the panel's one-minute window).
func WithMaxRetryAfter(d time.Duration) Option {
	return func(c *config) { c.maxRetryAfter = d }
}

// WithRateLimit sets the client-side pace per panel endpoint in requests per
// minute (default 200, under the panel's 240). 0 turns pacing off.
func WithRateLimit(perMinute int) Option {
	return func(c *config) { c.ratePerMinute = perMinute }
}

// WithPortAttempts sets how many build PATCHes Apply tries when the ports it
// picked are taken by someone else meanwhile (default 3).
func WithPortAttempts(n int) Option {
	return func(c *config) { c.portAttempts = n }
}

// WithAllocationsPerPage sets the page size used to list a node's free
// allocations (default 500; the panel has no upper cap).
func WithAllocationsPerPage(n int) Option {
	return func(c *config) { c.allocationsPerPage = n }
}

// WithReadHandoff sets how old a Read's server document may be for the next
// Apply of the same server to use it instead of fetching it again (default
// 2 s; 0 always fetches). See readHandoff.
func WithReadHandoff(d time.Duration) Option {
	return func(c *config) { c.readHandoff = d }
}

// WithLogger sets where the adapter logs (default: nowhere). Serve uses
// hostapi.PluginLogger.
func WithLogger(l hclog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// The settings keys Configure accepts, each mapped to its Option.
var settingParsers = map[string]func(string) (Option, error){
	"request_timeout":       durationSetting(func(d time.Duration) Option { return WithRequestTimeout(d) }),
	"retry_max":             intSetting(0, func(n int) Option { return func(c *config) { c.retryMax = n } }),
	"retry_wait_min":        durationSetting(func(d time.Duration) Option { return func(c *config) { c.retryWaitMin = d } }),
	"retry_wait_max":        durationSetting(func(d time.Duration) Option { return func(c *config) { c.retryWaitMax = d } }),
	"max_retry_after":       durationSetting(WithMaxRetryAfter),
	"rate_limit_per_minute": intSetting(0, WithRateLimit),
	"rate_limit_window":     durationSetting(func(d time.Duration) Option { return func(c *config) { c.rateWindow = d } }),
	"port_attempts":         intSetting(1, WithPortAttempts),
	"allocations_per_page":  intSetting(1, WithAllocationsPerPage),
	"read_handoff":          durationOrZeroSetting(WithReadHandoff),
}

func durationOrZeroSetting(opt func(time.Duration) Option) func(string) (Option, error) {
	return func(s string) (Option, error) {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, strconv.ErrSyntax
		}
		return opt(d), nil
	}
}

func durationSetting(opt func(time.Duration) Option) func(string) (Option, error) {
	return func(s string) (Option, error) {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, strconv.ErrSyntax
		}
		return opt(d), nil
	}
}

func intSetting(least int, opt func(int) Option) func(string) (Option, error) {
	return func(s string) (Option, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < least {
			return nil, strconv.ErrRange
		}
		return opt(n), nil
	}
}

// parseSettings turns Configure's settings into options. Unknown keys are
// refused, so a misspelt setting is reported rather than ignored.
func parseSettings(settings map[string]string) ([]Option, error) {
	var opts []Option
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		parse, known := settingParsers[key]
		if !known {
			return nil, hostapi.Invalid(key, "unknown setting of the pterodactyl adapter (known: %v)", slices.Sorted(maps.Keys(settingParsers)))
		}
		opt, err := parse(settings[key])
		if err != nil {
			return nil, hostapi.Invalid(key, "%q is not a valid value", settings[key])
		}
		opts = append(opts, opt)
	}
	return opts, nil
}

func (c config) validate() error {
	switch {
	case c.requestTimeout <= 0:
		return hostapi.Invalid("request_timeout", "must be positive")
	case c.retryMax < 0:
		return hostapi.Invalid("retry_max", "must not be negative")
	case c.retryWaitMin <= 0 || c.retryWaitMax < c.retryWaitMin:
		return hostapi.Invalid("retry_wait_min", "must be positive and at most retry_wait_max")
	case c.maxRetryAfter <= 0:
		return hostapi.Invalid("max_retry_after", "must be positive")
	case c.ratePerMinute < 0:
		return hostapi.Invalid("rate_limit_per_minute", "must not be negative")
	case c.portAttempts < 1:
		return hostapi.Invalid("port_attempts", "must be at least 1")
	case c.allocationsPerPage < 1:
		return hostapi.Invalid("allocations_per_page", "must be at least 1")
	}
	return nil
}
