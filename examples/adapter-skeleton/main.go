// Package main builds upsell-adapter-filepanel, an example upsell resource
// adapter for a made-up panel that keeps server limits in JSON files. upsell
// starts it as a plugin process; it is not meant to be run by hand.
package main

import (
	"example.com/upsell-adapter-filepanel/filepanel"

	"github.com/upsell-io/upsell/hostapi"
)

func main() {
	hostapi.ServeAdapter(filepanel.New())
}
