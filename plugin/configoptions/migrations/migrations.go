// Package migrations holds the configurable-options module's own tables
// (ext_configoptions_*), handed to the host in Describe and applied by
// `upsell migrate`, tracked apart from the host's and other modules'
// migrations. Files are named NNN_name.sql; NNN is the version.
package migrations

import (
	"embed"

	"github.com/upsell-io/upsell/hostapi"
)

//go:embed *.sql
var files embed.FS

// All returns the migrations in version order.
func All() ([]hostapi.Migration, error) { return hostapi.MigrationsFromFS(files) }
