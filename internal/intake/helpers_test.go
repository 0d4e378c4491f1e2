package intake_test

import (
	"io"
	"log/slog"

	"github.com/shopspring/decimal"
)

func mustDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
