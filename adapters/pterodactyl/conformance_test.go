package pterodactyl

import (
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/hostapitest"
	"github.com/upsell-io/upsell/internal/pterosim"
)

func TestMain(m *testing.M) {
	hostapitest.ServeIfRequested(map[string]func(){
		// The adapter as the upsell binary serves it; tests pass fast
		// retries through Configure, as the host passes settings.
		Name: Serve,
	})
	os.Exit(m.Run())
}

// testSettings are what a test host configures: quick retries, no pacing.
var testSettings = map[string]string{
	"retry_max": "2", "retry_wait_min": "1ms", "retry_wait_max": "2ms", "rate_limit_per_minute": "0",
}

// conformanceTarget changes every resource the adapter serves.
var conformanceTarget = hostapi.Target{
	hostapi.MemoryMiB: 4096, hostapi.SwapMiB: 512, hostapi.DiskMiB: 20480, hostapi.IOWeight: 700,
	hostapi.CPUPercent: 200, hostapi.Databases: 3, hostapi.Backups: 5, hostapi.Ports: 3,
}

func conformanceServer(f pterosim.Flavor) func(t *testing.T) hostapitest.ConformanceServer {
	return func(t *testing.T) hostapitest.ConformanceServer {
		p := newPanel(t, f)
		return hostapitest.ConformanceServer{
			Ref:     p.ref(),
			Missing: hostapi.ServerRef{ServerID: strconv.Itoa(p.server + 100), Endpoint: p.http.URL, Secret: p.key},
			Initial: p.limits(t),
			State:   p.limits,
			MakeUnavailable: func(testing.TB) {
				p.sim.InjectFault(pterosim.Fault{Status: http.StatusServiceUnavailable, Count: 1 << 20})
			},
			Stall: func(testing.TB) func() {
				p.sim.SetLatency(time.Hour)
				return func() { p.sim.SetLatency(0) }
			},
		}
	}
}

func TestConformance(t *testing.T) {
	runners := map[string]func(t *testing.T) hostapi.Adapter{
		// As the daemon runs it: a separate process over go-plugin.
		"subprocess": func(t *testing.T) hostapi.Adapter {
			ac, _ := hostapitest.StartAdapter(t, hostapitest.SelfCommand(t, Name), nil, hostapi.Host{}, testSettings)
			return ac
		},
		"in-process": func(t *testing.T) hostapi.Adapter {
			return hostapitest.InProcessAdapter(t, New(), hostapi.Host{}, testSettings)
		},
		// Directly, so that a cancelled context reaches the adapter.
		"direct": func(t *testing.T) hostapi.Adapter { return New(fastOptions()...) },
	}
	for _, f := range flavors {
		for name, start := range runners {
			t.Run(f.String()+"/"+name, func(t *testing.T) {
				hostapitest.RunAdapterConformance(t, hostapitest.ConformanceHarness{
					Adapter:   start(t),
					Target:    conformanceTarget,
					NewServer: conformanceServer(f),
				})
			})
		}
	}
}
