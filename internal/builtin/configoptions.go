package builtin

import (
	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/plugin/configoptions"
)

func init() {
	register(Plugin{Name: configoptions.Name, Kind: hostapi.KindModule, Serve: configoptions.Serve})
}
