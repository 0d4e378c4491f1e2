// Package catalog is the domain of the configurable-options module: option
// groups (preset groups linked to products, Build-Your-Own groups per service
// type), their options and values, what a client selected, and the rules
// that validate and price a selection. It is pure: no database, no host API,
// so every rule is table-tested on its own.
package catalog

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
)

// GroupMode says how a group is sold.
type GroupMode string

// Group modes.
const (
	// Preset groups add options to panel products (linked in GroupProducts).
	Preset GroupMode = "preset"
	// BuildYourOwn groups are a configurator for a service type (vps,
	// mysql, game): the service is billed its options' monthly cap.
	BuildYourOwn GroupMode = "build_your_own"
)

// Group is a set of options.
type Group struct {
	ID          uint64
	Name        string
	Description string
	Mode        GroupMode
	// ServiceType names what a BYO group builds (vps, mysql, game).
	ServiceType string
	Active      bool
	Sort        int
	// ProductIDs are the panel products a preset group applies to.
	ProductIDs []uint64
	Options    []Option
	DeletedAt  *time.Time
}

// OptionType is how a client picks an option.
type OptionType string

// Option types.
const (
	Dropdown OptionType = "dropdown"
	Radio    OptionType = "radio"
	Quantity OptionType = "quantity"
	Checkbox OptionType = "checkbox"
	Text     OptionType = "text"
	Slider   OptionType = "slider"
)

// Prices are the five price columns an option unit or a value carries. A nil
// column means "not offered on that cycle".
type Prices struct {
	Hourly     *decimal.Decimal
	Monthly    *decimal.Decimal
	Quarterly  *decimal.Decimal
	SemiAnnual *decimal.Decimal
	Annual     *decimal.Decimal
}

// Option is one choice a client makes.
type Option struct {
	ID          uint64
	GroupID     uint64
	Name        string
	Description string
	Type        OptionType
	// ProvisioningKey maps the option to a resource: cpu_cores, ram_gb,
	// disk_gb, memory, disk, cpu, databases, backups, ports, ...
	ProvisioningKey string
	Required        bool
	Active          bool
	// Min, Max and Step bound a quantity or slider.
	Min, Max, Step int64
	// Unit labels a quantity ("GB", "cores").
	Unit string
	// UnitPrices price one unit of a quantity or slider.
	UnitPrices Prices
	// Values are the choices of a dropdown, radio or checkbox (a checkbox
	// has one value: "on").
	Values []Value
	Sort   int
}

// Value is one choice of a dropdown, radio or checkbox option.
type Value struct {
	ID       uint64
	OptionID uint64
	Label    string
	// Raw is what provisioning receives (e.g. "4096").
	Raw     string
	Prices  Prices
	Default bool
	Active  bool
	Sort    int
	// Deleted values keep the selections that point at them.
	Deleted bool
}

// Choice is what a client sends for one option.
type Choice struct {
	OptionID uint64
	// ValueID for dropdown, radio; for a checkbox, its value's id when
	// checked, 0 when not.
	ValueID uint64
	// Quantity for quantity and slider.
	Quantity int64
	// Text for text options (at most 500 characters).
	Text string
}

// Term is the billing term a price is asked for.
type Term string

// Terms with a price column. A panel cycle maps to one of them (1 month ->
// monthly, 3 -> quarterly, 6 -> semi-annual, 12 months or 1 year -> annual);
// any other cycle has no price column and is refused.
const (
	Hourly     Term = "hourly"
	Monthly    Term = "monthly"
	Quarterly  Term = "quarterly"
	SemiAnnual Term = "semi_annual"
	Annual     Term = "annual"
)

// Line is one priced option of a quote.
type Line struct {
	OptionID uint64
	Option   string
	// Value is the chosen value's label, or the quantity with its unit.
	Value string
	// Price is for the quote's term; Hourly and MonthlyCap feed BYO.
	Price  decimal.Decimal
	Hourly decimal.Decimal
	// NoHourlyPrice says, on an hourly quote, that the chosen value or
	// unit has no hourly price: the line adds nothing to the rate.
	NoHourlyPrice bool
}

// Quote prices a validated selection.
type Quote struct {
	Term  Term
	Lines []Line
	// Subtotal is the options' total for Term, before any coupon.
	Subtotal decimal.Decimal
	// Discount is what a coupon takes off (positive), Total what remains.
	Discount decimal.Decimal
	Total    decimal.Decimal
	// HourlyRate is the sum of hourly unit prices x quantities; MonthlyCap
	// the sum of monthly prices: a BYO service is billed the cap on its
	// cycle.
	HourlyRate decimal.Decimal
	MonthlyCap decimal.Decimal
}

// Coupon is a panel coupon, with Paymenter's rules.
type Coupon struct {
	ID   uint64
	Code string
	// Type is "percentage" or "fixed".
	Type string
	// AppliesTo is "all", "price" or "setup_fee".
	AppliesTo string
	Value     decimal.Decimal
	// Recurring: nil or 1 = first cycle only; 0 = every cycle; N = the
	// first N cycles (Paymenter's coupons.recurring).
	Recurring      *int
	MaxUses        *int
	MaxUsesPerUser *int
	StartsAt       *time.Time
	ExpiresAt      *time.Time
	// ProductIDs restricts the coupon; empty means every product.
	ProductIDs []uint64
}

// CouponUse is what a coupon check needs to know about past uses.
type CouponUse struct {
	Total   int
	ByUser  int
	Product uint64
	Now     time.Time
}

// Resources maps provisioning keys to resources: ram_gb x 1024 = memory
// MiB, and so on. Filled in by ResourcesFor.
type Resources = hostapi.Target
