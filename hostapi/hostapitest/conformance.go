package hostapitest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

// ConformanceHarness describes an adapter and a test double of its backend
// to RunAdapterConformance.
type ConformanceHarness struct {
	// Adapter is the adapter under test. Give it as the host sees it: the
	// client StartAdapter returns for your plugin binary (or for
	// SelfCommand), so that every call crosses the real process boundary and
	// errors cross the wire. InProcessAdapter is quicker and lets the race
	// detector see both sides. The adapter value itself works too, and is
	// the only way to test the adapter's own handling of cancellation: over
	// gRPC, the host side gives up as soon as its context ends (and never
	// sends an already-cancelled call), whatever the plugin does. Running
	// the suite both ways is best.
	//
	// Configure it with short retry waits and timeouts: the suite makes the
	// backend fail and waits for the adapter to give up.
	Adapter hostapi.Adapter
	// Target is an absolute target to apply. Every resource in it must be
	// one the adapter declares in Describe, and its value must differ from
	// the fresh server's Initial value, so that every subtest sees a change.
	Target hostapi.Target
	// NewServer prepares a fresh backend holding one server at its known
	// starting limits and describes it. The suite calls it at least once per
	// subtest, so subtests never see each other's changes; release what it
	// creates with t.Cleanup.
	NewServer func(t *testing.T) ConformanceServer
}

// ConformanceServer is one server on a fresh backend, as NewServer returns
// it.
type ConformanceServer struct {
	// Ref refers to an existing server through the adapter (endpoint,
	// credentials, ids).
	Ref hostapi.ServerRef
	// Missing refers to a server that does not exist, on the same backend
	// with valid credentials.
	Missing hostapi.ServerRef
	// Initial are the server's starting limits. It must hold every resource
	// of the harness's Target, and may hold more: the suite checks that
	// resources outside a target keep their Initial value.
	Initial hostapi.Limits
	// State reads the server's true limits out of band, from the backend
	// double, without the adapter: it is how the suite checks what the
	// adapter claims.
	State func(t testing.TB) hostapi.Limits
	// Secret is the credential that must never appear in an error. Empty
	// means Ref.Secret; the suite fails when both are empty.
	Secret string
	// MakeUnavailable, when set, makes the backend unavailable (down,
	// refusing connections, answering 503) for the rest of the subtest. The
	// suite then expects hostapi.CodeUnavailable and no change. Nil skips
	// that subtest.
	MakeUnavailable func(t testing.TB)
	// Stall, when set, makes every backend call hang until the returned
	// function is called. The suite cancels a call stuck on it and expects
	// it to return promptly. Nil skips that subtest.
	Stall func(t testing.TB) (resume func())
}

// promptly bounds how long the suite waits for a call whose context was
// cancelled. It is a hang detector, not a performance requirement.
const promptly = 30 * time.Second

// unknownResource is a resource no adapter serves.
const unknownResource hostapi.Resource = "conformance_unknown_resource"

// RunAdapterConformance checks that an adapter keeps the contract documented
// on hostapi.Adapter, as subtests of t:
//
//   - Describe names the adapter and declares every resource of Target;
//     Read returns the Initial limits.
//   - Apply of Target reports Changed with Before = Initial and After =
//     Target, and both Read and the backend then hold Target.
//   - Applying the same target again is a no-op (Changed=false) that leaves
//     the backend as it was.
//   - Resources not in a target keep their values: each resource of Target
//     is applied alone to a fresh server, and every other resource must keep
//     its Initial value.
//   - Concurrent applies to one server, one resource each, lose no update
//     (changes to one server are serialized).
//   - A missing server gives hostapi.CodeNotFound from Read, Apply and
//     CheckCapacity.
//   - A cancelled context or an expired deadline makes Apply return
//     promptly with context.Canceled/DeadlineExceeded or
//     hostapi.CodeUnavailable, changing nothing; and, with Stall, so does a
//     call cancelled while the backend hangs.
//   - With MakeUnavailable, an unavailable backend gives
//     hostapi.CodeUnavailable and no change.
//   - A target naming a resource the adapter does not serve gives
//     hostapi.CodeInvalid and changes nothing.
//   - The secret appears in no error text (nor in the Field) of any error
//     the suite saw.
//
// A third-party adapter's test runs it against its plugin as a real
// subprocess:
//
//	func TestMain(m *testing.M) {
//		hostapitest.ServeIfRequested(map[string]func(){
//			"myadapter": func() { hostapi.ServeAdapter(myadapter.New()) },
//		})
//		os.Exit(m.Run())
//	}
//
//	func TestConformance(t *testing.T) {
//		ac, _ := hostapitest.StartAdapter(t, hostapitest.SelfCommand(t, "myadapter"), nil, hostapi.Host{}, fastSettings)
//		hostapitest.RunAdapterConformance(t, hostapitest.ConformanceHarness{
//			Adapter:   ac,
//			Target:    hostapi.Target{hostapi.MemoryMiB: 4096},
//			NewServer: newFakePanelServer, // starts the double, returns refs, Initial and State
//		})
//	}
func RunAdapterConformance(t *testing.T, h ConformanceHarness) {
	t.Helper()
	if h.Adapter == nil || h.NewServer == nil || len(h.Target) == 0 {
		t.Fatal("conformance: the harness needs Adapter, NewServer and a non-empty Target")
	}
	rec := &recordingAdapter{Adapter: h.Adapter}
	s := &conformance{h: h, a: rec}
	t.Run("Describe", s.describe)
	t.Run("Read", s.read)
	t.Run("ApplyThenRead", s.applyThenRead)
	t.Run("ApplyTwiceIsNoOp", s.applyTwice)
	t.Run("UntargetedResourcesKept", s.untargetedKept)
	t.Run("ConcurrentAppliesLoseNothing", s.concurrent)
	t.Run("MissingServer", s.missing)
	t.Run("CancelledContext", s.cancelled)
	t.Run("CancelledWhileStalled", s.stalled)
	t.Run("UnavailableBackend", s.unavailable)
	t.Run("UnknownResource", s.unknownResource)
	t.Run("SecretNeverInErrors", func(t *testing.T) { s.secretNeverInErrors(t, rec) })
}

type conformance struct {
	h ConformanceHarness
	a *recordingAdapter

	mu      sync.Mutex
	secrets []string
}

// server prepares a fresh server and checks the harness's promises about it.
func (s *conformance) server(t *testing.T) ConformanceServer {
	t.Helper()
	srv := s.h.NewServer(t)
	if srv.State == nil {
		t.Fatal("conformance: ConformanceServer.State is nil")
	}
	secret := srv.Secret
	if secret == "" {
		secret = srv.Ref.Secret
	}
	if secret == "" {
		t.Fatal("conformance: give the server a Secret (or Ref.Secret) so the suite can check that it never leaks")
	}
	s.mu.Lock()
	if !slices.Contains(s.secrets, secret) {
		s.secrets = append(s.secrets, secret)
	}
	s.mu.Unlock()
	for _, r := range sortedResources(s.h.Target) {
		initial, ok := srv.Initial[r]
		switch {
		case !ok:
			t.Fatalf("conformance: Initial has no %s, which Target sets", r)
		case initial == s.h.Target[r]:
			t.Fatalf("conformance: Target sets %s to %d, its Initial value: the suite could not see a change", r, initial)
		}
	}
	if diff := diffLimits(srv.Initial, srv.State(t)); diff != "" {
		t.Fatalf("conformance: a fresh server does not hold Initial: %s", diff)
	}
	return srv
}

func (s *conformance) describe(t *testing.T) {
	info, err := s.a.Describe(context.Background())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if info.Name == "" {
		t.Error("Describe: empty Name (the host matches it against the configured plugin name)")
	}
	for _, r := range sortedResources(s.h.Target) {
		if !slices.Contains(info.Resources, r) {
			t.Errorf("Describe does not declare %s, which the Target sets", r)
		}
	}
}

func (s *conformance) read(t *testing.T) {
	srv := s.server(t)
	got, err := s.a.Read(context.Background(), srv.Ref)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if diff := diffLimits(srv.Initial, got); diff != "" {
		t.Fatalf("Read of a fresh server: %s", diff)
	}
}

func (s *conformance) applyThenRead(t *testing.T) {
	srv := s.server(t)
	ctx := context.Background()
	applied, err := s.a.Apply(ctx, srv.Ref, s.h.Target)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !applied.Changed {
		t.Error("Apply of a new target reported Changed=false")
	}
	if diff := diffLimits(targetOf(srv.Initial, s.h.Target), applied.Before); diff != "" {
		t.Errorf("Applied.Before is not the starting state: %s", diff)
	}
	if diff := diffLimits(hostapi.Limits(s.h.Target), applied.After); diff != "" {
		t.Errorf("Applied.After does not hold the target: %s", diff)
	}
	read, err := s.a.Read(ctx, srv.Ref)
	if err != nil {
		t.Fatalf("Read after Apply: %v", err)
	}
	if diff := diffLimits(hostapi.Limits(s.h.Target), read); diff != "" {
		t.Errorf("Read after Apply: %s", diff)
	}
	if diff := diffLimits(hostapi.Limits(s.h.Target), srv.State(t)); diff != "" {
		t.Errorf("the backend after Apply: %s", diff)
	}
}

func (s *conformance) applyTwice(t *testing.T) {
	srv := s.server(t)
	ctx := context.Background()
	if _, err := s.a.Apply(ctx, srv.Ref, s.h.Target); err != nil {
		t.Fatalf("first Apply: %v", err)
	}
	between := srv.State(t)
	again, err := s.a.Apply(ctx, srv.Ref, s.h.Target)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if again.Changed {
		t.Error("applying a target already in place reported Changed=true; it must be a no-op")
	}
	if diff := diffLimits(hostapi.Limits(s.h.Target), again.After); diff != "" {
		t.Errorf("Applied.After of the no-op: %s", diff)
	}
	if diff := diffLimits(between, srv.State(t)); diff != "" {
		t.Errorf("the no-op changed the backend: %s", diff)
	}
}

func (s *conformance) untargetedKept(t *testing.T) {
	for _, r := range sortedResources(s.h.Target) {
		t.Run(string(r), func(t *testing.T) {
			srv := s.server(t)
			one := hostapi.Target{r: s.h.Target[r]}
			if _, err := s.a.Apply(context.Background(), srv.Ref, one); err != nil {
				t.Fatalf("Apply %v: %v", one, err)
			}
			want := srv.Initial.Clone()
			want[r] = s.h.Target[r]
			if diff := diffLimits(want, srv.State(t)); diff != "" {
				t.Fatalf("after applying only %s=%d: %s", r, s.h.Target[r], diff)
			}
		})
	}
}

func (s *conformance) concurrent(t *testing.T) {
	srv := s.server(t)
	var wg sync.WaitGroup
	errs := make(chan error, len(s.h.Target))
	for _, r := range sortedResources(s.h.Target) {
		wg.Go(func() {
			if _, err := s.a.Apply(context.Background(), srv.Ref, hostapi.Target{r: s.h.Target[r]}); err != nil {
				errs <- fmt.Errorf("Apply %s: %w", r, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := srv.Initial.Clone()
	maps.Copy(want, s.h.Target)
	if diff := diffLimits(want, srv.State(t)); diff != "" {
		t.Fatalf("after concurrent one-resource applies (an update was lost: are changes to one server serialized?): %s", diff)
	}
}

func (s *conformance) missing(t *testing.T) {
	srv := s.server(t)
	ctx := context.Background()
	if _, err := s.a.Read(ctx, srv.Missing); !errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("Read of a missing server: got %v, want CodeNotFound", err)
	}
	if _, err := s.a.Apply(ctx, srv.Missing, s.h.Target); !errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("Apply to a missing server: got %v, want CodeNotFound", err)
	}
	if err := s.a.CheckCapacity(ctx, srv.Missing, s.h.Target); !errors.Is(err, hostapi.ErrNotFound) {
		t.Errorf("CheckCapacity of a missing server: got %v, want CodeNotFound", err)
	}
	if diff := diffLimits(srv.Initial, srv.State(t)); diff != "" {
		t.Errorf("the existing server changed: %s", diff)
	}
}

func (s *conformance) cancelled(t *testing.T) {
	srv := s.server(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	for name, ctx := range map[string]context.Context{"cancelled": cancelled, "deadline exceeded": expired} {
		err := s.callPromptly(t, func() error {
			_, err := s.a.Apply(ctx, srv.Ref, s.h.Target)
			return err
		})
		if !isCancellation(err) {
			t.Errorf("Apply with a %s context: got %v, want context.Canceled, context.DeadlineExceeded or CodeUnavailable", name, err)
		}
	}
	if diff := diffLimits(srv.Initial, srv.State(t)); diff != "" {
		t.Errorf("a cancelled Apply changed the backend: %s", diff)
	}
}

func (s *conformance) stalled(t *testing.T) {
	srv := s.server(t)
	if srv.Stall == nil {
		t.Skip("the harness has no Stall")
	}
	resume := srv.Stall(t)
	defer resume()
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the call had a moment to reach the stalled backend.
	timer := time.AfterFunc(50*time.Millisecond, cancel)
	defer timer.Stop()
	err := s.callPromptly(t, func() error {
		_, err := s.a.Apply(ctx, srv.Ref, s.h.Target)
		return err
	})
	if !isCancellation(err) {
		t.Errorf("Apply cancelled while the backend hangs: got %v, want context.Canceled or CodeUnavailable", err)
	}
	if diff := diffLimits(srv.Initial, srv.State(t)); diff != "" {
		t.Errorf("a cancelled Apply changed the backend: %s", diff)
	}
}

func (s *conformance) unavailable(t *testing.T) {
	srv := s.server(t)
	if srv.MakeUnavailable == nil {
		t.Skip("the harness has no MakeUnavailable")
	}
	srv.MakeUnavailable(t)
	ctx := context.Background()
	if _, err := s.a.Apply(ctx, srv.Ref, s.h.Target); !errors.Is(err, hostapi.ErrUnavailable) {
		t.Errorf("Apply with the backend unavailable: got %v, want CodeUnavailable", err)
	}
	if _, err := s.a.Read(ctx, srv.Ref); !errors.Is(err, hostapi.ErrUnavailable) {
		t.Errorf("Read with the backend unavailable: got %v, want CodeUnavailable", err)
	}
	if diff := diffLimits(srv.Initial, srv.State(t)); diff != "" {
		t.Errorf("the backend changed: %s", diff)
	}
}

func (s *conformance) unknownResource(t *testing.T) {
	srv := s.server(t)
	ctx := context.Background()
	mixed := maps.Clone(s.h.Target)
	mixed[unknownResource] = 1
	for name, target := range map[string]hostapi.Target{
		"alone":            {unknownResource: 1},
		"with known ones":  mixed,
		"empty name, zero": {"": 0},
	} {
		if _, err := s.a.Apply(ctx, srv.Ref, target); !errors.Is(err, hostapi.ErrInvalid) {
			t.Errorf("Apply of a target with an unknown resource (%s): got %v, want CodeInvalid", name, err)
		}
	}
	if diff := diffLimits(srv.Initial, srv.State(t)); diff != "" {
		t.Errorf("a refused target changed the backend (validate the whole target before changing anything): %s", diff)
	}
}

func (s *conformance) secretNeverInErrors(t *testing.T, rec *recordingAdapter) {
	// Provoke a few more errors: a wrong credential, whose text must not
	// leak either.
	srv := s.server(t)
	ctx := context.Background()
	wrong := srv.Ref
	wrong.Secret = srv.Ref.Secret + "-conformance-wrong"
	s.mu.Lock()
	s.secrets = append(s.secrets, wrong.Secret)
	secrets := slices.Clone(s.secrets)
	s.mu.Unlock()
	_, _ = s.a.Read(ctx, wrong)
	_, _ = s.a.Read(ctx, srv.Missing)
	_ = s.a.CheckCapacity(ctx, srv.Missing, s.h.Target)

	errs := rec.errors()
	if len(errs) == 0 {
		t.Fatal("no error was seen: nothing to check")
	}
	for _, err := range errs {
		texts := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
		var he *hostapi.Error
		if errors.As(err, &he) {
			texts = append(texts, he.Field, he.Message)
		}
	check:
		for _, text := range texts {
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("an error carries the secret: %s", strings.ReplaceAll(text, secret, "<SECRET>"))
					break check
				}
			}
		}
	}
}

// callPromptly runs call and fails the test if it hangs.
func (s *conformance) callPromptly(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(promptly):
		t.Fatalf("the call did not return within %s of its context being cancelled", promptly)
		return nil
	}
}

func isCancellation(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, hostapi.ErrUnavailable)
}

// targetOf returns the values l holds for target's resources.
func targetOf(l hostapi.Limits, target hostapi.Target) hostapi.Limits {
	out := hostapi.Limits{}
	for r := range target {
		out[r] = l[r]
	}
	return out
}

// diffLimits describes how got differs from want on want's resources; ""
// when it holds them all.
func diffLimits(want, got hostapi.Limits) string {
	var out []string
	for _, r := range slices.Sorted(maps.Keys(want)) {
		v, ok := got[r]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s missing (want %d)", r, want[r]))
		case v != want[r]:
			out = append(out, fmt.Sprintf("%s=%d (want %d)", r, v, want[r]))
		}
	}
	return strings.Join(out, ", ")
}

func sortedResources(t hostapi.Target) []hostapi.Resource {
	return slices.Sorted(maps.Keys(t))
}

// recordingAdapter remembers every error the adapter returned.
type recordingAdapter struct {
	hostapi.Adapter
	mu   sync.Mutex
	errs []error
}

func (r *recordingAdapter) record(err error) error {
	if err != nil {
		r.mu.Lock()
		r.errs = append(r.errs, err)
		r.mu.Unlock()
	}
	return err
}

func (r *recordingAdapter) errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

func (r *recordingAdapter) Read(ctx context.Context, ref hostapi.ServerRef) (hostapi.Limits, error) {
	l, err := r.Adapter.Read(ctx, ref)
	return l, r.record(err)
}

func (r *recordingAdapter) Apply(ctx context.Context, ref hostapi.ServerRef, t hostapi.Target) (hostapi.Applied, error) {
	a, err := r.Adapter.Apply(ctx, ref, t)
	return a, r.record(err)
}

func (r *recordingAdapter) CheckCapacity(ctx context.Context, ref hostapi.ServerRef, t hostapi.Target) error {
	return r.record(r.Adapter.CheckCapacity(ctx, ref, t))
}
