package pterosim

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const defaultPerPage = 50

// atomTime is PHP's DATE_ATOM, which toAtomString uses.
const atomTime = "2006-01-02T15:04:05-07:00"

var nullResource = map[string]any{"object": "null_resource", "attributes": nil}

func readServers(a ACL) Permission     { return a.Servers }
func readNodes(a ACL) Permission       { return a.Nodes }
func readAllocations(a ACL) Permission { return a.Allocations }

// getServer is GET /servers/{id} and GET /servers/external/{external_id}.
func (s *Sim) getServer(req *apiRequest) reply {
	srv, found := s.boundServer(req)
	if !found {
		return failed(notFound())
	}
	if !req.can(readServers, PermRead) {
		return failed(forbidden("This action is unauthorized."))
	}
	return success(s.serverDocument(srv, req))
}

// listServers is GET /servers with the query-builder filters and sorts.
func (s *Sim) listServers(req *apiRequest) reply {
	if !req.can(readServers, PermRead) {
		return failed(forbidden("This action is unauthorized."))
	}
	filters, fail := queryFilters(req.Request, "uuid", "uuidShort", "name", "description", "image", "external_id")
	if fail != nil {
		return failed(fail)
	}
	sorts, fail := querySorts(req.Request, "id", "uuid")
	if fail != nil {
		return failed(fail)
	}
	var matched []*Server
	for _, srv := range s.servers {
		// Plain filter names are partial filters: a case-insensitive LIKE
		// %value%, where a comma-separated value matches any of its parts.
		if partialMatch(filters["uuid"], srv.UUID) && partialMatch(filters["uuidShort"], identifier(srv)) &&
			partialMatch(filters["name"], srv.Name) && partialMatch(filters["description"], srv.Description) &&
			partialMatch(filters["image"], srv.Container.Image) && partialMatch(filters["external_id"], srv.ExternalID) {
			matched = append(matched, srv)
		}
	}
	slices.SortFunc(matched, func(a, b *Server) int {
		for _, sort := range sorts {
			field, desc := strings.CutPrefix(sort, "-")
			c := a.ID - b.ID
			if field == "uuid" {
				c = strings.Compare(a.UUID, b.UUID)
			}
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return a.ID - b.ID
	})
	p := pageOf(req.Request, len(matched))
	data := []any{}
	for _, srv := range pageItems(matched, p) {
		data = append(data, s.serverDocument(srv, req))
	}
	return success(map[string]any{"object": "list", "data": data, "meta": p.meta(req.Request, len(data))})
}

// getNode is GET /nodes/{node}.
func (s *Sim) getNode(req *apiRequest) reply {
	n, found := s.boundNode(req.route.param)
	if !found {
		return failed(notFound())
	}
	if !req.can(readNodes, PermRead) {
		return failed(forbidden("This action is unauthorized."))
	}
	return success(s.nodeDocument(n))
}

// listNodeAllocations is GET /nodes/{node}/allocations.
func (s *Sim) listNodeAllocations(req *apiRequest) reply {
	n, found := s.boundNode(req.route.param)
	if !found {
		return failed(notFound())
	}
	if !req.can(readAllocations, PermRead) {
		return failed(forbidden("This action is unauthorized."))
	}
	filters, fail := queryFilters(req.Request, "ip", "port", "ip_alias", "server_id")
	if fail != nil {
		return failed(fail)
	}
	var matched []*Allocation
	for _, a := range s.allocations {
		if a.NodeID == n.ID && exactMatch(filters["ip"], a.IP) && exactMatch(filters["port"], strconv.Itoa(a.Port)) &&
			(filters["ip_alias"] == "" || (a.Alias != "" && partialMatch(filters["ip_alias"], a.Alias))) &&
			serverIDMatch(filters["server_id"], a.ServerID) {
			matched = append(matched, a)
		}
	}
	slices.SortFunc(matched, func(a, b *Allocation) int { return a.ID - b.ID })
	p := pageOf(req.Request, len(matched))
	data := []any{}
	for _, a := range pageItems(matched, p) {
		data = append(data, allocationDocument(a))
	}
	return success(map[string]any{"object": "list", "data": data, "meta": p.meta(req.Request, len(data))})
}

func (s *Sim) boundNode(param string) (*Node, bool) {
	for _, n := range s.nodes {
		if strconv.Itoa(n.ID) == param {
			return n, true
		}
	}
	return nil, false
}

// serverDocument is ServerTransformer output with the requested includes.
func (s *Sim) serverDocument(srv *Server, req *apiRequest) map[string]any {
	l, f := srv.Limits, srv.FeatureLimits
	limits := map[string]any{
		"memory": l.Memory, "swap": l.Swap, "disk": l.Disk, "io": l.IO, "cpu": l.CPU,
		"threads": nullable(l.Threads), "oom_disabled": l.OOMDisabled,
	}
	installed := 1
	if srv.Status == "installing" || srv.Status == "install_failed" {
		installed = 0
	}
	env := map[string]string{}
	for k, v := range srv.Container.Environment {
		env[k] = v
	}
	attrs := map[string]any{
		"id":          srv.ID,
		"external_id": nullString(srv.ExternalID),
		"uuid":        srv.UUID,
		"identifier":  identifier(srv),
		"name":        srv.Name,
		"description": srv.Description,
		"status":      nullString(srv.Status),
		"suspended":   srv.Status == "suspended",
		"limits":      limits,
		"feature_limits": map[string]any{
			"databases": nullable(f.Databases), "allocations": nullable(f.Allocations), "backups": f.Backups,
		},
		"user":       srv.UserID,
		"node":       srv.NodeID,
		"allocation": srv.AllocationID,
		"nest":       srv.NestID,
		"egg":        srv.EggID,
		"container": map[string]any{
			"startup_command": srv.Container.StartupCommand,
			"image":           srv.Container.Image,
			"installed":       installed,
			"environment":     env,
		},
		"updated_at": atom(srv.UpdatedAt),
		"created_at": atom(srv.CreatedAt),
	}
	if s.flavor == Pelican {
		delete(attrs, "nest")
		limits["oom_killer"] = !l.OOMDisabled
		if srv.AllocationID == 0 {
			attrs["allocation"] = nil
		}
	}
	// Fractal ignores includes the transformer does not offer; of the offered
	// ones the simulator serves allocations and node.
	relationships := map[string]any{}
	for name := range strings.SplitSeq(req.URL.Query().Get("include"), ",") {
		switch strings.TrimSpace(name) {
		case "allocations":
			relationships["allocations"] = nullResource
			if req.can(readAllocations, PermRead) {
				data := []any{}
				for _, a := range s.serverAllocations(srv.ID) {
					data = append(data, allocationDocument(a))
				}
				relationships["allocations"] = map[string]any{"object": "list", "data": data}
			}
		case "node":
			relationships["node"] = nullResource
			if req.can(readNodes, PermRead) {
				relationships["node"] = s.nodeDocument(s.nodes[srv.NodeID])
			}
		}
	}
	if len(relationships) > 0 {
		attrs["relationships"] = relationships
	}
	return map[string]any{"object": "server", "attributes": attrs}
}

// nodeDocument is NodeTransformer output, including allocated_resources.
func (s *Sim) nodeDocument(n *Node) map[string]any {
	var memory, disk int
	for _, srv := range s.servers {
		if srv.NodeID == n.ID {
			memory += srv.Limits.Memory
			disk += srv.Limits.Disk
		}
	}
	return map[string]any{"object": "node", "attributes": map[string]any{
		"id": n.ID, "uuid": n.UUID, "public": n.Public, "name": n.Name, "description": n.Description,
		"location_id": n.LocationID, "fqdn": n.FQDN, "scheme": n.Scheme, "behind_proxy": n.BehindProxy,
		"maintenance_mode": n.MaintenanceMode, "memory": n.Memory, "memory_overallocate": n.MemoryOverallocate,
		"disk": n.Disk, "disk_overallocate": n.DiskOverallocate, "upload_size": n.UploadSize,
		"daemon_listen": n.DaemonListen, "daemon_sftp": n.DaemonSFTP, "daemon_base": n.DaemonBase,
		"created_at": atom(n.CreatedAt), "updated_at": atom(n.UpdatedAt),
		"allocated_resources": map[string]any{"memory": memory, "disk": disk},
	}}
}

func allocationDocument(a *Allocation) map[string]any {
	return map[string]any{"object": "allocation", "attributes": map[string]any{
		"id": a.ID, "ip": a.IP, "alias": nullString(a.Alias), "port": a.Port,
		"notes": nullString(a.Notes), "assigned": a.ServerID != 0,
	}}
}

func identifier(srv *Server) string {
	return srv.UUID[:min(8, len(srv.UUID))]
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullable[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func atom(t time.Time) string { return t.UTC().Format(atomTime) }

// queryParam reads a query parameter as the panel sees it: the last value
// wins, it is trimmed, and an empty value is null (reported as absent).
func queryParam(r *http.Request, name string) (string, bool) {
	values := r.URL.Query()[name]
	if len(values) == 0 {
		return "", false
	}
	v := strings.TrimSpace(values[len(values)-1])
	return v, v != ""
}

// queryFilters returns the non-empty filter[...] values. Like spatie's
// query-builder it rejects filter names that are not allowed, even empty ones,
// and skips null (empty) values.
func queryFilters(r *http.Request, allowed ...string) (map[string]string, *failure) {
	filters := map[string]string{}
	var unknown []string
	for key := range r.URL.Query() {
		name, isFilter := strings.CutPrefix(key, "filter[")
		name, closed := strings.CutSuffix(name, "]")
		if !isFilter || !closed {
			continue
		}
		if !slices.Contains(allowed, name) {
			unknown = append(unknown, name)
			continue
		}
		if v, set := queryParam(r, key); set {
			filters[name] = v
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, badRequest("InvalidFilterQuery", fmt.Sprintf(
			"Requested filter(s) `%s` are not allowed. Allowed filter(s) are `%s`.",
			strings.Join(unknown, ", "), strings.Join(allowed, ", ")))
	}
	return filters, nil
}

// querySorts returns the sort fields (with "-" for descending), rejecting
// fields that are not allowed as spatie's InvalidSortQuery does.
func querySorts(r *http.Request, allowed ...string) ([]string, *failure) {
	v, set := queryParam(r, "sort")
	if !set {
		return nil, nil
	}
	sorts := strings.Split(v, ",")
	var unknown []string
	for _, sort := range sorts {
		if !slices.Contains(allowed, strings.TrimPrefix(sort, "-")) {
			unknown = append(unknown, sort)
		}
	}
	if len(unknown) > 0 {
		return nil, badRequest("InvalidSortQuery", fmt.Sprintf(
			"Requested sort(s) `%s` is not allowed. Allowed sort(s) are `%s`.",
			strings.Join(unknown, ", "), strings.Join(allowed, ", ")))
	}
	return sorts, nil
}

// partialMatch is an AllowedFilter::partial; "" means no filter.
func partialMatch(filter, value string) bool {
	if filter == "" {
		return true
	}
	for part := range strings.SplitSeq(filter, ",") {
		if strings.Contains(strings.ToLower(value), strings.ToLower(part)) {
			return true
		}
	}
	return false
}

// exactMatch is an AllowedFilter::exact; a comma-separated value is an IN
// list, and "" means no filter.
func exactMatch(filter, value string) bool {
	return filter == "" || slices.Contains(strings.Split(filter, ","), value)
}

// serverIDMatch is the server_id filter callback. A value that is PHP-empty
// ("0"), a boolean ("true", "false", which query-builder converts) or not all
// digits selects the free allocations only; digits select that server's.
func serverIDMatch(filter string, serverID int) bool {
	if filter == "" {
		return true
	}
	if filter == "0" || filter == "true" || filter == "false" || strings.Trim(filter, "0123456789") != "" {
		return serverID == 0
	}
	id, err := strconv.Atoi(filter)
	return err == nil && serverID != 0 && serverID == id
}

// page is a Laravel length-aware paginator's position.
type page struct {
	number, perPage, total int
}

// pageOf reads per_page (default 50, no upper cap) and page (default 1).
func pageOf(r *http.Request, total int) page {
	p := page{number: 1, perPage: defaultPerPage, total: total}
	if v, set := queryParam(r, "per_page"); set {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			p.perPage = n
		}
	}
	if v, set := queryParam(r, "page"); set {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			p.number = n
		}
	}
	return p
}

func (p page) lastPage() int {
	return max(1, int(math.Ceil(float64(p.total)/float64(p.perPage))))
}

// pageItems returns the items of page p.
func pageItems[T any](items []T, p page) []T {
	if p.number > p.lastPage() {
		return nil
	}
	start := (p.number - 1) * p.perPage // < total, since number <= lastPage
	return items[start : start+min(p.perPage, len(items)-start)]
}

// meta is Fractal's meta.pagination. The links carry only ?page=N, like
// Laravel's paginator without withQueryString(): following them drops
// per_page and filters.
func (p page) meta(r *http.Request, count int) map[string]any {
	links := map[string]any{}
	url := baseURL(r) + r.URL.Path + "?page="
	if p.number > 1 {
		links["previous"] = url + strconv.Itoa(p.number-1)
	}
	if p.number < p.lastPage() {
		links["next"] = url + strconv.Itoa(p.number+1)
	}
	return map[string]any{"pagination": map[string]any{
		"total": p.total, "count": count, "per_page": p.perPage, "current_page": p.number,
		"total_pages": p.lastPage(), "links": links,
	}}
}
