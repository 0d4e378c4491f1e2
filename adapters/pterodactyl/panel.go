package pterodactyl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/upsell-io/upsell/hostapi"
)

// flavor is the panel the adapter talks to.
type flavor int

const (
	pterodactylFlavor flavor = iota
	pelicanFlavor
)

func (f flavor) String() string {
	if f == pelicanFlavor {
		return "pelican"
	}
	return "pterodactyl"
}

// flavorOf reads the flavor from the binding's options, else from the key:
// Pelican application keys start with papp_ (peli_ before beta25).
func flavorOf(ref hostapi.ServerRef) (flavor, error) {
	switch v := strings.ToLower(strings.TrimSpace(ref.Options["flavor"])); v {
	case "pelican":
		return pelicanFlavor, nil
	case "pterodactyl":
		return pterodactylFlavor, nil
	case "":
		if strings.HasPrefix(ref.Secret, "papp_") || strings.HasPrefix(ref.Secret, "peli_") {
			return pelicanFlavor, nil
		}
		return pterodactylFlavor, nil
	default:
		return 0, hostapi.Invalid("options.flavor", "%q is neither pterodactyl nor pelican", v)
	}
}

// optInt is a JSON integer that remembers whether its key was present and
// whether it was null: the build endpoint overwrites what is not sent, so a
// missing key must never be mistaken for a zero.
type optInt struct {
	present, null bool
	v             int64
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	o.present = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.null = true
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		// The panel sends integers; a quoted number is accepted too.
		var s string
		if json.Unmarshal(b, &s) != nil {
			return err
		}
		n = json.Number(s)
	}
	v, err := n.Int64()
	if err != nil {
		return fmt.Errorf("%q is not an integer", n)
	}
	o.v = v
	return nil
}

// optString is a JSON string that remembers presence and null.
type optString struct {
	present, null bool
	v             string
}

func (o *optString) UnmarshalJSON(b []byte) error {
	o.present = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.null = true
		return nil
	}
	return json.Unmarshal(b, &o.v)
}

// serverDocument is GET /servers/{id} (and the build PATCH's reply).
type serverDocument struct {
	Object     string `json:"object"`
	Attributes struct {
		ID         int64  `json:"id"`
		Node       int64  `json:"node"`
		Allocation optInt `json:"allocation"`
		Limits     struct {
			Memory      optInt    `json:"memory"`
			Swap        optInt    `json:"swap"`
			Disk        optInt    `json:"disk"`
			IO          optInt    `json:"io"`
			CPU         optInt    `json:"cpu"`
			Threads     optString `json:"threads"`
			OOMDisabled *bool     `json:"oom_disabled"`
			OOMKiller   *bool     `json:"oom_killer"` // Pelican
		} `json:"limits"`
		FeatureLimits struct {
			Databases   optInt `json:"databases"`
			Allocations optInt `json:"allocations"`
			Backups     optInt `json:"backups"`
		} `json:"feature_limits"`
		Relationships struct {
			Allocations *allocationList `json:"allocations"`
		} `json:"relationships"`
	} `json:"attributes"`
}

type allocationList struct {
	// Object is "list", or "null_resource" when the key may not read
	// allocations.
	Object string               `json:"object"`
	Data   []allocationDocument `json:"data"`
	Meta   struct {
		Pagination struct {
			Total       int `json:"total"`
			CurrentPage int `json:"current_page"`
			TotalPages  int `json:"total_pages"`
		} `json:"pagination"`
	} `json:"meta"`
}

type allocationDocument struct {
	Attributes allocation `json:"attributes"`
}

type allocation struct {
	ID       int64  `json:"id"`
	IP       string `json:"ip"`
	Port     int    `json:"port"`
	Assigned bool   `json:"assigned"`
}

// server is what the adapter needs of a server, checked complete.
type server struct {
	id      int64
	node    int64
	primary *int64 // nil: no primary (Pelican only)

	memory, swap, disk, io, cpu int64
	threads                     *string // nil: no pinning; never sent as null
	oomDisabled                 *bool   // nil: not reported, left unchanged

	databases   *int64 // nil: unlimited
	allocLimit  *int64 // nil: not set
	backups     int64
	allocations []allocation
	// allocationsKnown is false when the key may not read allocations, so
	// the number of ports is unknown.
	allocationsKnown bool
}

// parseServer checks that doc carries every field a full-replace PATCH must
// send back; building a PATCH from a partial document would reset the
// missing values.
func parseServer(doc serverDocument) (server, error) {
	a := doc.Attributes
	if doc.Object != "server" || a.ID <= 0 {
		return server{}, hostapi.Errorf(hostapi.CodeInternal, "pterodactyl: the panel's answer is not a server document (object %q)", doc.Object)
	}
	l, f := a.Limits, a.FeatureLimits
	var missing []string
	for name, v := range map[string]optInt{
		"limits.memory": l.Memory, "limits.swap": l.Swap, "limits.disk": l.Disk, "limits.io": l.IO, "limits.cpu": l.CPU,
	} {
		if !v.present || v.null {
			missing = append(missing, name)
		}
	}
	for name, v := range map[string]optInt{
		"feature_limits.databases": f.Databases, "feature_limits.allocations": f.Allocations, "feature_limits.backups": f.Backups,
		"allocation": a.Allocation,
	} {
		if !v.present {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return server{}, hostapi.Errorf(hostapi.CodeInternal,
			"pterodactyl: the panel's server %d document lacks %s; refusing to build a full-replace update from it", a.ID, strings.Join(missing, ", "))
	}
	s := server{
		id: a.ID, node: a.Node,
		memory: l.Memory.v, swap: l.Swap.v, disk: l.Disk.v, io: l.IO.v, cpu: l.CPU.v,
		backups: f.Backups.v, // null is stored as 0
	}
	if !a.Allocation.null {
		s.primary = &a.Allocation.v
	}
	if l.Threads.present && !l.Threads.null {
		s.threads = &l.Threads.v
	}
	switch {
	case l.OOMKiller != nil: // Pelican's own field wins over its deprecated alias
		disabled := !*l.OOMKiller
		s.oomDisabled = &disabled
	case l.OOMDisabled != nil:
		s.oomDisabled = l.OOMDisabled
	}
	if !f.Databases.null {
		s.databases = &f.Databases.v
	}
	if !f.Allocations.null {
		s.allocLimit = &f.Allocations.v
	}
	if rel := a.Relationships.Allocations; rel != nil && rel.Object == "list" {
		s.allocationsKnown = true
		for _, d := range rel.Data {
			s.allocations = append(s.allocations, d.Attributes)
		}
	}
	return s, nil
}

// limits maps the server to upsell's resources.
func (s server) limits() hostapi.Limits {
	l := hostapi.Limits{
		hostapi.MemoryMiB:  s.memory,
		hostapi.SwapMiB:    s.swap,
		hostapi.DiskMiB:    s.disk,
		hostapi.IOWeight:   s.io,
		hostapi.CPUPercent: s.cpu,
		hostapi.Databases:  hostapi.Unlimited,
		hostapi.Backups:    s.backups,
	}
	if s.databases != nil {
		l[hostapi.Databases] = *s.databases
	}
	if s.allocationsKnown {
		l[hostapi.Ports] = int64(len(s.allocations))
	}
	return l
}

// primaryIP is the IP of the primary allocation, "" when unknown.
func (s server) primaryIP() string {
	for _, a := range s.allocations {
		if s.primary != nil && a.ID == *s.primary {
			return a.IP
		}
	}
	return ""
}

func (s server) hasAllocation(id int64) bool {
	for _, a := range s.allocations {
		if a.ID == id {
			return true
		}
	}
	return false
}

// buildRequest is the body of PATCH /servers/{id}/build. Every key the
// panel would otherwise reset is always sent.
type buildRequest struct {
	// Allocation is the primary; required by Pterodactyl, and read
	// unconditionally by Pelican, so it is sent even when null.
	Allocation     *int64        `json:"allocation"`
	OOMDisabled    *bool         `json:"oom_disabled,omitempty"` // Pterodactyl
	OOMKiller      *bool         `json:"oom_killer,omitempty"`   // Pelican
	Limits         buildLimits   `json:"limits"`
	FeatureLimits  buildFeatures `json:"feature_limits"`
	AddAllocations []int64       `json:"add_allocations,omitempty"`
}

type buildLimits struct {
	Memory int64 `json:"memory"`
	Swap   int64 `json:"swap"`
	Disk   int64 `json:"disk"`
	IO     int64 `json:"io"`
	CPU    int64 `json:"cpu"`
	// Threads is omitted when there is no pinning: omitted means unchanged,
	// and sending null would be a change of its own.
	Threads *string `json:"threads,omitempty"`
}

type buildFeatures struct {
	Databases   *int64 `json:"databases"`   // must be present; null is unlimited
	Allocations *int64 `json:"allocations"` // stored as null when omitted
	Backups     int64  `json:"backups"`     // must be present
}

// buildBody is the full desired state: cur's values with target's
// resources changed and add attached. portsWanted is the target's port
// count, or 0 when the target does not change ports.
func buildBody(cur server, target hostapi.Target, fl flavor, add []int64, portsWanted int64) buildRequest {
	b := buildRequest{
		Allocation: cur.primary,
		Limits: buildLimits{
			Memory: cur.memory, Swap: cur.swap, Disk: cur.disk, IO: cur.io, CPU: cur.cpu, Threads: cur.threads,
		},
		FeatureLimits:  buildFeatures{Databases: cur.databases, Allocations: cur.allocLimit, Backups: cur.backups},
		AddAllocations: add,
	}
	if cur.oomDisabled != nil {
		if fl == pelicanFlavor {
			killer := !*cur.oomDisabled
			b.OOMKiller = &killer
		} else {
			b.OOMDisabled = cur.oomDisabled
		}
	}
	for r, v := range target {
		switch r {
		case hostapi.MemoryMiB:
			b.Limits.Memory = v
		case hostapi.SwapMiB:
			b.Limits.Swap = v
		case hostapi.DiskMiB:
			b.Limits.Disk = v
		case hostapi.IOWeight:
			b.Limits.IO = v
		case hostapi.CPUPercent:
			b.Limits.CPU = v
		case hostapi.Databases:
			b.FeatureLimits.Databases = nil
			if v != hostapi.Unlimited {
				b.FeatureLimits.Databases = &v
			}
		case hostapi.Backups:
			b.FeatureLimits.Backups = v
		}
	}
	if len(add) > 0 {
		// The allocation feature limit is what the client API enforces
		// (the count includes the primary). Raise it to the new count so the
		// customer may manage the ports, but never lower a limit an admin
		// set higher.
		limit := portsWanted
		if cur.allocLimit != nil && *cur.allocLimit > limit {
			limit = *cur.allocLimit
		}
		b.FeatureLimits.Allocations = &limit
	}
	return b
}

// nodeDocument is GET /nodes/{id}.
type nodeDocument struct {
	Object     string `json:"object"`
	Attributes struct {
		ID                 int64 `json:"id"`
		Memory             int64 `json:"memory"`
		MemoryOverallocate int64 `json:"memory_overallocate"`
		Disk               int64 `json:"disk"`
		DiskOverallocate   int64 `json:"disk_overallocate"`
		AllocatedResources struct {
			Memory int64 `json:"memory"`
			Disk   int64 `json:"disk"`
		} `json:"allocated_resources"`
	} `json:"attributes"`
}

// getServer reads a server with its allocations.
func (c *conn) getServer(ctx context.Context, id int64) (server, error) {
	return c.readServer(ctx, "/servers/"+strconv.FormatInt(id, 10))
}

// getServerByExternalID finds the server whose external_id is the billing
// panel's service id (Paymenter sets it so).
func (c *conn) getServerByExternalID(ctx context.Context, serviceID uint64) (server, error) {
	return c.readServer(ctx, "/servers/external/"+url.PathEscape(strconv.FormatUint(serviceID, 10)))
}

func (c *conn) readServer(ctx context.Context, path string) (server, error) {
	var doc serverDocument
	if err := c.do(ctx, http.MethodGet, path, url.Values{"include": {"allocations"}}, nil, &doc); err != nil {
		return server{}, err
	}
	return parseServer(doc)
}

// patchBuild sends a build update and returns the server it answers with.
func (c *conn) patchBuild(ctx context.Context, id int64, body buildRequest) (server, error) {
	var doc serverDocument
	path := "/servers/" + strconv.FormatInt(id, 10) + "/build"
	if err := c.do(ctx, http.MethodPatch, path, url.Values{"include": {"allocations"}}, body, &doc); err != nil {
		return server{}, err
	}
	return parseServer(doc)
}

func (c *conn) getNode(ctx context.Context, id int64) (nodeDocument, error) {
	var doc nodeDocument
	err := c.do(ctx, http.MethodGet, "/nodes/"+strconv.FormatInt(id, 10), nil, nil, &doc)
	return doc, err
}

// listFreeAllocations returns one page of the node's unassigned
// allocations. filter[server_id]=0 selects free ones (an empty value would be
// ignored and list them all). The pagination links drop per_page and the
// filter, so pages are asked for by number.
func (c *conn) listFreeAllocations(ctx context.Context, node int64, page, perPage int) (allocationList, error) {
	var list allocationList
	q := url.Values{
		"filter[server_id]": {"0"},
		"per_page":          {strconv.Itoa(perPage)},
		"page":              {strconv.Itoa(page)},
	}
	err := c.do(ctx, http.MethodGet, "/nodes/"+strconv.FormatInt(node, 10)+"/allocations", q, nil, &list)
	return list, err
}
