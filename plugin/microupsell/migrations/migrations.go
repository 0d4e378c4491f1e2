// Package migrations holds the Micro-Upsell module's own tables, handed to
// the host in Describe and applied by `upsell migrate`, tracked apart from
// the host's and other modules' migrations.
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

// All returns the migrations in version order; the version is the file
// name's numeric prefix.
func All() ([]hostapi.Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]hostapi.Migration, 0, len(names))
	for _, n := range names {
		prefix, rest, ok := strings.Cut(n, "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version", n)
		}
		sql, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, hostapi.Migration{Version: v, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(sql)})
	}
	return out, nil
}
