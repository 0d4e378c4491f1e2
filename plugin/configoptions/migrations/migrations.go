// Package migrations holds the configurable-options module's own tables
// (ext_configoptions_*), handed to the host in Describe and applied by
// `upsell migrate`, tracked apart from the host's and other modules'
// migrations. Files are named NNN_name.sql; NNN is the version.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/upsell-io/upsell/hostapi"
)

//go:embed *.sql
var files embed.FS

// All returns the migrations in version order.
func All() ([]hostapi.Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	out := make([]hostapi.Migration, 0, len(names))
	for _, n := range names {
		prefix, rest, ok := strings.Cut(n, "_")
		version, err := strconv.ParseInt(prefix, 10, 64)
		if !ok || err != nil || version < 1 {
			return nil, fmt.Errorf("migration %s: the name must start with a version number and \"_\"", n)
		}
		sql, err := files.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", n, err)
		}
		out = append(out, hostapi.Migration{Version: version, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(sql)})
	}
	// By number, not by name: 10_x would sort before 9_x as text.
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}
