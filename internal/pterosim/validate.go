package pterosim

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is a small interpreter for the subset of Laravel validation rules
// the build request uses. Modelling the rules instead of hand-coding each
// field keeps Laravel's subtle semantics in one place: which rules still run
// after a failure, when null or a missing key is validated at all, and what
// "size" means for min and between.

// fieldRules are the rules of one field, in Laravel's "a|b:param" notation. A
// field ending in ".*" applies to every element of an array.
type fieldRules struct {
	field string
	rules string
}

// implicitRules run even when the field is missing or empty.
var implicitRules = map[string]bool{"required": true, "required_with": true, "required_without": true, "present": true}

type validator struct {
	data   map[string]any
	errors []errorEntry
	failed map[string]map[string]bool // field -> failed rule names
	// custom holds the database rules (unique, exists), which need state.
	custom map[string]func(v any) bool
}

func newValidator(data map[string]any, custom map[string]func(any) bool) *validator {
	return &validator{data: data, failed: map[string]map[string]bool{}, custom: custom}
}

// failure returns the 422 for the collected errors, or nil if there are none.
func (v *validator) failure() *failure {
	if len(v.errors) == 0 {
		return nil
	}
	return &failure{status: http.StatusUnprocessableEntity, kind: kindRedirectBack, errors: v.errors}
}

func (v *validator) validate(all []fieldRules) {
	for _, fr := range all {
		parent, wildcard := strings.CutSuffix(fr.field, ".*")
		if !wildcard {
			v.validateField(fr.field, strings.Split(fr.rules, "|"))
			continue
		}
		container, _ := lookup(v.data, parent)
		for _, key := range elementKeys(container) {
			v.validateField(parent+"."+key, strings.Split(fr.rules, "|"))
		}
	}
}

// validateField is Laravel's Validator::validateAttribute loop for one field.
func (v *validator) validateField(field string, rules []string) {
	value, present := lookup(v.data, field)
	if slices.Contains(rules, "sometimes") && !present {
		return
	}
	bail, nullable := slices.Contains(rules, "bail"), slices.Contains(rules, "nullable")
	numericRule := slices.Contains(rules, "numeric") || slices.Contains(rules, "integer")
	for _, spec := range rules {
		name, param, _ := strings.Cut(spec, ":")
		if name == "sometimes" || name == "bail" || name == "nullable" {
			continue
		}
		if v.shouldStop(field, bail) {
			return
		}
		if !implicitRules[name] {
			// Non-implicit rules skip missing fields, blank strings, null when
			// nullable, and (for database rules) fields that already failed.
			if !present || isBlankString(value) || (nullable && value == nil) {
				continue
			}
			if (name == "unique" || name == "exists") && len(v.failed[field]) > 0 {
				continue
			}
		}
		if !v.passes(name, param, value, present, numericRule) {
			v.fail(field, name, param, value, numericRule)
		}
	}
}

func (v *validator) shouldStop(field string, bail bool) bool {
	failed := v.failed[field]
	if bail && len(failed) > 0 {
		return true
	}
	for rule := range failed {
		if implicitRules[rule] {
			return true
		}
	}
	return false
}

func (v *validator) passes(name, param string, value any, present, numericRule bool) bool {
	switch name {
	case "required":
		return filled(value)
	case "required_with":
		other, _ := lookup(v.data, param)
		return !filled(other) || filled(value)
	case "required_without":
		other, _ := lookup(v.data, param)
		return filled(other) || filled(value)
	case "present":
		return present
	case "numeric":
		_, ok := numericValue(value)
		return ok
	case "integer":
		_, ok := integerValue(value)
		return ok
	case "array":
		return isArray(value)
	case "boolean":
		_, ok := booleanValue(value)
		return ok
	case "regex":
		s, ok := scalarString(value)
		return ok && threadsPattern.MatchString(s)
	case "min":
		lo, _ := strconv.ParseFloat(param, 64)
		return size(value, numericRule) >= lo
	case "between":
		lo, hi := betweenBounds(param)
		n := size(value, numericRule)
		return n >= lo && n <= hi
	case "unique", "exists":
		return v.custom[name](value)
	}
	panic("pterosim: unknown validation rule " + name)
}

// fail records a failed rule with the message of the panel's English
// translations.
func (v *validator) fail(field, name, param string, value any, numericRule bool) {
	attr := strings.ReplaceAll(field, "_", " ")
	kind := sizeKind(value, numericRule)
	var msg string
	switch name {
	case "required":
		msg = fmt.Sprintf("The %s field is required.", attr)
	case "required_with":
		msg = fmt.Sprintf("The %s field is required when %s is present.", attr, strings.ReplaceAll(param, "_", " "))
	case "required_without":
		msg = fmt.Sprintf("The %s field is required when %s is not present.", attr, strings.ReplaceAll(param, "_", " "))
	case "present":
		msg = fmt.Sprintf("The %s field must be present.", attr)
	case "numeric":
		msg = fmt.Sprintf("The %s must be a number.", attr)
	case "integer":
		msg = fmt.Sprintf("The %s must be an integer.", attr)
	case "array":
		msg = fmt.Sprintf("The %s must be an array.", attr)
	case "boolean":
		msg = fmt.Sprintf("The %s field must be true or false.", attr)
	case "regex":
		msg = fmt.Sprintf("The %s format is invalid.", attr)
	case "unique":
		msg = fmt.Sprintf("The %s has already been taken.", attr)
	case "exists":
		msg = fmt.Sprintf("The selected %s is invalid.", attr)
	case "min":
		msg = map[string]string{
			"numeric": "The %s must be at least %s.",
			"array":   "The %s must have at least %s items.",
			"string":  "The %s must be at least %s characters.",
		}[kind]
		msg = fmt.Sprintf(msg, attr, param)
	case "between":
		lo, hi, _ := strings.Cut(param, ",")
		msg = map[string]string{
			"numeric": "The %s must be between %s and %s.",
			"array":   "The %s must have between %s and %s items.",
			"string":  "The %s must be between %s and %s characters.",
		}[kind]
		msg = fmt.Sprintf(msg, attr, lo, hi)
	}
	if v.failed[field] == nil {
		v.failed[field] = map[string]bool{}
	}
	v.failed[field][name] = true
	v.errors = append(v.errors, errorEntry{
		Code:   "ValidationException",
		Status: strconv.Itoa(http.StatusUnprocessableEntity),
		Detail: msg,
		Meta:   &errorMeta{SourceField: field, Rule: name},
	})
}

// threadsPattern is the rule regex:/^[0-9-,]+$/ of threads, the only regex
// rule the build request has.
var threadsPattern = regexp.MustCompile(`^[0-9-,]+$`)

// phpNumeric matches the strings PHP's is_numeric accepts (after trimming).
var phpNumeric = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

// phpInteger matches the strings filter_var(FILTER_VALIDATE_INT) accepts.
var phpInteger = regexp.MustCompile(`^[+-]?(0|[1-9]\d*)$`)

// lookup is Arr::get with dot notation: it reports the value at path and
// whether the key exists (a null value exists).
func lookup(data any, path string) (any, bool) {
	cur := data
	for key := range strings.SplitSeq(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[key]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// elementKeys returns the keys of a PHP array (a JSON array or object).
func elementKeys(v any) []string {
	switch c := v.(type) {
	case []any:
		keys := make([]string, len(c))
		for i := range c {
			keys[i] = strconv.Itoa(i)
		}
		return keys
	case map[string]any:
		return slices.Sorted(maps.Keys(c))
	}
	return nil
}

// elements returns the values of a PHP array in key order.
func elements(v any) []any {
	var out []any
	for _, k := range elementKeys(v) {
		e, _ := lookup(v, k)
		out = append(out, e)
	}
	return out
}

// filled is Laravel's validateRequired.
func filled(v any) bool {
	switch c := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(c) != ""
	case []any:
		return len(c) > 0
	case map[string]any:
		return len(c) > 0
	}
	return true
}

func isBlankString(v any) bool {
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

func isArray(v any) bool {
	switch v.(type) {
	case []any, map[string]any:
		return true
	}
	return false
}

// numericValue is PHP's is_numeric plus the value.
func numericValue(v any) (float64, bool) {
	var s string
	switch c := v.(type) {
	case json.Number:
		s = c.String()
	case string:
		s = strings.TrimSpace(c)
		if !phpNumeric.MatchString(s) {
			return 0, false
		}
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// integerValue is filter_var(FILTER_VALIDATE_INT): a JSON number without a
// fractional part (PHP decodes 5.0 to a float that validates), or a string of
// digits without leading zeros.
func integerValue(v any) (int, bool) {
	switch c := v.(type) {
	case json.Number:
		f, err := c.Float64()
		if err != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt64/2 {
			return 0, false
		}
		return int(f), true
	case string:
		if !phpInteger.MatchString(c) {
			return 0, false
		}
		n, err := strconv.Atoi(c)
		return n, err == nil
	}
	return 0, false
}

// booleanValue is Laravel's boolean rule: true, false, 1, 0, "1" and "0".
func booleanValue(v any) (bool, bool) {
	switch c := v.(type) {
	case bool:
		return c, true
	case json.Number, string:
		switch fmt.Sprint(c) {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	}
	return false, false
}

// scalarString converts a string or a number to a string, as PHP does for the
// regex rule; other types fail the rule.
func scalarString(v any) (string, bool) {
	switch c := v.(type) {
	case string:
		return c, true
	case json.Number:
		return c.String(), true
	}
	return "", false
}

// size is Laravel's getSize: the number itself for numeric values of fields
// with a numeric rule, the element count of arrays, else the string length.
func size(v any, numericRule bool) float64 {
	switch sizeKind(v, numericRule) {
	case "numeric":
		f, _ := numericValue(v)
		return f
	case "array":
		return float64(len(elementKeys(v)))
	}
	switch c := v.(type) {
	case nil:
		return 0
	case bool:
		if c {
			return 1 // strlen("1")
		}
		return 0
	}
	return float64(utf8.RuneCountInString(fmt.Sprint(v)))
}

func sizeKind(v any, numericRule bool) string {
	if _, isNumber := numericValue(v); isNumber && numericRule {
		return "numeric"
	}
	if isArray(v) {
		return "array"
	}
	return "string"
}

func betweenBounds(param string) (float64, float64) {
	a, b, _ := strings.Cut(param, ",")
	lo, _ := strconv.ParseFloat(a, 64)
	hi, _ := strconv.ParseFloat(b, 64)
	return lo, hi
}

// storedInt converts a validated numeric value to what an integer column
// stores: MySQL rounds fractional values.
func storedInt(v any) int {
	f, _ := numericValue(v)
	return int(math.Round(f))
}

// idValue converts a value compared with an integer id column. MySQL compares
// numbers and numeric strings by value; anything else matches no row.
func idValue(v any) (int, bool) {
	f, ok := numericValue(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}
