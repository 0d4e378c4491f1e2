// Package main builds the upsell binary: the host daemon and its CLI. See
// `upsell --help` and the README.
package main

import (
	"os"

	"github.com/upsell-io/upsell/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
