// Package migrations holds the Micro-Upsell module's own tables, handed to
// the host in Describe and applied by `upsell migrate`, tracked apart from
// the host's and other modules' migrations.
package migrations

import (
	"embed"

	"github.com/upsell-io/upsell/hostapi"
)

//go:embed *.sql
var files embed.FS

// All returns the migrations in version order.
func All() ([]hostapi.Migration, error) { return hostapi.MigrationsFromFS(files) }
