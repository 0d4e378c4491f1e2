package catalog

// Provisioning keys. An option's ProvisioningKey says what its choice
// provisions; the number it gives is the quantity of a quantity or slider,
// the Raw of a dropdown's or radio's value (a whole number), or for a
// ticked checkbox its value's Raw (1 when Raw is empty). An unticked
// checkbox, an option not chosen, and a text option provision no resource:
// resources not listed are left as they are.
//
//	key                     unit       resource (ResourcesFor)   Paymenter property (PropertiesFor)
//	ram_gb                  GB         MemoryMiB = n x 1024      memory (MiB)
//	memory                  MiB        MemoryMiB = n             memory (MiB)
//	disk_gb                 GB         DiskMiB = n x 1024        disk (MiB)
//	storage_gb              GB         DiskMiB = n x 1024        disk (MiB)       (MySQL storage)
//	disk                    MiB        DiskMiB = n               disk (MiB)
//	swap                    MiB        SwapMiB = n               swap (MiB)
//	io                      weight     IOWeight = n              io
//	cpu                     %          CPUPercent = n            cpu (%)
//	cpu_cores               cores      CPUCores = n              cpu = n x 100 (%)
//	databases               count      Databases = n             databases
//	backups                 count      Backups = n               backups
//	ports, allocations      count      Ports = n                 additional_allocations = n - 1
//	additional_allocations  count      Ports = n + 1             additional_allocations = n
//	traffic_gb              GB         TrafficGB = n             (none: the extension has no traffic)
//	player_slots            count      (none)                    player_slots
//	connections             count      (none)                    connections      (MySQL)
//	servername              text       (none)                    servername       (text options only)
//
// The CPU rule: cpu_cores is a VPS resource and provisions CPUCores only,
// never CPUPercent; Pterodactyl's cpu limit is a percentage of one core, so
// on Paymenter the cores are handed to its extension as cpu = cores x 100.
// hostapi.Ports counts the server's allocations with the primary one, while
// Paymenter's additional_allocations leaves the primary out, hence the -1
// and +1. Two options whose keys set the same thing (ram_gb and memory, cpu
// and cpu_cores, ports and additional_allocations...) cannot be combined.

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/upsell-io/upsell/hostapi"
)

type keySpec struct {
	// resource is what the key provisions; "" for property-only keys.
	resource hostapi.Resource
	// factor converts the key's unit to the resource's; offset is added
	// after it.
	factor, offset int64
	// sets names what the key sets, for conflicts; it is also the Paymenter
	// property of a property-only or text key.
	sets string
	// text keys are for text options, the others for numeric ones.
	text bool
}

var keySpecs = map[string]keySpec{
	"ram_gb":                 {resource: hostapi.MemoryMiB, factor: 1024, sets: "memory"},
	"memory":                 {resource: hostapi.MemoryMiB, factor: 1, sets: "memory"},
	"disk_gb":                {resource: hostapi.DiskMiB, factor: 1024, sets: "disk"},
	"storage_gb":             {resource: hostapi.DiskMiB, factor: 1024, sets: "disk"},
	"disk":                   {resource: hostapi.DiskMiB, factor: 1, sets: "disk"},
	"swap":                   {resource: hostapi.SwapMiB, factor: 1, sets: "swap"},
	"io":                     {resource: hostapi.IOWeight, factor: 1, sets: "io"},
	"cpu":                    {resource: hostapi.CPUPercent, factor: 1, sets: "cpu"},
	"cpu_cores":              {resource: hostapi.CPUCores, factor: 1, sets: "cpu"},
	"databases":              {resource: hostapi.Databases, factor: 1, sets: "databases"},
	"backups":                {resource: hostapi.Backups, factor: 1, sets: "backups"},
	"ports":                  {resource: hostapi.Ports, factor: 1, sets: "allocations"},
	"allocations":            {resource: hostapi.Ports, factor: 1, sets: "allocations"},
	"additional_allocations": {resource: hostapi.Ports, factor: 1, offset: 1, sets: "allocations"},
	"traffic_gb":             {resource: hostapi.TrafficGB, factor: 1, sets: "traffic_gb"},
	"player_slots":           {sets: "player_slots"},
	"connections":            {sets: "connections"},
	"servername":             {sets: "servername", text: true},
}

// ValidKey reports whether key is a provisioning key this module knows
// (see the table above). The empty key, an option that provisions
// nothing, is not a key: ValidateGroup accepts it separately.
func ValidKey(key string) bool {
	_, ok := keySpecs[key]
	return ok
}

// Keys is every provisioning key this module knows, sorted: what an
// admin's form offers.
func Keys() []string { return slices.Sorted(maps.Keys(keySpecs)) }

// textKey reports whether key is for text options.
func textKey(key string) bool { return keySpecs[key].text }

// provisioned is one selected option that provisions something.
type provisioned struct {
	key  string
	spec keySpec
	name string
	// n is the number in the key's unit; text is a text option's value.
	n    int64
	text string
}

// provisionedItems lists what a selection provisions, refusing unknown
// keys, non-numeric raw values and two options setting the same thing.
func provisionedItems(sel Selection) ([]provisioned, error) {
	var out []provisioned
	by := make(map[string]string)
	for _, s := range sel {
		o := s.Option
		if o.ProvisioningKey == "" {
			continue
		}
		spec, ok := keySpecs[o.ProvisioningKey]
		if !ok {
			return nil, hostapi.Errorf(hostapi.CodePrecondition, "option %q has unknown provisioning key %q", o.Name, o.ProvisioningKey)
		}
		if spec.text != (o.Type == Text) {
			return nil, hostapi.Errorf(hostapi.CodePrecondition, "option %q: provisioning key %q does not fit a %s option", o.Name, o.ProvisioningKey, o.Type)
		}
		p := provisioned{key: o.ProvisioningKey, spec: spec, name: o.Name}
		switch o.Type {
		case Text:
			p.text = s.Text
		case Quantity, Slider:
			p.n = s.Quantity
		case Checkbox:
			if s.Value == nil {
				continue // not ticked: provisions nothing
			}
			p.n = 1
			if s.Value.Raw != "" {
				n, err := rawNumber(o, *s.Value)
				if err != nil {
					return nil, err
				}
				p.n = n
			}
		case Dropdown, Radio:
			if s.Value == nil {
				continue
			}
			n, err := rawNumber(o, *s.Value)
			if err != nil {
				return nil, err
			}
			p.n = n
		default:
			return nil, hostapi.Errorf(hostapi.CodeInternal, "option %q has unknown type %q", o.Name, o.Type)
		}
		if p.n < 0 {
			return nil, hostapi.Errorf(hostapi.CodePrecondition, "option %q: %d is negative", o.Name, p.n)
		}
		if other, dup := by[spec.sets]; dup {
			return nil, hostapi.Errorf(hostapi.CodePrecondition, "options %q and %q both set %s", other, o.Name, spec.sets)
		}
		by[spec.sets] = o.Name
		out = append(out, p)
	}
	return out, nil
}

// rawNumber reads a value's Raw as a whole number, not negative.
func rawNumber(o Option, v Value) (int64, error) {
	n, err := strconv.ParseInt(v.Raw, 10, 64)
	if err != nil || n < 0 {
		return 0, hostapi.Errorf(hostapi.CodePrecondition, "option %q: %q provisions %q, not a whole number of %s", o.Name, v.Label, v.Raw, o.ProvisioningKey)
	}
	return n, nil
}

// scaled converts n to the unit given by factor and offset, refusing
// overflow.
func scaled(name string, n, factor, offset int64) (int64, error) {
	if n > (math.MaxInt64-offset)/factor {
		return 0, hostapi.Errorf(hostapi.CodePrecondition, "option %q: %d is too large to provision", name, n)
	}
	return n*factor + offset, nil
}

// ResourcesFor maps a selection to the resources it provisions, each in
// the resource's unit (see the key table). Property-only keys
// (player_slots, connections, servername) are not resources and are left
// out; PropertiesFor hands them on.
func ResourcesFor(sel Selection) (Resources, error) {
	items, err := provisionedItems(sel)
	if err != nil {
		return nil, err
	}
	out := make(Resources, len(items))
	for _, it := range items {
		if it.spec.resource == "" {
			continue
		}
		v, err := scaled(it.name, it.n, it.spec.factor, it.spec.offset)
		if err != nil {
			return nil, err
		}
		out[it.spec.resource] = v
	}
	return out, nil
}

// paymenterProperty is the key Paymenter's Pterodactyl server extension
// reads for a resource (its product settings, which service properties
// override).
var paymenterProperty = map[hostapi.Resource]string{
	hostapi.MemoryMiB:  "memory",
	hostapi.DiskMiB:    "disk",
	hostapi.SwapMiB:    "swap",
	hostapi.IOWeight:   "io",
	hostapi.CPUPercent: "cpu",
	hostapi.CPUCores:   "cpu",
	hostapi.Databases:  "databases",
	hostapi.Backups:    "backups",
	hostapi.Ports:      "additional_allocations",
}

// PropertiesFor maps a selection to the service properties Paymenter's own
// Pterodactyl server extension reads (it merges a service's properties
// over the product's settings), so that on Paymenter the selection is
// handed to that extension: memory, disk and swap in MiB, cpu in percent
// (cores x 100), io, databases, backups, additional_allocations (the
// allocations besides the primary), and the property-only keys
// player_slots, connections and servername as they are. Values are decimal
// strings. Options without a provisioning key, and traffic_gb, have no
// property.
func PropertiesFor(sel Selection) (map[string]string, error) {
	items, err := provisionedItems(sel)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		switch {
		case it.spec.text:
			out[it.spec.sets] = it.text
			continue
		case it.spec.resource == "":
			out[it.spec.sets] = strconv.FormatInt(it.n, 10)
			continue
		}
		key, ok := paymenterProperty[it.spec.resource]
		if !ok {
			continue
		}
		v, err := scaled(it.name, it.n, it.spec.factor, it.spec.offset)
		if err != nil {
			return nil, err
		}
		switch it.spec.resource {
		case hostapi.CPUCores:
			if v, err = scaled(it.name, v, 100, 0); err != nil {
				return nil, err
			}
		case hostapi.Ports:
			v = max(v-1, 0)
		}
		out[key] = strconv.FormatInt(v, 10)
	}
	return out, nil
}
