// Package filepanel is an example upsell resource adapter. Its "panel" is a
// directory that keeps each server's limits in a JSON file, which makes the
// parts every adapter needs easy to see without a real API in the way:
//
//   - absolute targets: Apply sets the listed resources to the given values
//     and keeps everything else in the file as it was;
//   - idempotency: a target already in place is a no-op (Changed=false);
//   - verification: After is read back from the file after writing it;
//   - serialization: one lock per server, so two applies cannot interleave
//     their read-modify-write;
//   - atomic writes: a temporary file renamed over the old one, so a crash
//     never leaves half a file;
//   - typed errors: hostapi.CodeNotFound, CodeInvalid (with the field),
//     CodePermission, CodeUnavailable, CodeCapacity;
//   - cancellation: the context is checked before each step that changes
//     anything;
//   - the secret (the panel's token) never appears in an error.
//
// The panel's layout under the endpoint directory (ServerRef.Endpoint is
// file:///that/directory or the bare absolute path):
//
//	token                 the panel's API token; ServerRef.Secret must match it
//	servers/<name>.json   {"name": "...", "limits": {"memory_mib": 1024, ...}}
//	capacity.json         optional: {"memory_mib": 65536, ...}, the totals
//	                      that all servers together may use
//
// A server's <name> is ServerRef.ServerID, or service-<ServiceID> when the
// binding stores no server id.
package filepanel

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/upsell-io/upsell/hostapi"
)

// Name is the adapter's name. upsell's configuration must register the
// plugin under the same name (plugins.external[].name).
const Name = "filepanel"

// Version is reported by Describe.
const Version = "0.1.0"

// supported are the resources this panel can set.
var supported = []hostapi.Resource{hostapi.MemoryMiB, hostapi.DiskMiB, hostapi.CPUPercent}

// serverName keeps ServerRef.ServerID from escaping the servers directory.
var serverName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// Adapter implements hostapi.Adapter for the file-backed panel.
type Adapter struct {
	locks keyedMutex
}

var _ hostapi.Adapter = (*Adapter)(nil)

// New returns the adapter.
func New() *Adapter { return &Adapter{} }

// Describe tells the host what the adapter serves.
func (a *Adapter) Describe(context.Context) (hostapi.AdapterInfo, error) {
	return hostapi.AdapterInfo{Name: Name, Version: Version, Panels: []string{"FilePanel"}, Resources: slices.Clone(supported)}, nil
}

// Configure receives the settings of the plugin's entry in upsell's
// configuration. This adapter has none, and refuses unknown ones so that a
// typo is reported instead of ignored.
func (a *Adapter) Configure(_ context.Context, _ hostapi.Host, settings map[string]string) error {
	if len(settings) > 0 {
		return hostapi.Invalid(slices.Sorted(maps.Keys(settings))[0], "the filepanel adapter has no settings")
	}
	return nil
}

// Read returns the server's limits.
func (a *Adapter) Read(ctx context.Context, ref hostapi.ServerRef) (hostapi.Limits, error) {
	p, err := open(ctx, ref)
	if err != nil {
		return nil, err
	}
	doc, err := p.read()
	if err != nil {
		return nil, err
	}
	return doc.limits, nil
}

// Apply sets the server to target and verifies it.
func (a *Adapter) Apply(ctx context.Context, ref hostapi.ServerRef, target hostapi.Target) (hostapi.Applied, error) {
	// Validate the whole target before touching anything.
	if err := validate(target); err != nil {
		return hostapi.Applied{}, err
	}
	p, err := open(ctx, ref)
	if err != nil {
		return hostapi.Applied{}, err
	}
	unlock, err := a.locks.lock(ctx, p.file)
	if err != nil {
		return hostapi.Applied{}, hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: waiting for another change of %s: %w", p.name, err)
	}
	defer unlock()

	// Read under the lock: the state to change is the state now.
	doc, err := p.read()
	if err != nil {
		return hostapi.Applied{}, err
	}
	before := doc.limits.Clone()
	if before.Satisfies(target) {
		return hostapi.Applied{Before: before, After: before.Clone(), Changed: false}, nil
	}
	// Absolute target: set the listed resources, keep the rest.
	maps.Copy(doc.limits, target)
	if err := ctx.Err(); err != nil {
		return hostapi.Applied{}, hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: %s not changed: %w", p.name, err)
	}
	if err := p.write(doc); err != nil {
		return hostapi.Applied{}, err
	}
	// Verify by reading back what the panel holds.
	after, err := p.read()
	if err != nil {
		return hostapi.Applied{}, err
	}
	if !after.limits.Satisfies(target) {
		return hostapi.Applied{}, hostapi.Errorf(hostapi.CodeConflict, "filepanel: %s does not hold the target after writing it", p.name)
	}
	return hostapi.Applied{Before: before, After: after.limits, Changed: true}, nil
}

// CheckCapacity tells whether target fits within capacity.json: the sum of
// a resource over all servers, with this server at its target, may not
// exceed the total. Without capacity.json everything fits.
func (a *Adapter) CheckCapacity(ctx context.Context, ref hostapi.ServerRef, target hostapi.Target) error {
	if err := validate(target); err != nil {
		return err
	}
	p, err := open(ctx, ref)
	if err != nil {
		return err
	}
	doc, err := p.read()
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(p.dir, "capacity.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: reading capacity: %w", err)
	}
	var capacity map[hostapi.Resource]int64
	if err := json.Unmarshal(raw, &capacity); err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "filepanel: capacity.json: %w", err)
	}
	used, err := p.totals()
	if err != nil {
		return err
	}
	for _, r := range slices.Sorted(maps.Keys(target)) {
		total, limited := capacity[r]
		if !limited {
			continue
		}
		if want := used[r] - doc.limits[r] + target[r]; want > total {
			return hostapi.Errorf(hostapi.CodeCapacity, "filepanel: %s: %d in use, %d more would exceed the total of %d",
				r, used[r], target[r]-doc.limits[r], total)
		}
	}
	return nil
}

func validate(target hostapi.Target) error {
	if len(target) == 0 {
		return hostapi.Invalid("target", "empty target")
	}
	for _, r := range slices.Sorted(maps.Keys(target)) {
		if !slices.Contains(supported, r) {
			return hostapi.Invalid(string(r), "the filepanel adapter does not set %q (it sets %v)", r, supported)
		}
		if target[r] < 0 {
			return hostapi.Invalid(string(r), "%d is negative", target[r])
		}
	}
	return nil
}

// panel is one server on one panel, with the caller authenticated.
type panel struct {
	dir  string
	name string
	file string
}

// open checks the reference and the credentials. A panel directory that is
// missing is "down" (CodeUnavailable), as an unreachable API would be.
func open(ctx context.Context, ref hostapi.ServerRef) (*panel, error) {
	if err := ctx.Err(); err != nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: %w", err)
	}
	dir, err := endpointDir(ref.Endpoint)
	if err != nil {
		return nil, err
	}
	name := ref.ServerID
	if name == "" {
		if ref.ServiceID == 0 {
			return nil, hostapi.Invalid("server_id", "neither a server id nor a service id")
		}
		name = "service-" + strconv.FormatUint(ref.ServiceID, 10)
	}
	if !serverName.MatchString(name) {
		return nil, hostapi.Invalid("server_id", "%q is not a server name of this panel", name)
	}
	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		// Never include the token or the caller's secret in the message.
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: panel at %s is not reachable: %v", dir, errors.Unwrap(err))
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(string(token))), []byte(ref.Secret)) != 1 {
		return nil, hostapi.Errorf(hostapi.CodePermission, "filepanel: the panel at %s refused the token", dir)
	}
	return &panel{dir: dir, name: name, file: filepath.Join(dir, "servers", name+".json")}, nil
}

// endpointDir turns file:///dir or /dir into a directory path.
func endpointDir(endpoint string) (string, error) {
	path := endpoint
	if strings.HasPrefix(endpoint, "file:") {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return "", hostapi.Invalid("endpoint", "not a local file URL")
		}
		path = u.Path
	}
	if !filepath.IsAbs(path) {
		return "", hostapi.Invalid("endpoint", "%q is not file:///absolute/path", endpoint)
	}
	return filepath.Clean(path), nil
}

// document is a server file. Fields other than limits are kept as they are,
// so a write never drops what another program stored.
type document struct {
	fields map[string]json.RawMessage
	limits hostapi.Limits
}

func (p *panel) read() (document, error) {
	raw, err := os.ReadFile(p.file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return document{}, hostapi.Errorf(hostapi.CodeNotFound, "filepanel: no server %q", p.name)
	case err != nil:
		return document{}, hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: reading %s: %v", p.name, errors.Unwrap(err))
	}
	doc := document{limits: hostapi.Limits{}}
	if err := json.Unmarshal(raw, &doc.fields); err != nil {
		return document{}, hostapi.Errorf(hostapi.CodeInternal, "filepanel: server %s: %w", p.name, err)
	}
	if l, ok := doc.fields["limits"]; ok {
		if err := json.Unmarshal(l, &doc.limits); err != nil {
			return document{}, hostapi.Errorf(hostapi.CodeInternal, "filepanel: server %s limits: %w", p.name, err)
		}
	}
	return doc, nil
}

// write replaces the server file atomically: a reader sees the old file or
// the new one, never a mix, even if the process dies halfway.
func (p *panel) write(doc document) error {
	limits, err := json.Marshal(doc.limits)
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "filepanel: %w", err)
	}
	doc.fields["limits"] = limits
	data, err := json.MarshalIndent(doc.fields, "", "  ")
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "filepanel: %w", err)
	}
	dir := filepath.Dir(p.file)
	tmp, err := os.CreateTemp(dir, "."+p.name+".*.tmp")
	if err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: writing %s: %v", p.name, errors.Unwrap(err))
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: writing %s: %v", p.name, err)
	}
	// Flush to disk before the rename makes the file visible.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: writing %s: %v", p.name, err)
	}
	if err := tmp.Close(); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: writing %s: %v", p.name, err)
	}
	if err := os.Rename(tmp.Name(), p.file); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "filepanel: replacing %s: %v", p.name, errors.Unwrap(err))
	}
	// Persist the rename itself.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: the data is already safe in the file
		d.Close()
	}
	return nil
}

// totals sums every server's limits.
func (p *panel) totals() (hostapi.Limits, error) {
	files, err := filepath.Glob(filepath.Join(p.dir, "servers", "*.json"))
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodeInternal, "filepanel: %w", err)
	}
	sum := hostapi.Limits{}
	for _, f := range files {
		other := &panel{dir: p.dir, name: strings.TrimSuffix(filepath.Base(f), ".json"), file: f}
		doc, err := other.read()
		if errors.Is(err, hostapi.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		for r, v := range doc.limits {
			sum[r] += v
		}
	}
	return sum, nil
}

// keyedMutex is one lock per key, which gives up when the context ends.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*entry
}

type entry struct {
	sem  chan struct{}
	refs int
}

func (k *keyedMutex) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*entry{}
	}
	e, ok := k.locks[key]
	if !ok {
		e = &entry{sem: make(chan struct{}, 1)}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case e.sem <- struct{}{}:
		return func() { <-e.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, fmt.Errorf("lock %s: %w", filepath.Base(key), ctx.Err())
	}
}
