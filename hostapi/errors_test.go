package hostapi

import (
	"errors"
	"fmt"
	"testing"
)

func asError(err error, target **Error) bool { return errors.As(err, target) }

func TestSentinelsMatchByCode(t *testing.T) {
	err := fmt.Errorf("buy: %w", Invalid("package_id", "unknown package"))
	if !errors.Is(err, ErrInvalid) {
		t.Fatal("wrapped invalid error does not match ErrInvalid")
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatal("invalid error matches ErrNotFound")
	}
	if got := err.Error(); got != "buy: package_id: unknown package" {
		t.Fatalf("message %q", got)
	}
	if CodeOf(errors.New("plain")) != CodeInternal || CodeOf(nil) != "" {
		t.Fatal("CodeOf of untyped errors")
	}
}

// Several refusals travel as one: the first field in the detail, every
// field in the message, which reads the same on both sides of the wire.
func TestJoinInvalid(t *testing.T) {
	plan := Invalid("options.2", "option %q is required", "Plan")
	name := Invalid("options.5", "option %q is required: its text is blank", "Name")
	ports := Invalid("options.3", "option %q: 11 is above the maximum 10", "Ports")
	tests := []struct {
		name  string
		errs  []error
		field string
		text  string // "" = nil
	}{
		{"none", nil, "", ""},
		{"only nils", []error{nil, nil}, "", ""},
		{"one is itself", []error{nil, plan}, "options.2", `options.2: option "Plan" is required`},
		{"three, in order", []error{plan, nil, name, ports}, "options.2",
			`options.2: option "Plan" is required; options.5: option "Name" is required: its text is blank; options.3: option "Ports": 11 is above the maximum 10`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := JoinInvalid(tt.errs...)
			if tt.text == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var e *Error
			if !asError(err, &e) || e.Code != CodeInvalid || e.Field != tt.field || err.Error() != tt.text {
				t.Fatalf("got %#v %q, want field %q %q", e, err, tt.field, tt.text)
			}
			back := fromStatus(t.Context(), nil, toStatus(err))
			var got *Error
			if !asError(back, &got) || got.Code != CodeInvalid || got.Field != tt.field || back.Error() != tt.text {
				t.Errorf("over the wire: %#v %q", got, back)
			}
		})
	}
	joined := JoinInvalid(plan, name, ports)
	if !errors.Is(joined, ErrInvalid) || !errors.Is(joined, name) || !errors.Is(joined, ports) {
		t.Error("the causes are not reachable")
	}
	// A failure is not a refusal: it comes back alone.
	broken := Errorf(CodeInternal, "option id 3 appears twice in the catalog")
	if got := JoinInvalid(plan, broken, name); got != broken {
		t.Errorf("got %v, want the internal error alone", got)
	}
}
