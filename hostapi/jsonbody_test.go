package hostapi

import (
	"errors"
	"strings"
	"testing"
)

type decodeInner struct {
	Label string `json:"label"`
	Max   *int64 `json:"max"`
}

type decodeDoc struct {
	PackageID uint64            `json:"package_id"`
	Name      *string           `json:"name"`
	Amount    int32             `json:"amount"`
	Prices    map[string]string `json:"prices"`
	Options   []decodeInner     `json:"options"`
	Inner     *decodeInner      `json:"inner"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, body string
		// field is the refused field ("" when the body is accepted) and
		// msg a part of the message.
		field, msg string
	}{
		{"one object", `{"package_id":1,"name":"x","options":[{"label":"a"}]}`, "", ""},
		{"white space around", " \n{\"package_id\":1}\n ", "", ""},
		{"nested null is not sent", `{"name":null,"inner":null}`, "", ""},
		{"same key in sibling objects", `{"options":[{"label":"a"},{"label":"b"}],"inner":{"label":"c"}}`, "", ""},

		{"empty body", ``, "body", "empty"},
		{"blank body", " \n\t", "body", "empty"},
		{"null body", `null`, "body", "not null"},
		{"list body", `[{"package_id":1}]`, "body", "not a list"},
		{"number body", `1`, "body", "not a number"},
		{"string body", `"x"`, "body", "not a string"},
		{"trailing object", `{"package_id":1} {"x":1}`, "body", "data after"},
		{"trailing object without space", `{"package_id":1}{"package_id":2}`, "body", "data after"},
		{"trailing garbage", `{"package_id":1} x`, "body", "data after"},
		{"trailing null", `{"package_id":1} null`, "body", "data after"},
		{"duplicate key", `{"package_id":1,"package_id":2}`, "package_id", "twice"},
		{"duplicate key in another case", `{"package_id":1,"PACKAGE_ID":2}`, "PACKAGE_ID", "twice"},
		{"duplicate key escaped", `{"name":"a","n\u0061me":"b"}`, "name", "twice"},
		{"duplicate key in another case, nested", `{"inner":{"label":"a","LABEL":"b"}}`, "inner.LABEL", "twice"},
		{"duplicate key with the Kelvin sign", "{\"k\":1,\"\u212a\":2}", "\u212a", "twice"},
		{"duplicate key in a nested object", `{"inner":{"label":"a","label":"b"}}`, "inner.label", "twice"},
		{"duplicate key in a list's object", `{"options":[{"label":"a"},{"label":"b","max":1,"max":2}]}`, "options[1].max", "twice"},
		{"duplicate key in a map", `{"prices":{"EUR":"1.00","EUR":"2.00"}}`, "prices.EUR", "twice"},
		{"duplicate key deep in unknown data", `{"x":[[{"a":1,"a":2}]]}`, "x[0][0].a", "twice"},
		{"unknown field", `{"package_id":1,"packge_id":2}`, "packge_id", "unknown field"},
		{"unknown nested field", `{"inner":{"lable":"a"}}`, "lable", "unknown field"},
		{"string for a number", `{"package_id":"1"}`, "package_id", "whole number"},
		{"negative for unsigned", `{"package_id":-1}`, "package_id", "not negative"},
		{"fraction for an integer", `{"package_id":1.5}`, "package_id", "whole number"},
		{"out of int32", `{"amount":2147483648}`, "amount", "fits int32"},
		{"exponent for an integer", `{"amount":1e3}`, "amount", "number 1e3"},
		{"number for a string", `{"name":5}`, "name", "a string"},
		{"object for a list", `{"options":{"label":"a"}}`, "options", "a list"},
		{"wrong type nested", `{"options":[{"label":"a","max":"9"}]}`, "options.max", "whole number"},
		{"broken JSON", `{"package_id":}`, "body", "not valid JSON"},
		{"unterminated", `{"package_id":1`, "body", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v decodeDoc
			err := DecodeJSON([]byte(tc.body), &v)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Code != CodeInvalid || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got code %s field %q message %q, want invalid, %q, containing %q", e.Code, e.Field, e.Message, tc.field, tc.msg)
			}
			if strings.Contains(e.Message, "hostapi.") || strings.Contains(e.Message, "Go struct") {
				t.Errorf("message names Go types: %q", e.Message)
			}
		})
	}
}

// The first value of an accepted body is what is decoded.
func TestDecodeJSONValues(t *testing.T) {
	var v decodeDoc
	if err := DecodeJSON([]byte(`{"package_id":7,"prices":{"EUR":"1.00","USD":"2.00"},"options":[{"label":"a","max":3}]}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.PackageID != 7 || v.Prices["USD"] != "2.00" || len(v.Options) != 1 || *v.Options[0].Max != 3 {
		t.Fatalf("decoded %+v", v)
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		name, in  string
		max       int
		multiline bool
		msg       string
	}{
		{"plain", "8 GB RAM", 191, false, ""},
		{"accents and emoji count as one character each", "Mémoire 🚀", 9, false, ""},
		{"newline in a description", "line one\nline two\ttab", 100, true, ""},
		{"empty is the caller's rule", "", 10, false, ""},
		{"newline in a name", "8 GB\nRAM", 191, false, "control character U+000A"},
		{"NUL", "a\x00b", 191, false, "control character U+0000"},
		{"escape sequence", "\x1b[31mred", 191, true, "control character U+001B"},
		{"C1 control", "a\u0085b", 191, false, "control character U+0085"},
		{"DEL", "a\x7fb", 191, false, "control character U+007F"},
		{"right-to-left override", "invoice\u202Efdp.exe", 191, false, "U+202E"},
		{"isolate", "a\u2066b", 191, false, "U+2066"},
		{"invalid UTF-8", "a\xffb", 191, false, "UTF-8"},
		{"too long", strings.Repeat("é", 192), 191, false, "192 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckText("name", tc.in, tc.max, tc.multiline)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalid || e.Field != "name" || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got %v, want an invalid name containing %q", err, tc.msg)
			}
		})
	}
}
