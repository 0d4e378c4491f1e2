package pterodactyl

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/upsell-io/upsell/hostapi"
)

// Version is the adapter's version, reported by Describe.
const Version = "0.1.0"

// Name is the adapter's name, as registered with the host.
const Name = "pterodactyl"

// supportedResources are the resources the build endpoint can set.
var supportedResources = []hostapi.Resource{
	hostapi.MemoryMiB, hostapi.SwapMiB, hostapi.DiskMiB, hostapi.IOWeight, hostapi.CPUPercent,
	hostapi.Databases, hostapi.Backups, hostapi.Ports,
}

// Adapter sets game server limits on Pterodactyl and Pelican panels. It is
// safe for concurrent use; create it with New.
type Adapter struct {
	locks   *serverLocks
	handoff *readHandoff

	mu       sync.RWMutex // guards the fields below, replaced by Configure
	cfg      config
	client   *retryablehttp.Client
	limiters *limiterSet
}

var _ hostapi.Adapter = (*Adapter)(nil)

// New returns an adapter with the given options applied over the defaults.
// Invalid options are reported by the first call.
func New(opts ...Option) *Adapter {
	a := &Adapter{locks: newServerLocks(), handoff: newReadHandoff()}
	a.setConfig(opts)
	return a
}

func (a *Adapter) setConfig(opts []Option) config {
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg, a.client, a.limiters = cfg, newHTTPClient(cfg), newLimiterSet(cfg.ratePerMinute, cfg.rateWindow)
	return cfg
}

// Describe says what the adapter serves.
func (a *Adapter) Describe(context.Context) (hostapi.AdapterInfo, error) {
	return hostapi.AdapterInfo{
		Name:      Name,
		Version:   Version,
		Panels:    []string{"Pterodactyl", "Pelican"},
		Resources: slices.Clone(supportedResources),
	}, nil
}

// Configure applies the host's settings for this adapter (see the package
// documentation for the keys). The host API is not used.
func (a *Adapter) Configure(_ context.Context, _ hostapi.Host, settings map[string]string) error {
	opts, err := parseSettings(settings)
	if err != nil {
		return err
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	a.mu.RLock()
	logger := a.cfg.logger // settings cannot name a logger: keep New's
	a.mu.RUnlock()
	a.setConfig(append(opts, WithLogger(logger)))
	return nil
}

// connect checks ref and returns the panel it names.
func (a *Adapter) connect(ref hostapi.ServerRef) (*conn, error) {
	a.mu.RLock()
	cfg, client, limiters := a.cfg, a.client, a.limiters
	a.mu.RUnlock()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	endpoint, err := normalizeEndpoint(ref.Endpoint)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(ref.Secret) == "" {
		return nil, hostapi.Invalid("secret", "no API key for the panel at %s", endpoint)
	}
	fl, err := flavorOf(ref)
	if err != nil {
		return nil, err
	}
	return &conn{
		endpoint: endpoint, key: ref.Secret, flavor: fl,
		http: client, limiter: limiters.forEndpoint(endpoint), cfg: cfg,
	}, nil
}

// serverID parses ref.ServerID; 0 means "find by service id".
func serverID(ref hostapi.ServerRef) (int64, error) {
	if ref.ServerID == "" {
		if ref.ServiceID == 0 {
			return 0, hostapi.Invalid("server_id", "neither a server id nor a service id to find the server by")
		}
		return 0, nil
	}
	id, err := strconv.ParseInt(ref.ServerID, 10, 64)
	if err != nil || id <= 0 {
		return 0, hostapi.Invalid("server_id", "%q is not a panel server id (a positive integer)", ref.ServerID)
	}
	return id, nil
}

// findServer reads the server ref names, by id or by external id.
func (c *conn) findServer(ctx context.Context, ref hostapi.ServerRef) (server, error) {
	id, err := serverID(ref)
	if err != nil {
		return server{}, err
	}
	if id != 0 {
		return c.getServer(ctx, id)
	}
	return c.getServerByExternalID(ctx, ref.ServiceID)
}

// Read returns the server's current limits. Ports is left out when the API
// key may not read allocations.
func (a *Adapter) Read(ctx context.Context, ref hostapi.ServerRef) (hostapi.Limits, error) {
	c, err := a.connect(ref)
	if err != nil {
		return nil, redact(err, ref.Secret)
	}
	writes := a.locks.writeCount(c.endpoint)
	srv, err := c.findServer(ctx, ref)
	if err != nil {
		return nil, redact(err, ref.Secret)
	}
	if id, _ := serverID(ref); c.cfg.readHandoff > 0 {
		a.handoff.put(handoffKey(c.endpoint, id, ref.ServiceID), srv, time.Now(), writes)
	}
	return srv.limits(), nil
}

// Apply sets the server to target, verifies it, and reports what it did.
func (a *Adapter) Apply(ctx context.Context, ref hostapi.ServerRef, target hostapi.Target) (hostapi.Applied, error) {
	applied, err := a.apply(ctx, ref, target)
	return applied, redact(err, ref.Secret)
}

func (a *Adapter) apply(ctx context.Context, ref hostapi.ServerRef, target hostapi.Target) (hostapi.Applied, error) {
	if err := validateTarget(target); err != nil {
		return hostapi.Applied{}, err
	}
	c, err := a.connect(ref)
	if err != nil {
		return hostapi.Applied{}, err
	}
	srv, unlock, err := a.lockServer(ctx, c, ref)
	if err != nil {
		return hostapi.Applied{}, err
	}
	defer unlock()
	return a.applyLocked(ctx, c, srv, target)
}

// lockServer takes the server's lock and returns its state read under it.
func (a *Adapter) lockServer(ctx context.Context, c *conn, ref hostapi.ServerRef) (server, func(), error) {
	id, err := serverID(ref)
	if err != nil {
		return server{}, nil, err
	}
	if id != 0 {
		unlock, err := a.locks.lock(ctx, lockKey(c.endpoint, id))
		if err != nil {
			return server{}, nil, hostapi.Errorf(hostapi.CodeUnavailable, "pterodactyl: waiting for another change of server %d: %w", id, err)
		}
		if srv, ok := a.handoff.take(handoffKey(c.endpoint, id, 0), time.Now(), c.cfg.readHandoff, a.locks.writeCount(c.endpoint)); ok {
			return srv, unlock, nil
		}
		srv, err := c.getServer(ctx, id)
		if err != nil {
			unlock()
			return server{}, nil, err
		}
		return srv, unlock, nil
	}
	writes := a.locks.writeCount(c.endpoint)
	srv, handed := a.handoff.take(handoffKey(c.endpoint, 0, ref.ServiceID), time.Now(), c.cfg.readHandoff, writes)
	if !handed {
		if srv, err = c.getServerByExternalID(ctx, ref.ServiceID); err != nil {
			return server{}, nil, err
		}
	}
	unlock, err := a.locks.lock(ctx, lockKey(c.endpoint, srv.id))
	if err != nil {
		return server{}, nil, hostapi.Errorf(hostapi.CodeUnavailable, "pterodactyl: waiting for another change of server %d: %w", srv.id, err)
	}
	if a.locks.writeCount(c.endpoint) != writes {
		// Another apply may have changed the server since the lookup.
		if srv, err = c.getServer(ctx, srv.id); err != nil {
			unlock()
			return server{}, nil, err
		}
	}
	return srv, unlock, nil
}

func lockKey(endpoint string, id int64) string {
	return endpoint + "#" + strconv.FormatInt(id, 10)
}

// validateTarget refuses resources the adapter does not know and values the
// panel cannot hold, before anything is sent.
func validateTarget(target hostapi.Target) error {
	if len(target) == 0 {
		return hostapi.Invalid("target", "empty target")
	}
	for _, r := range slices.Sorted(maps.Keys(target)) {
		v, field := target[r], string(r)
		switch r {
		case hostapi.MemoryMiB, hostapi.DiskMiB, hostapi.CPUPercent:
			if v < 0 {
				return hostapi.Invalid(field, "%d is negative (0 means unlimited on the panel)", v)
			}
		case hostapi.IOWeight, hostapi.Backups:
			if v < 0 {
				return hostapi.Invalid(field, "%d is negative", v)
			}
		case hostapi.SwapMiB, hostapi.Databases:
			if v < hostapi.Unlimited {
				return hostapi.Invalid(field, "%d is below -1 (unlimited)", v)
			}
		case hostapi.Ports:
			if v < 1 {
				return hostapi.Invalid(field, "%d: a server keeps at least its primary allocation", v)
			}
		default:
			return hostapi.Invalid(field, "the pterodactyl adapter does not set %q (it sets %v)", r, supportedResources)
		}
	}
	return nil
}

// applyLocked moves the server from cur to target. The caller holds the
// server's lock, and cur was read under it.
func (a *Adapter) applyLocked(ctx context.Context, c *conn, cur server, target hostapi.Target) (hostapi.Applied, error) {
	before := cur.limits()
	if before.Satisfies(target) {
		return hostapi.Applied{Before: before, After: before.Clone(), Changed: false}, nil
	}
	portsWanted, changesPorts := target[hostapi.Ports]
	var picker *portPicker
	if changesPorts {
		if !cur.allocationsKnown {
			return hostapi.Applied{}, errAllocationsUnreadable(cur.id)
		}
		have := int64(len(cur.allocations))
		if portsWanted < have {
			return hostapi.Applied{}, hostapi.Invalid(string(hostapi.Ports),
				"server %d has %d ports; lowering to %d is not supported (detaching ports from a game server is left to an admin)", cur.id, have, portsWanted)
		}
		if portsWanted > have {
			// The first pick runs before the first PATCH, so a node without
			// enough free allocations fails the apply before anything changed.
			picker = newPortPicker(c, cur)
		}
	}

	portRounds, failures := 0, 0
	for {
		var add []int64
		if picker != nil {
			if need := portsWanted - int64(len(cur.allocations)); need > 0 {
				var err error
				if add, err = picker.pick(ctx, int(need)); err != nil {
					return hostapi.Applied{}, err
				}
			}
		}
		body := buildBody(cur, target, c.flavor, add, portsWanted)
		next, err := c.patchBuild(ctx, cur.id, body)
		a.locks.wrote(c.endpoint)
		if err != nil {
			if !mayHaveApplied(err) || ctx.Err() != nil {
				return hostapi.Applied{}, err
			}
			// A 5xx or a lost answer may come after the commit (Pelican
			// answers 500 when the Wings sync fails): look before sending
			// anything again.
			patchErr := err
			c.cfg.logger.Warn("build update failed; reading the server to see whether it was applied",
				"server", cur.id, "flavor", c.flavor.String(), "error", redact(patchErr, c.key).Error())
			failures++
			if next, err = c.getServer(ctx, cur.id); err != nil {
				return hostapi.Applied{}, err
			}
			if after := next.limits(); after.Satisfies(target) {
				return hostapi.Applied{Before: before, After: after, Changed: true}, nil
			}
			if failures > c.cfg.retryMax {
				return hostapi.Applied{}, hostapi.Errorf(hostapi.CodeUnavailable,
					"pterodactyl: server %d: the build update failed %d time(s), last: %v", cur.id, failures, patchErr)
			}
			// Ports the failed update did not attach were not shown to be
			// taken: they stay candidates.
			picker.release(next, add)
			if err := sleep(ctx, jittered(c.cfg.retryWaitMin, c.cfg.retryWaitMax, failures-1)); err != nil {
				return hostapi.Applied{}, hostapi.Errorf(hostapi.CodeUnavailable, "pterodactyl: server %d: %w", cur.id, err)
			}
			cur = next
			continue
		}
		if !next.allocationsKnown && len(add) > 0 {
			// The reply did not include the allocations; the attach must be
			// seen to be believed.
			if next, err = c.getServer(ctx, cur.id); err != nil {
				return hostapi.Applied{}, err
			}
		}
		after := next.limits()
		if _, known := after[hostapi.Ports]; !known && len(add) == 0 && cur.allocationsKnown {
			// Without adds the PATCH leaves allocations alone; a reply
			// without them does not call for another request.
			after[hostapi.Ports] = int64(len(cur.allocations))
		}
		if after.Satisfies(target) {
			return hostapi.Applied{Before: before, After: after, Changed: true}, nil
		}
		diff := mismatches(after, target, hostapi.Ports)
		if diff != "" || picker == nil || int64(len(next.allocations)) > portsWanted {
			if diff == "" {
				diff = mismatches(after, target)
			}
			return hostapi.Applied{}, hostapi.Errorf(hostapi.CodeConflict,
				"pterodactyl: server %d does not hold the target after the update: %s (changed by someone else meanwhile?)", cur.id, diff)
		}
		// Only ports are short: the panel skips an allocation that someone
		// else took meanwhile, with a 200. Try other ones.
		portRounds++
		if portRounds == c.cfg.portAttempts {
			return hostapi.Applied{}, hostapi.Errorf(hostapi.CodeConflict,
				"pterodactyl: server %d has %d of %d ports: the free allocations picked were taken by others %d time(s); retry",
				cur.id, len(next.allocations), portsWanted, portRounds)
		}
		c.cfg.logger.Info("allocations were taken concurrently; trying others",
			"server", cur.id, "wanted", portsWanted, "attached", len(next.allocations))
		cur = next
	}
}

func errAllocationsUnreadable(id int64) error {
	return hostapi.Errorf(hostapi.CodePermission,
		"pterodactyl: the API key may not read allocations, so server %d's ports cannot be changed (give the key read on allocations)", id)
}

// mismatches lists the resources of target that l does not hold, skipping
// the resources in skip.
func mismatches(l hostapi.Limits, target hostapi.Target, skip ...hostapi.Resource) string {
	var out []string
	for _, r := range slices.Sorted(maps.Keys(target)) {
		if slices.Contains(skip, r) {
			continue
		}
		got, ok := l[r]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s (want %d, panel does not report it)", r, target[r]))
		case got != target[r]:
			out = append(out, fmt.Sprintf("%s (want %d, panel has %d)", r, target[r], got))
		}
	}
	return strings.Join(out, ", ")
}

// CheckCapacity reports whether target fits on the server's node, using the
// panel's own viability rule: allocated + increase <= total * (1 +
// overallocate/100), for memory and disk; and whether the node has enough
// free allocations for more ports. The panel itself never checks capacity
// on a build change.
func (a *Adapter) CheckCapacity(ctx context.Context, ref hostapi.ServerRef, target hostapi.Target) error {
	return redact(a.checkCapacity(ctx, ref, target), ref.Secret)
}

func (a *Adapter) checkCapacity(ctx context.Context, ref hostapi.ServerRef, target hostapi.Target) error {
	if err := validateTarget(target); err != nil {
		return err
	}
	c, err := a.connect(ref)
	if err != nil {
		return err
	}
	srv, err := c.findServer(ctx, ref)
	if err != nil {
		return err
	}
	cur := srv.limits()
	if _, ok := target[hostapi.Ports]; ok && !srv.allocationsKnown {
		return errAllocationsUnreadable(srv.id)
	}
	if ports, ok := target[hostapi.Ports]; ok && ports > cur[hostapi.Ports] {
		need := ports - cur[hostapi.Ports]
		// One allocation per page: the pagination total is the count.
		list, err := c.listFreeAllocations(ctx, srv.node, 1, 1)
		if err != nil {
			return err
		}
		if free := int64(list.Meta.Pagination.Total); free < need {
			return hostapi.Errorf(hostapi.CodeCapacity,
				"pterodactyl: node %d has %d free allocation(s), server %d needs %d more port(s)", srv.node, free, srv.id, need)
		}
	}
	memUp := target[hostapi.MemoryMiB] - cur[hostapi.MemoryMiB]
	diskUp := target[hostapi.DiskMiB] - cur[hostapi.DiskMiB]
	_, hasMem := target[hostapi.MemoryMiB]
	_, hasDisk := target[hostapi.DiskMiB]
	if (!hasMem || memUp <= 0) && (!hasDisk || diskUp <= 0) {
		return nil // nothing grows; a decrease always fits
	}
	node, err := c.getNode(ctx, srv.node)
	if err != nil {
		return err
	}
	n := node.Attributes
	var short []string
	if hasMem && memUp > 0 {
		if msg := overCapacity("memory", n.AllocatedResources.Memory, memUp, n.Memory, n.MemoryOverallocate); msg != "" {
			short = append(short, msg)
		}
	}
	if hasDisk && diskUp > 0 {
		if msg := overCapacity("disk", n.AllocatedResources.Disk, diskUp, n.Disk, n.DiskOverallocate); msg != "" {
			short = append(short, msg)
		}
	}
	if len(short) > 0 {
		return hostapi.Errorf(hostapi.CodeCapacity, "pterodactyl: node %d cannot take server %d's target: %s", srv.node, srv.id, strings.Join(short, "; "))
	}
	return nil
}

// overCapacity applies the panel's Node::isViable to one resource and
// describes the shortfall, or returns "" when it fits. The comparison is
// done in integers: allocated+up <= total*(100+over)/100.
//
// The admin form says an overallocation of -1 disables the check, but the
// panel's viability rule has no such case (-1 allows 99% of the total); the
// adapter follows the rule, as the research notes give it.
func overCapacity(what string, allocated, up, total, overPercent int64) string {
	if (allocated+up)*100 <= total*(100+overPercent) {
		return ""
	}
	allowed := total * (100 + overPercent) / 100
	return fmt.Sprintf("%s: %d MiB allocated + %d MiB more exceeds %d MiB (%d MiB with %d%% overallocation)",
		what, allocated, up, allowed, total, overPercent)
}

// redact removes the API key from an error's text. The adapter never puts it
// there; this guards against a panel or proxy echoing it back.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	clean := func(s string) string { return strings.ReplaceAll(s, secret, "[redacted]") }
	out := &hostapi.Error{Code: hostapi.CodeOf(err)}
	var e *hostapi.Error
	if errors.As(err, &e) {
		out.Field = clean(e.Field)
		out.Message = clean((&hostapi.Error{Code: e.Code, Message: e.Message, Err: e.Err}).Error())
	} else {
		out.Message = clean(err.Error())
	}
	// Keep cancellation recognisable; drop the rest of the cause chain,
	// whose text holds the key.
	for _, ctxErr := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ctxErr) {
			out.Err = ctxErr
		}
	}
	return out
}

// Serve runs the adapter as a plugin process, logging to stderr as the host
// expects. The upsell binary wires it to its plugin command. It never
// returns.
func Serve() {
	hostapi.ServeAdapter(New(WithLogger(hostapi.PluginLogger())))
}
