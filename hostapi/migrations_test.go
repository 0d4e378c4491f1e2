package hostapi

import (
	"testing"
	"testing/fstest"
)

func TestMigrationsFromFS(t *testing.T) {
	ms, err := MigrationsFromFS(fstest.MapFS{
		"10_late.sql":  {Data: []byte("CREATE TABLE ext_x_b (id INT)")},
		"9_early.sql":  {Data: []byte("CREATE TABLE ext_x_a (id INT)")},
		"README.md":    {Data: []byte("not a migration")},
		"nested/1.sql": {Data: []byte("ignored: not at the root")},
	})
	if err != nil || len(ms) != 2 || ms[0].Version != 9 || ms[1].Name != "late" {
		t.Fatalf("%+v %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no version":     {"init.sql": {Data: []byte("x")}},
		"version zero":   {"0_init.sql": {Data: []byte("x")}},
		"shared version": {"1_a.sql": {Data: []byte("x")}, "01_b.sql": {Data: []byte("y")}},
	} {
		if _, err := MigrationsFromFS(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
