//go:build nodemo

package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newDemoCmd in a production build (make build, -tags nodemo): the embedded
// database engine the demo needs adds ~60 MB and is left out, so the demo is
// run from source instead.
func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Not in this build: run `go run ./cmd/upsell demo` from the source tree",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("this binary was built without the demo (-tags nodemo); run `go run ./cmd/upsell demo` from the source tree")
		},
	}
}
