package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
)

// MaxNameLength bounds group, option and value names, in characters.
const MaxNameLength = 255

// HourlyPlaces is how many decimals an hourly price may have (0.0015); the
// other columns are amounts with money.Places.
const HourlyPlaces = 4

var serviceTypeRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidateGroup checks a group an admin saves. Every problem found is
// returned at once (hostapi.JoinInvalid, so a form can mark each field),
// each a hostapi.Invalid whose field points into the group
// ("options[2].values[0].prices.hourly") and whose message names the
// option. The rules:
//
//   - the group, its options and their values have names (at most
//     MaxNameLength characters); option names are unique in the group;
//     option ids, where set, are unique;
//   - the mode is preset or build_your_own; a BYO group has a service type
//     (a lowercase word such as vps, mysql, game);
//   - a dropdown or radio has at least one value that is not deleted
//     (deleted values stay for the selections that point at them); a
//     checkbox has exactly one value that is not deleted (its "on" value);
//     a quantity, slider or text has no values;
//   - a quantity or slider has 0 <= Min <= Max and Step >= 1; a slider's
//     range is a whole number of steps ((Max-Min) % Step == 0);
//   - dropdown, radio and checkbox are priced on their values, quantity
//     and slider on UnitPrices; a text has no prices at all;
//   - prices are not negative, with at most 2 decimals (hourly: 4);
//   - a BYO group is billed its monthly cap, so every value and unit price
//     of it has a monthly price;
//   - at most one default value per option, on a value for sale;
//   - provisioning keys are known (ValidKey) and fit the option: text keys
//     for text options, numeric keys for the others, whose values' Raw must
//     then be whole numbers (a checkbox's may be empty, meaning 1); two
//     options of the group cannot set the same thing (ram_gb and memory).
func ValidateGroup(g Group) error {
	var errs []error
	errs = append(errs, checkName("name", "the group", g.Name))
	switch g.Mode {
	case Preset:
	case BuildYourOwn:
		if g.ServiceType == "" {
			errs = append(errs, hostapi.Invalid("service_type", "a build-your-own group needs a service type (vps, mysql, game...)"))
		} else if !serviceTypeRe.MatchString(g.ServiceType) {
			errs = append(errs, hostapi.Invalid("service_type", "%q is not a service type: a lowercase word such as vps, mysql or game", g.ServiceType))
		}
	default:
		errs = append(errs, hostapi.Invalid("mode", "unknown mode %q: preset or build_your_own", g.Mode))
	}
	names := make(map[string]int)
	ids := make(map[uint64]int)
	sets := make(map[string]string)
	for i, o := range g.Options {
		field := fmt.Sprintf("options[%d]", i)
		if err := checkName(field+".name", "an option", o.Name); err != nil {
			errs = append(errs, err)
		} else {
			folded := strings.ToLower(strings.TrimSpace(o.Name))
			if j, dup := names[folded]; dup {
				errs = append(errs, hostapi.Invalid(field+".name", "option %q has the same name as options[%d]", o.Name, j))
			}
			names[folded] = i
		}
		if o.ID != 0 {
			if j, dup := ids[o.ID]; dup {
				errs = append(errs, hostapi.Invalid(field+".id", "option %q has the same id %d as options[%d]", o.Name, o.ID, j))
			}
			ids[o.ID] = i
		}
		errs = append(errs, checkOption(g, field, o)...)
		if o.ProvisioningKey != "" && ValidKey(o.ProvisioningKey) {
			s := keySpecs[o.ProvisioningKey].sets
			if other, dup := sets[s]; dup {
				errs = append(errs, hostapi.Invalid(field+".provisioning_key", "options %q and %q both set %s", other, o.Name, s))
			}
			sets[s] = o.Name
		}
	}
	return hostapi.JoinInvalid(errs...)
}

func checkName(field, what, name string) error {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		return hostapi.Invalid(field, "%s needs a name", what)
	case !utf8.ValidString(name):
		return hostapi.Invalid(field, "%s's name is not valid UTF-8", what)
	case n > MaxNameLength:
		return hostapi.Invalid(field, "%s's name has %d characters, at most %d", what, n, MaxNameLength)
	}
	return nil
}

func checkOption(g Group, field string, o Option) []error {
	byo := g.Mode == BuildYourOwn
	errs := []error{checkKey(field, o)}
	switch o.Type {
	case Dropdown, Radio, Checkbox:
		if !o.UnitPrices.empty() {
			errs = append(errs, hostapi.Invalid(field+".unit_prices", "option %q is priced on its values, not per unit", o.Name))
		}
		kept, defaults := 0, 0
		for j, v := range o.Values {
			vf := fmt.Sprintf("%s.values[%d]", field, j)
			errs = append(errs, checkName(vf+".label", fmt.Sprintf("a value of option %q", o.Name), v.Label))
			errs = append(errs, checkPrices(vf+".prices", o.Name, v.Prices, byo)...)
			if !v.Deleted {
				kept++
			}
			if v.Default {
				defaults++
				if defaults > 1 {
					errs = append(errs, hostapi.Invalid(vf+".default", "option %q has more than one default value", o.Name))
				} else if v.Deleted || !v.Active {
					errs = append(errs, hostapi.Invalid(vf+".default", "option %q: the default value %q is not for sale", o.Name, v.Label))
				}
			}
			if o.ProvisioningKey != "" && !(o.Type == Checkbox && v.Raw == "") && !v.Deleted {
				if _, err := rawNumber(o, v); err != nil {
					errs = append(errs, hostapi.Invalid(vf+".raw", "option %q: %q must provision a whole number of %s, not %q", o.Name, v.Label, o.ProvisioningKey, v.Raw))
				}
			}
		}
		if o.Type == Checkbox && kept != 1 {
			errs = append(errs, hostapi.Invalid(field+".values", "checkbox %q needs exactly one value (its \"on\" value), has %d", o.Name, kept))
		} else if kept == 0 {
			errs = append(errs, hostapi.Invalid(field+".values", "option %q needs at least one value", o.Name))
		}
	case Quantity, Slider:
		if len(o.Values) > 0 {
			errs = append(errs, hostapi.Invalid(field+".values", "option %q is a %s: it has a unit price, not values", o.Name, o.Type))
		}
		switch {
		case o.Min < 0:
			errs = append(errs, hostapi.Invalid(field+".min", "option %q: the minimum %d is negative", o.Name, o.Min))
		case o.Min > o.Max:
			errs = append(errs, hostapi.Invalid(field+".max", "option %q: the maximum %d is below the minimum %d", o.Name, o.Max, o.Min))
		case o.Step < 1:
			errs = append(errs, hostapi.Invalid(field+".step", "option %q: the step must be at least 1, got %d", o.Name, o.Step))
		case o.Type == Slider && (o.Max-o.Min)%o.Step != 0:
			errs = append(errs, hostapi.Invalid(field+".step", "slider %q: %d..%d is not a whole number of steps of %d", o.Name, o.Min, o.Max, o.Step))
		}
		errs = append(errs, checkPrices(field+".unit_prices", o.Name, o.UnitPrices, byo)...)
	case Text:
		if len(o.Values) > 0 {
			errs = append(errs, hostapi.Invalid(field+".values", "text option %q has no values", o.Name))
		}
		if !o.UnitPrices.empty() {
			errs = append(errs, hostapi.Invalid(field+".unit_prices", "text option %q is never priced", o.Name))
		}
	default:
		errs = append(errs, hostapi.Invalid(field+".type", "option %q has unknown type %q: dropdown, radio, quantity, checkbox, text or slider", o.Name, o.Type))
	}
	return errs
}

func checkKey(field string, o Option) error {
	k := o.ProvisioningKey
	if k == "" {
		return nil
	}
	if !ValidKey(k) {
		return hostapi.Invalid(field+".provisioning_key", "option %q: unknown provisioning key %q", o.Name, k)
	}
	if textKey(k) != (o.Type == Text) {
		return hostapi.Invalid(field+".provisioning_key", "option %q: provisioning key %q does not fit a %s option", o.Name, k, o.Type)
	}
	return nil
}

func (p Prices) empty() bool {
	return p.Hourly == nil && p.Monthly == nil && p.Quarterly == nil && p.SemiAnnual == nil && p.Annual == nil
}

func checkPrices(field, option string, p Prices, byo bool) []error {
	var errs []error
	for _, t := range []Term{Hourly, Monthly, Quarterly, SemiAnnual, Annual} {
		d := p.For(t)
		if d == nil {
			if byo && t == Monthly {
				errs = append(errs, hostapi.Invalid(field+".monthly", "option %q: a build-your-own option needs a monthly price (the service is billed its monthly cap)", option))
			}
			continue
		}
		places := int32(money.Places)
		if t == Hourly {
			places = HourlyPlaces
		}
		errs = append(errs, checkPrice(field+"."+string(t), option, t, *d, places))
	}
	return errs
}

func checkPrice(field, option string, t Term, d decimal.Decimal, places int32) error {
	if d.IsNegative() {
		return hostapi.Invalid(field, "option %q: the %s price %s is negative", option, t.label(), d)
	}
	if !d.Truncate(places).Equal(d) {
		return hostapi.Invalid(field, "option %q: the %s price %s has more than %d decimals", option, t.label(), d, places)
	}
	return nil
}

// Refusals lists every refused field of err, in order: the hostapi.Invalid
// errors hostapi.JoinInvalid gathered (the joined error keeps them as its
// cause inside the process), or err itself when it is one refusal. A form
// marks each next to its field.
func Refusals(err error) []*hostapi.Error {
	var e *hostapi.Error
	if !errors.As(err, &e) {
		return nil
	}
	if joined, ok := e.Err.(interface{ Unwrap() []error }); ok && e.Code == hostapi.CodeInvalid {
		var out []*hostapi.Error
		for _, part := range joined.Unwrap() {
			out = append(out, Refusals(part)...)
		}
		return out
	}
	return []*hostapi.Error{e}
}
