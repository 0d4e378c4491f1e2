package builtin

import (
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/plugin/microupsell"
)

func init() {
	register(Plugin{Name: microupsell.Name, Kind: hostapi.KindModule, Serve: microupsell.Serve})
}
