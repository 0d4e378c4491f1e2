// Command upsell is the upsell host daemon and CLI. See `upsell --help` and
// the README.
package main

import (
	"os"

	"github.com/upsell-io/upsell/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
