package builtin

import (
	"github.com/upsell-io/upsell/adapters/pterodactyl"
	"github.com/upsell-io/upsell/hostapi"
)

func init() {
	register(Plugin{Name: "pterodactyl", Kind: hostapi.KindAdapter, Serve: pterodactyl.Serve})
}
