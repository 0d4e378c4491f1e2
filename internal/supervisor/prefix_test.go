package supervisor

import (
	"testing"

	"github.com/upsell-io/upsell/hostapi"
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
