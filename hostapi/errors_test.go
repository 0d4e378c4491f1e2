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
