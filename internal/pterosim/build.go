package pterosim

import (
	"maps"
	"slices"
	"strconv"
)

// pterodactylBuildRules are the rules of UpdateServerBuildConfigurationRequest
// in Pterodactyl, in the order the request declares them. Either the limits
// object or the flat legacy fields must carry memory, swap, io, cpu and disk.
var pterodactylBuildRules = []fieldRules{
	{"allocation", "required|bail|unique|exists"},
	{"oom_disabled", "sometimes|boolean"},
	{"limits", "sometimes|array"},
	{"memory", "required_without:limits|numeric|min:0"},
	{"swap", "required_without:limits|numeric|min:-1"},
	{"io", "required_without:limits|numeric|between:10,1000"},
	{"cpu", "required_without:limits|numeric|min:0"},
	{"threads", "nullable|regex"},
	{"disk", "required_without:limits|numeric|min:0"},
	{"limits.memory", "required_with:limits|numeric|min:0"},
	{"limits.swap", "required_with:limits|numeric|min:-1"},
	{"limits.io", "required_with:limits|numeric|between:10,1000"},
	{"limits.cpu", "required_with:limits|numeric|min:0"},
	{"limits.threads", "nullable|regex"},
	{"limits.disk", "required_with:limits|numeric|min:0"},
	{"add_allocations", "bail|array"},
	{"add_allocations.*", "integer"},
	{"remove_allocations", "bail|array"},
	{"remove_allocations.*", "integer"},
	{"feature_limits", "required|array"},
	{"feature_limits.databases", "present|nullable|integer|min:0"},
	{"feature_limits.allocations", "sometimes|nullable|integer|min:0"},
	{"feature_limits.backups", "present|nullable|integer|min:0"},
}

// pelicanBuildRules are Pelican's: no flat fields (they are ignored), an
// optional limits object, oom_killer, a nullable allocation and io 0..1000.
var pelicanBuildRules = []fieldRules{
	{"allocation", "sometimes|nullable|unique|exists"},
	{"oom_killer", "sometimes|boolean"},
	{"limits", "sometimes|array"},
	{"limits.memory", "required_with:limits|numeric|min:0"},
	{"limits.swap", "required_with:limits|numeric|min:-1"},
	{"limits.io", "required_with:limits|numeric|between:0,1000"},
	{"limits.cpu", "required_with:limits|numeric|min:0"},
	{"limits.threads", "nullable|regex"},
	{"limits.disk", "required_with:limits|numeric|min:0"},
	{"add_allocations", "bail|array"},
	{"add_allocations.*", "integer"},
	{"remove_allocations", "bail|array"},
	{"remove_allocations.*", "integer"},
	{"feature_limits", "required|array"},
	{"feature_limits.databases", "present|nullable|integer|min:0"},
	{"feature_limits.allocations", "sometimes|nullable|integer|min:0"},
	{"feature_limits.backups", "present|nullable|integer|min:0"},
}

var limitKeys = []string{"memory", "swap", "io", "cpu", "threads", "disk"}

const (
	msgNoFallback       = "You are attempting to delete the default allocation for this server but there is no fallback allocation to use."
	msgPrimaryNotOwned  = "The requested default allocation is not currently assigned to this server."
	wingsSyncErrorClass = "RequestException" // Laravel's HTTP client exception for a Wings 4xx/5xx
)

// buildChange is a validated build request, shaped as the request's
// validated() hands it to BuildModificationService.
type buildChange struct {
	allocation *int           // nil: null (Pelican only)
	limits     map[string]any // memory, swap, io, cpu, disk, threads: only the keys sent
	oom        *bool          // oom_disabled; nil: unchanged
	features   FeatureLimits
	add        []int
	remove     []int
}

// updateBuild is PATCH /servers/{id}/build.
func (s *Sim) updateBuild(req *apiRequest) reply {
	srv, found := s.boundServer(req)
	if !found {
		return failed(notFound())
	}
	if !req.can(func(a ACL) Permission { return a.Servers }, PermWrite) {
		return failed(forbidden("This action is unauthorized."))
	}
	rules := pterodactylBuildRules
	if s.flavor == Pelican {
		rules = pelicanBuildRules
	}
	v := newValidator(req.input, map[string]func(any) bool{
		"unique": func(val any) bool { // unique:servers,allocation_id, ignoring this server
			id, isID := idValue(val)
			for _, other := range s.servers {
				if isID && other.ID != srv.ID && other.AllocationID == id {
					return false
				}
			}
			return true
		},
		"exists": func(val any) bool { // exists:allocations,id
			id, isID := idValue(val)
			_, ok := s.allocations[id]
			return isID && ok
		},
	})
	v.validate(rules)
	if f := v.failure(); f != nil {
		return failed(f)
	}
	if _, sent := req.input["allocation"]; !sent && s.flavor == Pelican {
		// validated() reads $data['allocation'] unconditionally; Laravel turns the
		// "undefined array key" warning into a 500 (an inference in the notes).
		return failed(serverError("ErrorException"))
	}
	change := s.parseBuild(req.input)

	s.runSteal()
	// The panel runs all of this in one database transaction: on error, restore
	// the server and every allocation of its node.
	savedServer := *srv
	savedAllocations := map[int]Allocation{}
	for id, a := range s.allocations {
		if a.NodeID == srv.NodeID {
			savedAllocations[id] = *a
		}
	}
	if fail := s.applyBuild(srv, change); fail != nil {
		*srv = savedServer
		for id, a := range savedAllocations {
			*s.allocations[id] = a
		}
		return failed(fail)
	}
	srv.UpdatedAt = s.now().UTC()

	// The Wings sync runs after the commit.
	if s.wingsSyncFailures > 0 {
		s.wingsSyncFailures--
		if s.flavor == Pelican {
			return failed(serverError(wingsSyncErrorClass))
		}
	}
	return success(s.serverDocument(srv, req))
}

// parseBuild turns validated input into a buildChange, as validated() does.
func (s *Sim) parseBuild(in map[string]any) buildChange {
	var c buildChange
	if id, isID := idValue(in["allocation"]); isID {
		c.allocation = &id
	}
	c.limits = map[string]any{}
	if s.flavor == Pterodactyl {
		for _, k := range limitKeys {
			if v, sent := in[k]; sent {
				c.limits[k] = v
			}
		}
	}
	// A filled limits object overrides the flat fields key by key.
	if limits, isObject := in["limits"].(map[string]any); isObject && filled(limits) {
		for _, k := range limitKeys {
			if v, sent := limits[k]; sent {
				c.limits[k] = v
			}
		}
	}
	oomField := "oom_disabled"
	if s.flavor == Pelican {
		oomField = "oom_killer"
	}
	if raw, sent := in[oomField]; sent {
		disabled, _ := booleanValue(raw)
		if s.flavor == Pelican {
			disabled = !disabled // oom_killer is the negation of oom_disabled
		}
		c.oom = &disabled
	}
	features, _ := in["feature_limits"].(map[string]any)
	c.features.Databases = optionalInt(features["databases"])
	c.features.Allocations = optionalInt(features["allocations"])
	if backups := optionalInt(features["backups"]); backups != nil {
		c.features.Backups = *backups
	}
	for _, e := range elements(in["add_allocations"]) {
		n, _ := integerValue(e)
		c.add = append(c.add, n)
	}
	for _, e := range elements(in["remove_allocations"]) {
		n, _ := integerValue(e)
		c.remove = append(c.remove, n)
	}
	return c
}

func optionalInt(v any) *int {
	if n, isInt := integerValue(v); isInt {
		return &n
	}
	return nil
}

// runSteal assigns the planned allocations to the thief if they are still
// free, as a concurrent request committing first would.
func (s *Sim) runSteal() {
	if s.steal == nil {
		return
	}
	for _, id := range s.steal.allocationIDs {
		if a, ok := s.allocations[id]; ok && a.ServerID == 0 {
			a.ServerID = s.steal.byServerID
		}
	}
	s.steal = nil
}

// applyBuild is BuildModificationService::handle inside the transaction.
func (s *Sim) applyBuild(srv *Server, c buildChange) *failure {
	primary, fail := s.processAllocations(srv, c)
	if fail != nil {
		return fail
	}
	if primary != nil && *primary != srv.AllocationID {
		if a, ok := s.allocations[*primary]; !ok || a.ServerID != srv.ID {
			if s.flavor == Pelican {
				return notFound() // $server->allocations()->findOrFail()
			}
			return displayError(msgPrimaryNotOwned)
		}
	}
	srv.AllocationID = 0
	if primary != nil {
		srv.AllocationID = *primary
	}
	l := &srv.Limits
	for k, v := range c.limits {
		switch k {
		case "memory":
			l.Memory = storedInt(v)
		case "swap":
			l.Swap = storedInt(v)
		case "io":
			l.IO = storedInt(v)
		case "cpu":
			l.CPU = storedInt(v)
		case "disk":
			l.Disk = storedInt(v)
		case "threads":
			l.Threads = nil
			if str, isScalar := scalarString(v); isScalar {
				l.Threads = &str
			}
		}
	}
	if c.oom != nil {
		l.OOMDisabled = *c.oom
	}
	// All three feature limits are overwritten on every call; the parse step
	// already turned a missing allocations into nil and a null backups into 0.
	srv.FeatureLimits = c.features
	return nil
}

// processAllocations adds and removes allocations and returns the primary
// allocation the server ends up with (before the ownership check).
func (s *Sim) processAllocations(srv *Server, c buildChange) (*int, *failure) {
	primary := c.allocation // never nil for Pterodactyl: allocation is required
	if len(c.add) == 0 && len(c.remove) == 0 {
		return primary, nil
	}
	// UPDATE allocations SET server_id=<srv>, notes=NULL WHERE node_id=<srv's
	// node> AND id IN (add) AND server_id IS NULL: anything else is skipped.
	freshlyAllocated := 0
	for _, id := range slices.Sorted(maps.Keys(setOf(c.add))) {
		a, ok := s.allocations[id]
		if !ok || a.NodeID != srv.NodeID || a.ServerID != 0 {
			continue
		}
		a.ServerID, a.Notes = srv.ID, ""
		if freshlyAllocated == 0 {
			freshlyAllocated = id
		}
	}
	if len(c.remove) == 0 {
		return primary, nil
	}
	target := srv.AllocationID // $data['allocation_id'] ?? $server->allocation_id
	if primary != nil {
		target = *primary
	}
	removesPrimary := false
	for _, id := range c.remove {
		if id != target || target == 0 {
			continue
		}
		removesPrimary = true
		if s.flavor == Pterodactyl {
			if freshlyAllocated == 0 {
				return nil, displayError(msgNoFallback)
			}
			target, primary = freshlyAllocated, &freshlyAllocated
		}
	}
	added := setOf(c.add)
	for _, id := range c.remove {
		if a, ok := s.allocations[id]; ok && !added[id] && a.NodeID == srv.NodeID && a.ServerID == srv.ID {
			a.ServerID, a.Notes = 0, ""
		}
	}
	if removesPrimary && s.flavor == Pelican {
		// Pelican falls back to the first remaining allocation, else the first
		// add_allocations id, else no primary at all.
		primary = nil
		if remaining := s.serverAllocations(srv.ID); len(remaining) > 0 {
			primary = &remaining[0].ID
		} else if len(c.add) > 0 {
			primary = &c.add[0]
		}
	}
	return primary, nil
}

func setOf(ids []int) map[int]bool {
	set := make(map[int]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// can reports whether the request's key has perm on a resource.
func (r *apiRequest) can(resource func(ACL) Permission, perm Permission) bool {
	return r.key.ACL == nil || resource(*r.key.ACL)&perm != 0
}

// boundServer resolves the route binding of the request: {server:id}, or the
// external id for RouteGetServerByExternalID.
func (s *Sim) boundServer(req *apiRequest) (*Server, bool) {
	param := req.route.param
	for _, srv := range s.servers {
		if req.route.name == RouteGetServerByExternalID {
			if srv.ExternalID != "" && srv.ExternalID == param {
				return srv, true
			}
		} else if strconv.Itoa(srv.ID) == param {
			return srv, true
		}
	}
	return nil, false
}
