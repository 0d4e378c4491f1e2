package hostapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DecodeJSON decodes a request body that must hold exactly one JSON object
// into v, a pointer to a struct. It is the one strict reading of a body for
// every module; what it refuses is a CodeInvalid error (HTTP 422) naming the
// field where there is one:
//
//   - an empty body, and a body that is not an object (null, a list, a
//     number): decoding null into a struct would change nothing and let a
//     PATCH of "null" rewrite a row with what it already holds;
//   - anything after the object ({"a":1} {"a":2}): a second document a
//     proxy or a log may read while the module reads the first;
//   - a key repeated in the same object, at any depth, including one that
//     differs only in case ({"id":1,"ID":2}): encoding/json matches keys
//     case-insensitively and keeps the last, so the value checked by one
//     reader would not be the value another uses;
//   - a key no field of v takes (a misspelt "max_qyt" is not dropped);
//   - a value of the wrong type for its field, or out of its range.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Invalid("body", "is empty: a JSON object is required")
	}
	if err := checkJSONShape(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	return nil
}

// checkJSONShape walks body's tokens: one object, no key twice in any
// object (keys compared as encoding/json matches them), nothing after it.
func checkJSONShape(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	if tok != json.Delim('{') {
		return Invalid("body", "must be a JSON object, not %s", jsonKind(tok))
	}
	stack := []*jsonLevel{{object: true, keys: map[string]bool{}}}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if top.object && dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return syntaxError(err)
			}
			key, _ := tok.(string)
			folded := foldKey(key)
			field := joinPath(top.path, key)
			if top.keys[folded] {
				return Invalid(field, "is given twice")
			}
			top.keys[folded] = true
			if err := openValue(dec, &stack, field); err != nil {
				return err
			}
			continue
		}
		if !top.object && dec.More() {
			field := fmt.Sprintf("%s[%d]", top.path, top.index)
			top.index++
			if err := openValue(dec, &stack, field); err != nil {
				return err
			}
			continue
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return syntaxError(err)
		}
		stack = stack[:len(stack)-1]
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid("body", "has data after the JSON object")
	}
	return nil
}

// jsonLevel is an open object or array: an object's keys are kept to find
// a repeat; path names the value for errors.
type jsonLevel struct {
	object bool
	keys   map[string]bool
	path   string
	index  int
}

// openValue reads the next value's first token and, for an object or an
// array, pushes a level for what it holds.
func openValue(dec *json.Decoder, stack *[]*jsonLevel, field string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	switch tok {
	case json.Delim('{'):
		*stack = append(*stack, &jsonLevel{object: true, keys: map[string]bool{}, path: field})
	case json.Delim('['):
		*stack = append(*stack, &jsonLevel{path: field})
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// foldKey is key as encoding/json compares it with a field's name when no
// name matches exactly: ASCII letters upper-cased, other runes mapped to
// upper(lower(r)) (so the Kelvin sign is K and the long s is S).
func foldKey(key string) string {
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		b.WriteRune(unicode.ToUpper(unicode.ToLower(r)))
	}
	return b.String()
}

func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	}
	if tok == json.Delim('[') {
		return "a list"
	}
	return fmt.Sprintf("%v", tok)
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return Invalid("body", "is not valid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Invalid("body", "is not valid JSON: it ends too early")
	}
	return Invalid("body", "is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// decodeError turns encoding/json's errors into field errors without Go
// type names.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return Invalid(field, "must be %s, not %s", goKind(te.Type.Kind().String(), te.Type.String()), describeJSON(te.Value))
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); strings.HasPrefix(msg, unknown) {
		name, uerr := strconv.Unquote(strings.TrimPrefix(msg, unknown))
		if uerr != nil {
			name = strings.TrimPrefix(msg, unknown)
		}
		return Invalid(name, "is an unknown field")
	}
	return syntaxError(err)
}

// goKind names what a Go type takes in JSON terms.
func goKind(kind, typ string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64":
		return "a whole number that fits " + kind
	case "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number, not negative, that fits " + kind
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	case "ptr":
		return "a value of type " + strings.TrimPrefix(typ, "*")
	}
	return "a value of type " + typ
}

// describeJSON names the JSON value encoding/json found ("number 1e3",
// "string", "array").
func describeJSON(v string) string {
	switch {
	case strings.HasPrefix(v, "number"):
		return "the " + v
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "bool":
		return "a boolean"
	case v == "string":
		return "a string"
	}
	return v
}
