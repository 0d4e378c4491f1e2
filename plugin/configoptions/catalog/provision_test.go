package catalog

import (
	"math"
	"reflect"
	"testing"

	"github.com/upsell-io/upsell/hostapi"
)

func TestValidKey(t *testing.T) {
	for _, k := range []string{"ram_gb", "memory", "disk_gb", "disk", "storage_gb", "swap", "io", "cpu", "cpu_cores",
		"databases", "backups", "ports", "allocations", "additional_allocations", "traffic_gb", "player_slots", "connections", "servername"} {
		if !ValidKey(k) {
			t.Errorf("ValidKey(%q) = false", k)
		}
	}
	for _, k := range []string{"", "RAM_GB", "ram", "egg_id", "memory_mib", "cpu_percent", "slots"} {
		if ValidKey(k) {
			t.Errorf("ValidKey(%q) = true", k)
		}
	}
}

// slider is a one-option selection of key with quantity n.
func slider(key string, n int64) Selection {
	return Selection{{Option: Option{ID: 1, Name: key, Type: Slider, ProvisioningKey: key, Max: n}, Quantity: n}}
}

// Every key, one at a time, with its resource and Paymenter property.
func TestKeys(t *testing.T) {
	tests := []struct {
		key   string
		n     int64
		res   Resources
		props map[string]string
	}{
		// 8 GB x 1024 = 8192 MiB
		{"ram_gb", 8, Resources{hostapi.MemoryMiB: 8192}, map[string]string{"memory": "8192"}},
		{"memory", 3072, Resources{hostapi.MemoryMiB: 3072}, map[string]string{"memory": "3072"}},
		// 100 GB x 1024 = 102400 MiB
		{"disk_gb", 100, Resources{hostapi.DiskMiB: 102400}, map[string]string{"disk": "102400"}},
		// MySQL storage 20 GB x 1024 = 20480 MiB
		{"storage_gb", 20, Resources{hostapi.DiskMiB: 20480}, map[string]string{"disk": "20480"}},
		{"disk", 5000, Resources{hostapi.DiskMiB: 5000}, map[string]string{"disk": "5000"}},
		{"swap", 512, Resources{hostapi.SwapMiB: 512}, map[string]string{"swap": "512"}},
		{"io", 500, Resources{hostapi.IOWeight: 500}, map[string]string{"io": "500"}},
		{"cpu", 150, Resources{hostapi.CPUPercent: 150}, map[string]string{"cpu": "150"}},
		// cores provision CPUCores only; Paymenter's cpu is 4 x 100 = 400 %
		{"cpu_cores", 4, Resources{hostapi.CPUCores: 4}, map[string]string{"cpu": "400"}},
		{"databases", 3, Resources{hostapi.Databases: 3}, map[string]string{"databases": "3"}},
		{"backups", 2, Resources{hostapi.Backups: 2}, map[string]string{"backups": "2"}},
		// 3 ports with the primary: 2 additional allocations
		{"ports", 3, Resources{hostapi.Ports: 3}, map[string]string{"additional_allocations": "2"}},
		{"allocations", 1, Resources{hostapi.Ports: 1}, map[string]string{"additional_allocations": "0"}},
		{"ports", 0, Resources{hostapi.Ports: 0}, map[string]string{"additional_allocations": "0"}},
		// 2 extra ports: 3 with the primary
		{"additional_allocations", 2, Resources{hostapi.Ports: 3}, map[string]string{"additional_allocations": "2"}},
		{"traffic_gb", 1000, Resources{hostapi.TrafficGB: 1000}, map[string]string{}},
		{"player_slots", 40, Resources{}, map[string]string{"player_slots": "40"}},
		{"connections", 200, Resources{}, map[string]string{"connections": "200"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			res, err := ResourcesFor(slider(tt.key, tt.n))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res, tt.res) {
				t.Errorf("resources %v, want %v", res, tt.res)
			}
			props, err := PropertiesFor(slider(tt.key, tt.n))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(props, tt.props) {
				t.Errorf("properties %v, want %v", props, tt.props)
			}
		})
	}
}

func TestProvisionSeeds(t *testing.T) {
	vps, mysql, game := seeded()
	tests := []struct {
		name    string
		group   Group
		choices []Choice
		res     Resources
		props   map[string]string
	}{
		// 4 cores; 8 GB x 1024 = 8192 MiB; 100 GB x 1024 = 102400 MiB; cpu 4 x 100 = 400 %
		{"VPS 4/8/100", vps, vpsChoice(4, 8, 100),
			Resources{hostapi.CPUCores: 4, hostapi.MemoryMiB: 8192, hostapi.DiskMiB: 102400},
			map[string]string{"cpu": "400", "memory": "8192", "disk": "102400"}},
		// 4 GB = 4096 MiB; 50 GB = 51200 MiB; 40 player slots are a property
		{"game 4/50/40", game, gameChoice(4, 50, 40),
			Resources{hostapi.MemoryMiB: 4096, hostapi.DiskMiB: 51200},
			map[string]string{"memory": "4096", "disk": "51200", "player_slots": "40"}},
		// 20 GB = 20480 MiB; 200 connections a property; backups ticked: Raw 1
		{"MySQL with backups", mysql, sqlChoice(20, 200, true),
			Resources{hostapi.DiskMiB: 20480, hostapi.Backups: 1},
			map[string]string{"disk": "20480", "connections": "200", "backups": "1"}},
		// backups not ticked: nothing about backups
		{"MySQL without backups", mysql, sqlChoice(20, 200, false),
			Resources{hostapi.DiskMiB: 20480},
			map[string]string{"disk": "20480", "connections": "200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel := mustValidate(t, []Group{tt.group}, tt.choices...)
			res, err := ResourcesFor(sel)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res, tt.res) {
				t.Errorf("resources %v, want %v", res, tt.res)
			}
			props, err := PropertiesFor(sel)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(props, tt.props) {
				t.Errorf("properties %v, want %v", props, tt.props)
			}
		})
	}
}

// The preset fixture: Plan size is a radio whose value's Raw is memory in
// MiB, ports are additional allocations, backups a checkbox with Raw 3,
// the server name a text; Location has no key and provisions nothing.
func TestProvisionPreset(t *testing.T) {
	sel := mustValidate(t, []Group{extras()},
		Choice{OptionID: optPlan, ValueID: valLarge},
		Choice{OptionID: optPorts, Quantity: 2},
		Choice{OptionID: optBackups, ValueID: valBackupsOn},
		Choice{OptionID: optName, Text: "web-1"},
		Choice{OptionID: optDBs, Quantity: 4},
		Choice{OptionID: optNotes, Text: "call me"},
	)
	res, err := ResourcesFor(sel)
	if err != nil {
		t.Fatal(err)
	}
	// Large = 8192 MiB; 2 extra ports + the primary = 3; backups Raw 3; 4 databases
	want := Resources{hostapi.MemoryMiB: 8192, hostapi.Ports: 3, hostapi.Backups: 3, hostapi.Databases: 4}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("resources %v, want %v", res, want)
	}
	props, err := PropertiesFor(sel)
	if err != nil {
		t.Fatal(err)
	}
	wantProps := map[string]string{"memory": "8192", "additional_allocations": "2", "backups": "3", "databases": "4", "servername": "web-1"}
	if !reflect.DeepEqual(props, wantProps) {
		t.Errorf("properties %v, want %v", props, wantProps)
	}

	// A checkbox value without Raw provisions 1 when ticked.
	g := extras()
	g.Options[3].Values[0].Raw = ""
	sel = mustValidate(t, []Group{g}, plan, Choice{OptionID: optBackups, ValueID: valBackupsOn})
	if res, _ := ResourcesFor(sel); res[hostapi.Backups] != 1 || res[hostapi.MemoryMiB] != 2048 {
		t.Errorf("resources %v", res)
	}
}

func TestProvisionRefusals(t *testing.T) {
	ram := Selected{Option: Option{ID: 1, Name: "RAM", Type: Slider, ProvisioningKey: "ram_gb"}, Quantity: 4}
	mem := Selected{Option: Option{ID: 2, Name: "Memory", Type: Dropdown, ProvisioningKey: "memory"}, Value: &Value{Label: "4 GB", Raw: "4096"}}
	cores := Selected{Option: Option{ID: 3, Name: "Cores", Type: Slider, ProvisioningKey: "cpu_cores"}, Quantity: 2}
	cpu := Selected{Option: Option{ID: 4, Name: "CPU", Type: Slider, ProvisioningKey: "cpu"}, Quantity: 200}
	tests := []struct {
		name string
		sel  Selection
		says string
	}{
		{"two options set memory (across groups)", Selection{ram, mem}, `options "RAM" and "Memory" both set memory`},
		{"cores and cpu percent both set cpu", Selection{cores, cpu}, `options "Cores" and "CPU" both set cpu`},
		{"raw not a number", Selection{{Option: mem.Option, Value: &Value{Label: "big", Raw: "lots"}}}, `option "Memory": "big" provisions "lots"`},
		{"raw negative", Selection{{Option: mem.Option, Value: &Value{Label: "unlimited", Raw: "-1"}}}, `provisions "-1"`},
		{"unknown key", Selection{{Option: Option{Name: "Egg", Type: Slider, ProvisioningKey: "egg_id"}, Quantity: 1}}, `unknown provisioning key "egg_id"`},
		{"text key on a slider", Selection{{Option: Option{Name: "N", Type: Slider, ProvisioningKey: "servername"}, Quantity: 1}}, `does not fit a slider`},
		{"numeric key on a text", Selection{{Option: Option{Name: "T", Type: Text, ProvisioningKey: "memory"}, Text: "1"}}, `does not fit a text`},
		{"overflow", slider("ram_gb", math.MaxInt64/1000), "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ResourcesFor(tt.sel)
			wantError(t, err, hostapi.CodePrecondition, "", tt.says)
			_, err = PropertiesFor(tt.sel)
			wantError(t, err, hostapi.CodePrecondition, "", tt.says)
		})
	}
	// cores x 100 overflows only in the property
	_, err := PropertiesFor(slider("cpu_cores", math.MaxInt64/10))
	wantError(t, err, hostapi.CodePrecondition, "", "too large")
}
