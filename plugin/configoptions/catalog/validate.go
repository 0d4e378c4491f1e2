package catalog

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/upsell-io/upsell/hostapi"
)

// MaxTextLength is the longest text a text option takes, in characters
// (runes, not bytes).
const MaxTextLength = 500

// Selected is one validated choice, resolved against its option.
type Selected struct {
	// Option is a copy of the option chosen.
	Option Option
	// Value is the chosen value of a dropdown or radio, or a checked
	// checkbox's value; nil for an unchecked checkbox, a quantity, a slider
	// or a text.
	Value *Value
	// Quantity of a quantity or slider option.
	Quantity int64
	// Text of a text option, never empty.
	Text string
}

// Selection is a validated set of choices, one per option at most, in the
// order the options were given (group by group, option by option).
type Selection []Selected

// Choices turns the selection back into what a client sends (or what a
// store keeps): Revalidate(groups, s.Choices()) gives s back.
func (s Selection) Choices() []Choice {
	out := make([]Choice, 0, len(s))
	for _, it := range s {
		c := Choice{OptionID: it.Option.ID, Quantity: it.Quantity, Text: it.Text}
		if it.Value != nil {
			c.ValueID = it.Value.ID
		}
		out = append(out, c)
	}
	return out
}

// Validate checks what a client sends for a new purchase against the option
// groups of a product (the preset groups linked to it) or against one BYO
// group, and returns the normalized selection. The rules:
//
//   - every choice names a known option, each option at most once;
//   - inactive or deleted groups, inactive options and inactive or deleted
//     values are not for sale;
//   - a dropdown or radio takes one of its own values; a checkbox takes its
//     value's id (ticked) or 0 (not ticked); a quantity or slider takes a
//     quantity within Min..Max on the step ((q-Min) % Step == 0); a text
//     takes at most MaxTextLength characters of valid UTF-8 (an empty or
//     blank text, only whitespace, counts as not sent); a choice carrying
//     a field its type does not take (a quantity for a dropdown...) is
//     refused;
//   - a dropdown or radio not sent takes its default value when it has an
//     active one;
//   - every required option for sale has a selection: it is present (a
//     required text is not blank), and a required checkbox is ticked.
//
// Options that are not sent (and have no default) are left out of the
// selection. Each refusal is a hostapi.Invalid whose field is
// "options.<id>" and whose message names the option; every failing option
// is reported at once (hostapi.JoinInvalid: one refusal per option, in the
// catalog's order, then options the catalog does not know). On error no
// selection is returned.
func Validate(groups []Group, choices []Choice) (Selection, error) {
	return validate(groups, choices, forSale, nil)
}

// Revalidate rebuilds a selection that was validated and sold earlier (a
// service's locked selection), to price or provision it again. It checks
// the structure only: the options are known, each once, values belong to
// their option, the fields fit the type, quantities are not negative and
// texts not too long. It does not check whether groups, options or values
// are still for sale, whether quantities are still within Min..Max and on
// the step, nor required options or defaults: what was sold stays valid
// after the admin changes the catalog. The groups must include deleted
// values (and inactive options) the stored choices point at. Never use it
// for what a client sends.
func Revalidate(groups []Group, choices []Choice) (Selection, error) {
	return validate(groups, choices, sold, nil)
}

// ValidateChange validates the choices a client sends to change an existing
// service whose locked selection is current: a choice identical to the
// current one for its option is kept as it was sold (an inactive or deleted
// value, or a quantity outside today's bounds, may stay); every other
// choice, and the required and default rules, are checked as Validate
// does.
func ValidateChange(groups []Group, current, next []Choice) (Selection, error) {
	kept := make(map[uint64]Choice, len(current))
	for _, c := range current {
		kept[c.OptionID] = c
	}
	return validate(groups, next, forSale, kept)
}

type checkMode int

const (
	// forSale: a new purchase; everything is checked.
	forSale checkMode = iota
	// sold: an existing selection; structure only.
	sold
)

type slot struct {
	group  *Group
	option *Option
}

func validate(groups []Group, choices []Choice, mode checkMode, kept map[uint64]Choice) (Selection, error) {
	byID := make(map[uint64]slot)
	var order []uint64
	for gi := range groups {
		g := &groups[gi]
		for oi := range g.Options {
			o := &g.Options[oi]
			if _, dup := byID[o.ID]; dup {
				return nil, hostapi.Errorf(hostapi.CodeInternal, "option id %d appears twice in the catalog", o.ID)
			}
			byID[o.ID] = slot{g, o}
			order = append(order, o.ID)
		}
	}

	// Every failing option is reported, once: refused holds each known
	// option's first refusal, unknown the options the catalog lacks.
	refused := make(map[uint64]error)
	var unknown []error
	refuse := func(id uint64, err error) {
		if refused[id] == nil {
			refused[id] = err
		}
	}
	seen := make(map[uint64]bool, len(choices))
	blank := make(map[uint64]bool)
	picked := make(map[uint64]Selected, len(choices))
	for _, c := range choices {
		field := optionField(c.OptionID)
		s, ok := byID[c.OptionID]
		if !ok {
			unknown = append(unknown, hostapi.Invalid(field, "unknown option %d", c.OptionID))
			continue
		}
		if seen[c.OptionID] {
			refuse(c.OptionID, hostapi.Invalid(field, "option %q is chosen more than once", s.option.Name))
			continue
		}
		seen[c.OptionID] = true
		grandfathered := mode == sold
		if prev, ok := kept[c.OptionID]; ok && prev == c {
			grandfathered = true
		}
		if !grandfathered {
			if err := sellable(s); err != nil {
				refuse(c.OptionID, err)
				continue
			}
		}
		sel, present, err := choose(*s.option, c, grandfathered)
		if err != nil {
			if hostapi.CodeOf(err) != hostapi.CodeInvalid {
				return nil, err
			}
			refuse(c.OptionID, err)
			continue
		}
		if present {
			picked[c.OptionID] = sel
		} else if s.option.Type == Text && c.Text != "" {
			blank[c.OptionID] = true
		}
	}

	if mode == forSale {
		for _, id := range order {
			s := byID[id]
			o := s.option
			if refused[id] != nil {
				continue
			}
			if sel, ok := picked[id]; ok {
				if o.Type == Checkbox && o.Required && sel.Value == nil {
					refuse(id, hostapi.Invalid(optionField(id), "option %q must be ticked", o.Name))
				}
				continue
			}
			if sellable(s) != nil {
				continue
			}
			if o.Type == Dropdown || o.Type == Radio {
				if v := defaultValue(o); v != nil {
					picked[id] = Selected{Option: *o, Value: v}
					continue
				}
			}
			switch {
			case !o.Required:
			case blank[id]:
				refuse(id, hostapi.Invalid(optionField(id), "option %q is required: its text is blank", o.Name))
			default:
				refuse(id, hostapi.Invalid(optionField(id), "option %q is required", o.Name))
			}
		}
	}

	if len(refused) > 0 || len(unknown) > 0 {
		errs := make([]error, 0, len(refused)+len(unknown))
		for _, id := range order {
			if err := refused[id]; err != nil {
				errs = append(errs, err)
			}
		}
		return nil, hostapi.JoinInvalid(append(errs, unknown...)...)
	}

	out := make(Selection, 0, len(picked))
	for _, id := range order {
		if sel, ok := picked[id]; ok {
			out = append(out, sel)
		}
	}
	return out, nil
}

func optionField(id uint64) string { return fmt.Sprintf("options.%d", id) }

// sellable says whether an option can be bought now.
func sellable(s slot) error {
	field := optionField(s.option.ID)
	if !s.group.Active || s.group.DeletedAt != nil {
		return hostapi.Invalid(field, "option %q is not for sale: its group %q is inactive", s.option.Name, s.group.Name)
	}
	if !s.option.Active {
		return hostapi.Invalid(field, "option %q is not for sale", s.option.Name)
	}
	return nil
}

// defaultValue is a dropdown's or radio's default value, if one is for sale.
func defaultValue(o *Option) *Value {
	for i := range o.Values {
		v := o.Values[i]
		if v.Default && v.Active && !v.Deleted {
			return &v
		}
	}
	return nil
}

func findValue(o Option, id uint64) *Value {
	for i := range o.Values {
		if o.Values[i].ID == id {
			v := o.Values[i]
			return &v
		}
	}
	return nil
}

// choose checks one choice against its option. present is false for a
// choice that counts as not sent (an empty text).
func choose(o Option, c Choice, grandfathered bool) (sel Selected, present bool, err error) {
	field := optionField(o.ID)
	sel = Selected{Option: o}
	switch o.Type {
	case Dropdown, Radio, Checkbox:
		if c.Quantity != 0 || c.Text != "" {
			return sel, false, hostapi.Invalid(field, "option %q takes a value, not a quantity or a text", o.Name)
		}
		if c.ValueID == 0 {
			if o.Type == Checkbox {
				return sel, true, nil // not ticked
			}
			return sel, false, hostapi.Invalid(field, "option %q needs one of its values", o.Name)
		}
		v := findValue(o, c.ValueID)
		if v == nil {
			return sel, false, hostapi.Invalid(field, "value %d is not a choice of option %q", c.ValueID, o.Name)
		}
		if !grandfathered {
			if v.Deleted {
				return sel, false, hostapi.Invalid(field, "%q of option %q is no longer offered", v.Label, o.Name)
			}
			if !v.Active {
				return sel, false, hostapi.Invalid(field, "%q of option %q is not for sale", v.Label, o.Name)
			}
		}
		sel.Value = v
		return sel, true, nil

	case Quantity, Slider:
		if c.ValueID != 0 || c.Text != "" {
			return sel, false, hostapi.Invalid(field, "option %q takes a quantity, not a value or a text", o.Name)
		}
		q := c.Quantity
		if q < 0 {
			return sel, false, hostapi.Invalid(field, "option %q: the quantity %d is negative", o.Name, q)
		}
		if !grandfathered {
			if err := inRange(o, q); err != nil {
				return sel, false, err
			}
		}
		sel.Quantity = q
		return sel, true, nil

	case Text:
		if c.ValueID != 0 || c.Quantity != 0 {
			return sel, false, hostapi.Invalid(field, "option %q takes a text, not a value or a quantity", o.Name)
		}
		if !utf8.ValidString(c.Text) {
			return sel, false, hostapi.Invalid(field, "option %q: the text is not valid UTF-8", o.Name)
		}
		if n := utf8.RuneCountInString(c.Text); n > MaxTextLength {
			return sel, false, hostapi.Invalid(field, "option %q takes at most %d characters, got %d", o.Name, MaxTextLength, n)
		}
		if c.Text == "" || (!grandfathered && strings.TrimSpace(c.Text) == "") {
			// Blank: only whitespace is no text. What was sold stays.
			return sel, false, nil
		}
		sel.Text = c.Text
		return sel, true, nil
	}
	return sel, false, hostapi.Errorf(hostapi.CodeInternal, "option %q has unknown type %q", o.Name, o.Type)
}

// inRange checks a quantity against Min..Max and the step.
func inRange(o Option, q int64) error {
	field := optionField(o.ID)
	if q < o.Min {
		return hostapi.Invalid(field, "option %q: %d is below the minimum %d", o.Name, q, o.Min)
	}
	if q > o.Max {
		return hostapi.Invalid(field, "option %q: %d is above the maximum %d", o.Name, q, o.Max)
	}
	step := max(o.Step, 1)
	if off := (q - o.Min) % step; off != 0 {
		below := q - off
		if above := below + step; above <= o.Max {
			return hostapi.Invalid(field, "option %q: %d is not on the steps of %d from %d (%d or %d would be)", o.Name, q, step, o.Min, below, above)
		}
		return hostapi.Invalid(field, "option %q: %d is not on the steps of %d from %d (%d would be)", o.Name, q, step, o.Min, below)
	}
	return nil
}
