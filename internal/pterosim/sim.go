package pterosim

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Flavor selects which panel the simulator behaves like.
type Flavor int

const (
	// Pterodactyl is pterodactyl/panel 1.11.x.
	Pterodactyl Flavor = iota
	// Pelican is pelican-dev/panel main after v1.0.0-beta38.
	Pelican
)

func (f Flavor) String() string {
	if f == Pelican {
		return "pelican"
	}
	return "pterodactyl"
}

// Permission is one bit of an Application API key's per-resource ACL.
type Permission uint8

// The ACL bits, as stored in the key's r_* columns.
const (
	PermRead  Permission = 1
	PermWrite Permission = 2
)

// ACL mirrors the r_servers, r_nodes and r_allocations columns of an
// Application API key (the only resources the simulator serves).
type ACL struct {
	Servers     Permission
	Nodes       Permission
	Allocations Permission
}

// APIKey is an Application API key the simulator accepts.
type APIKey struct {
	// Token is the full bearer token, for example "ptla_" or "papp_" followed by
	// the rest of the 48-character token.
	Token string
	// Owner is the uuid of the admin user owning the key. The rate limit is
	// keyed by it, so keys with the same owner share one budget. If it is empty,
	// the key belongs to DefaultOwner.
	Owner string
	// ACL restricts the key; nil grants read and write on every resource.
	ACL *ACL
	// NotAdmin makes every request with this key fail with 403, as when the
	// owner is not (or is no longer) an administrator.
	NotAdmin bool
}

// DefaultOwner owns every APIKey that names no owner.
const DefaultOwner = "00000000-0000-4000-8000-000000000001"

// RateLimit configures the throttle:api.application limiter.
type RateLimit struct {
	// Disabled turns rate limiting off.
	Disabled bool
	// Limit is the number of requests per window; 0 means the flavor's default
	// (240 for Pterodactyl, 256 for Pelican).
	Limit int
	// Window is the length of the fixed window; 0 means one minute.
	Window time.Duration
}

// Config configures a Sim.
type Config struct {
	Flavor    Flavor
	Keys      []APIKey
	RateLimit RateLimit
	// Now is the clock used for rate limiting and timestamps; nil means time.Now.
	// Tests inject a fake clock to expire rate limit windows without sleeping.
	Now func() time.Time
}

// Node is a Wings node. Zero values of UUID, Scheme, UploadSize,
// DaemonListen, DaemonSFTP and DaemonBase are replaced by the panel's defaults.
type Node struct {
	ID                 int
	UUID               string
	Public             bool
	Name               string
	Description        string
	LocationID         int
	FQDN               string
	Scheme             string
	BehindProxy        bool
	MaintenanceMode    bool
	Memory             int // MiB
	MemoryOverallocate int // percent
	Disk               int // MiB
	DiskOverallocate   int // percent
	UploadSize         int
	DaemonListen       int
	DaemonSFTP         int
	DaemonBase         string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Allocation is an ip:port on a node.
type Allocation struct {
	ID       int
	NodeID   int
	IP       string
	Alias    string // "" is null
	Port     int
	Notes    string // "" is null
	ServerID int    // 0 means free (server_id IS NULL)
}

// Limits are a server's resource limits, as in the limits object of the API.
type Limits struct {
	Memory      int     // MiB, 0 = unlimited
	Swap        int     // MiB, -1 = unlimited, 0 = disabled
	Disk        int     // MiB, 0 = unlimited
	IO          int     // blkio weight
	CPU         int     // percent of one thread, 0 = unlimited
	Threads     *string // CPU pinning such as "0-1,3"; nil = none
	OOMDisabled bool    // Pelican exposes its negation as oom_killer
}

// FeatureLimits are a server's feature limits.
type FeatureLimits struct {
	Databases   *int // nil = unlimited
	Allocations *int // nil = not set
	Backups     int
}

// Container is the container block of a server.
type Container struct {
	StartupCommand string
	Image          string
	Environment    map[string]string
}

// Server is a game server.
type Server struct {
	ID            int
	ExternalID    string // "" is null
	UUID          string // the identifier is its first 8 characters
	Name          string
	Description   string
	Status        string // "" is null: installed and normal
	Limits        Limits
	FeatureLimits FeatureLimits
	UserID        int
	NodeID        int
	// AllocationID is the primary allocation; 0 means none, which only Pelican
	// allows.
	AllocationID int
	// AdditionalAllocations are the server's other allocations. AddServer
	// assigns them; snapshots list them in id order.
	AdditionalAllocations []int
	NestID                int
	EggID                 int
	Container             Container
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// Errors returned by the state setup API.
var (
	ErrNotFound = errors.New("pterosim: not found")
	ErrConflict = errors.New("pterosim: conflict")
	ErrInvalid  = errors.New("pterosim: invalid")
)

// Fault makes matching requests fail before the panel handles them, as a
// crashing PHP worker or a failing reverse proxy would.
type Fault struct {
	Method     string // "" matches any method
	PathPrefix string // "" matches any path; otherwise a prefix of the URL path
	Status     int    // 0 means 500; 502 and 504 get a proxy's HTML page
	Count      int    // number of requests to fail; 0 means 1
}

// RecordedRequest is what the simulator saw of a request.
type RecordedRequest struct {
	Method string
	URL    string // path and query
	Header http.Header
	Body   []byte
}

// Sim is the simulated panel. Create it with New; it implements http.Handler.
type Sim struct {
	flavor    Flavor
	keys      map[string]APIKey
	rateLimit RateLimit
	now       func() time.Time

	mu          sync.Mutex
	nodes       map[int]*Node
	allocations map[int]*Allocation
	servers     map[int]*Server
	lastID      struct{ node, allocation, server int }
	buckets     map[string]*bucket

	faults            []Fault
	latency           time.Duration
	wingsSyncFailures int
	steal             *stealPlan

	requests  map[string]int
	last      map[string]RecordedRequest
	throttled int
}

type stealPlan struct {
	byServerID    int
	allocationIDs []int
}

// New returns a simulator with no nodes, allocations or servers.
func New(cfg Config) *Sim {
	s := &Sim{
		flavor:      cfg.Flavor,
		keys:        make(map[string]APIKey, len(cfg.Keys)),
		rateLimit:   cfg.RateLimit,
		now:         cfg.Now,
		nodes:       map[int]*Node{},
		allocations: map[int]*Allocation{},
		servers:     map[int]*Server{},
		buckets:     map[string]*bucket{},
		requests:    map[string]int{},
		last:        map[string]RecordedRequest{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rateLimit.Limit <= 0 {
		s.rateLimit.Limit = 240
		if cfg.Flavor == Pelican {
			s.rateLimit.Limit = 256
		}
	}
	if s.rateLimit.Window <= 0 {
		s.rateLimit.Window = time.Minute
	}
	for _, k := range cfg.Keys {
		if k.Owner == "" {
			k.Owner = DefaultOwner
		}
		s.keys[k.Token] = k
	}
	return s
}

// Flavor reports which panel the simulator behaves like.
func (s *Sim) Flavor() Flavor { return s.flavor }

// AddNode adds a node and returns its id (n.ID if set, else the next free id).
func (s *Sim) AddNode(n Node) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.ID == 0 {
		n.ID = s.lastID.node + 1
	}
	if _, dup := s.nodes[n.ID]; dup {
		return 0, fmt.Errorf("node %d: %w", n.ID, ErrConflict)
	}
	s.lastID.node = max(s.lastID.node, n.ID)
	now := s.now().UTC()
	n.UUID = cmp.Or(n.UUID, newUUID())
	n.Name = cmp.Or(n.Name, fmt.Sprintf("node-%d", n.ID))
	n.Scheme = cmp.Or(n.Scheme, "https")
	n.UploadSize = cmp.Or(n.UploadSize, 100)
	n.DaemonListen = cmp.Or(n.DaemonListen, 8080)
	n.DaemonSFTP = cmp.Or(n.DaemonSFTP, 2022)
	n.DaemonBase = cmp.Or(n.DaemonBase, "/var/lib/pterodactyl/volumes")
	n.CreatedAt = cmp.Or(n.CreatedAt, now)
	n.UpdatedAt = cmp.Or(n.UpdatedAt, now)
	s.nodes[n.ID] = &n
	return n.ID, nil
}

// AddAllocations adds free allocations ip:port on a node and returns their
// ids in the order of ports. Ports must be 1024..65535, as the panel's
// AssignmentService requires, and ip:port must be new on the node.
func (s *Sim) AddAllocations(nodeID int, ip string, ports ...int) ([]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.nodes[nodeID]; !ok {
		return nil, fmt.Errorf("node %d: %w", nodeID, ErrNotFound)
	}
	taken := map[int]bool{}
	for _, a := range s.allocations {
		if a.NodeID == nodeID && a.IP == ip {
			taken[a.Port] = true
		}
	}
	for _, p := range ports {
		if p < 1024 || p > 65535 {
			return nil, fmt.Errorf("port %d outside 1024..65535: %w", p, ErrInvalid)
		}
		if taken[p] {
			return nil, fmt.Errorf("allocation %s:%d on node %d: %w", ip, p, nodeID, ErrConflict)
		}
		taken[p] = true
	}
	ids := make([]int, 0, len(ports))
	for _, p := range ports {
		s.lastID.allocation++
		id := s.lastID.allocation
		s.allocations[id] = &Allocation{ID: id, NodeID: nodeID, IP: ip, Port: p}
		ids = append(ids, id)
	}
	return ids, nil
}

// AddServer adds a server and returns its id (srv.ID if set, else the next
// free id). Its primary and additional allocations must be free allocations on
// its node; they are assigned to it.
func (s *Sim) AddServer(srv Server) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv.ID == 0 {
		srv.ID = s.lastID.server + 1
	}
	if _, dup := s.servers[srv.ID]; dup {
		return 0, fmt.Errorf("server %d: %w", srv.ID, ErrConflict)
	}
	if _, ok := s.nodes[srv.NodeID]; !ok {
		return 0, fmt.Errorf("server %d: node %d: %w", srv.ID, srv.NodeID, ErrNotFound)
	}
	if srv.ExternalID != "" {
		if len(srv.ExternalID) > 191 {
			return 0, fmt.Errorf("server %d: external id longer than 191 characters: %w", srv.ID, ErrInvalid)
		}
		for _, other := range s.servers {
			if other.ExternalID == srv.ExternalID {
				return 0, fmt.Errorf("server %d: external id %q: %w", srv.ID, srv.ExternalID, ErrConflict)
			}
		}
	}
	if srv.AllocationID == 0 && s.flavor == Pterodactyl {
		return 0, fmt.Errorf("server %d: a Pterodactyl server needs a primary allocation: %w", srv.ID, ErrInvalid)
	}
	ids := srv.AdditionalAllocations
	if srv.AllocationID != 0 {
		ids = append([]int{srv.AllocationID}, ids...)
	}
	for i, id := range ids {
		a, ok := s.allocations[id]
		switch {
		case !ok:
			return 0, fmt.Errorf("server %d: allocation %d: %w", srv.ID, id, ErrNotFound)
		case a.NodeID != srv.NodeID:
			return 0, fmt.Errorf("server %d: allocation %d is on node %d: %w", srv.ID, id, a.NodeID, ErrInvalid)
		case a.ServerID != 0 || slices.Contains(ids[:i], id):
			return 0, fmt.Errorf("server %d: allocation %d: %w", srv.ID, id, ErrConflict)
		}
	}
	for _, id := range ids {
		s.allocations[id].ServerID = srv.ID
	}
	s.lastID.server = max(s.lastID.server, srv.ID)
	now := s.now().UTC()
	srv.UUID = cmp.Or(srv.UUID, newUUID())
	srv.Name = cmp.Or(srv.Name, fmt.Sprintf("server-%d", srv.ID))
	srv.CreatedAt = cmp.Or(srv.CreatedAt, now)
	srv.UpdatedAt = cmp.Or(srv.UpdatedAt, now)
	srv.AdditionalAllocations = nil // derived from the allocations from now on
	srv.Container.Environment = maps.Clone(srv.Container.Environment)
	srv.Limits.Threads = clonePtr(srv.Limits.Threads)
	srv.FeatureLimits = cloneFeatureLimits(srv.FeatureLimits)
	s.servers[srv.ID] = &srv
	return srv.ID, nil
}

// Server returns a snapshot of a server.
func (s *Sim) Server(id int) (Server, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv, ok := s.servers[id]
	if !ok {
		return Server{}, false
	}
	out := *srv
	out.Container.Environment = maps.Clone(srv.Container.Environment)
	out.Limits.Threads = clonePtr(srv.Limits.Threads)
	out.FeatureLimits = cloneFeatureLimits(srv.FeatureLimits)
	for _, a := range s.serverAllocations(srv.ID) {
		if a.ID != srv.AllocationID {
			out.AdditionalAllocations = append(out.AdditionalAllocations, a.ID)
		}
	}
	return out, true
}

// Node returns a snapshot of a node.
func (s *Sim) Node(id int) (Node, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[id]
	if !ok {
		return Node{}, false
	}
	return *n, true
}

// Allocation returns a snapshot of an allocation.
func (s *Sim) Allocation(id int) (Allocation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.allocations[id]
	if !ok {
		return Allocation{}, false
	}
	return *a, true
}

// SetServerLimits overwrites a server's limits and feature limits, as another
// program would (for example Paymenter re-applying a product on upgrade).
func (s *Sim) SetServerLimits(id int, limits Limits, features FeatureLimits) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv, ok := s.servers[id]
	if !ok {
		return fmt.Errorf("server %d: %w", id, ErrNotFound)
	}
	limits.Threads = clonePtr(limits.Threads)
	srv.Limits = limits
	srv.FeatureLimits = cloneFeatureLimits(features)
	srv.UpdatedAt = s.now().UTC()
	return nil
}

// InjectFault queues a fault. Faults are consumed in the order they were
// queued; a request is failed by the first queued fault that matches it.
func (s *Sim) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Status = cmp.Or(f.Status, http.StatusInternalServerError)
	f.Count = max(f.Count, 1)
	s.faults = append(s.faults, f)
}

// ClearFaults drops every injected fault not yet used: the panel recovers.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetLatency delays every response by d. The delay comes after the request
// has been processed, as with a slow Wings sync after the commit. A client
// that gives up (the request context is cancelled) gets no response, but its
// change may already be committed.
func (s *Sim) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// FailWingsSync makes the Wings sync after the next n successful build PATCHes
// fail with an HTTP error from Wings. Pterodactyl swallows this and answers
// 200. Pelican does not catch it and answers 500, although the change was
// already committed.
func (s *Sim) FailWingsSync(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wingsSyncFailures = n
}

// StealOnNextBuild simulates a concurrent request that wins a race. Just
// before the next build PATCH is processed, every listed allocation that is
// still free is assigned to byServerID, so the PATCH's add of it is skipped
// silently.
func (s *Sim) StealOnNextBuild(byServerID int, allocationIDs ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steal = &stealPlan{byServerID: byServerID, allocationIDs: slices.Clone(allocationIDs)}
}

// Requests returns how many requests were received for a route, such as
// RouteUpdateBuild.
func (s *Sim) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[route]
}

// RequestCounts returns the number of requests received per route.
func (s *Sim) RequestCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.requests)
}

// LastRequest returns the last request received for a route.
func (s *Sim) LastRequest(route string) (RecordedRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.last[route]
	if !ok {
		return RecordedRequest{}, false
	}
	r.Header = r.Header.Clone()
	r.Body = slices.Clone(r.Body)
	return r, true
}

// Throttled returns how many 429 responses were served.
func (s *Sim) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// ResetStats clears the request counters, the recorded requests and the 429
// count. State, knobs and rate limit windows are kept.
func (s *Sim) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = map[string]int{}
	s.last = map[string]RecordedRequest{}
	s.throttled = 0
}

// serverAllocations returns the allocations assigned to a server in id order.
func (s *Sim) serverAllocations(serverID int) []*Allocation {
	var out []*Allocation
	for _, a := range s.allocations {
		if a.ServerID == serverID {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *Allocation) int { return a.ID - b.ID })
	return out
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneFeatureLimits(f FeatureLimits) FeatureLimits {
	f.Databases = clonePtr(f.Databases)
	f.Allocations = clonePtr(f.Allocations)
	return f
}
