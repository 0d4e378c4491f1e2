package supervisor

import (
	"testing"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/host"
)

func TestModuleTablePrefix(t *testing.T) {
	s := New(Options{})
	s.instances["microupsell"] = &instance{moduleInfo: hostapi.ModuleInfo{Name: "microupsell", TablePrefix: "ext_micro_upsell_"}}
	tests := map[string]bool{
		"ext_configoptions_": true,
		"ext_shop_":          true,
		"s":                  false, // would cover services and settings
		"ext_":               false, // every module's tables
		"upsell_":            false, // the host's tables
		"ext_micro_":         false, // overlaps microupsell
		"ext_micro_upsell_":  false, // microupsell's own
		"ext_Shop_":          false,
		"ext_shop":           false,
	}
	for prefix, ok := range tests {
		if err := s.checkPrefix("newmodule", prefix); (err == nil) != ok {
			t.Errorf("%q: %v", prefix, err)
		}
	}
	if err := s.checkPrefix("microupsell", "ext_micro_upsell_"); err != nil {
		t.Errorf("a module's own prefix on restart: %v", err)
	}
}

func TestPrefetchStaysInTheModuleTables(t *testing.T) {
	store := host.NewStore(nil, "ext_shop_")
	route := func(sql string) []hostapi.Route {
		return []hostapi.Route{{Method: "GET", Path: "/p", Access: hostapi.AccessClient,
			Prefetch: []hostapi.Prefetch{{Name: "x", SQL: sql, Args: []hostapi.PrefetchArg{hostapi.PrefetchServiceID}}}}}
	}
	tests := map[string]bool{
		"SELECT id FROM ext_shop_items WHERE service_id = ?":                                       true,
		"SELECT id, price FROM services WHERE id = ?":                                              false, // a panel table
		"SELECT i.id FROM ext_shop_items i JOIN ext_other_secrets s ON s.id = i.id WHERE i.id = ?": false,
		"SELECT id FROM upsell_jobs WHERE id = ?":                                                  false, // the host's
	}
	for sql, ok := range tests {
		if err := checkPrefetches(store, route(sql)); (err == nil) != ok {
			t.Errorf("%q: %v", sql, err)
		}
	}
	admin := []hostapi.Route{{Method: "GET", Path: "/p", Access: hostapi.AccessAdmin,
		Prefetch: []hostapi.Prefetch{{Name: "x", SQL: "SELECT 1 FROM ext_shop_items"}}}}
	if err := checkPrefetches(store, admin); err == nil {
		t.Error("a prefetch on an admin route was accepted")
	}
}
