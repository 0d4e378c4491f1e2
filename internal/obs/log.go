package obs

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats accepted by NewLogger and ParseFormat.
const (
	FormatJSON = "json"
	FormatText = "text"
)

// ParseLevel parses a log level name: debug, info, warn (or warning), error,
// case-insensitively, and slog's offsets such as "info+2". The empty string
// is info.
func ParseLevel(s string) (slog.Level, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	switch name {
	case "":
		return slog.LevelInfo, nil
	case "warning":
		name = "warn"
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(name)); err != nil {
		return slog.LevelInfo, fmt.Errorf("unknown log level %q (want debug, info, warn or error): %w", s, err)
	}
	return level, nil
}

// ParseFormat normalises a log format name: "json" (the default, also for the
// empty string) or "text".
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", FormatJSON:
		return FormatJSON, nil
	case FormatText:
		return FormatText, nil
	default:
		return "", fmt.Errorf("unknown log format %q (want json or text)", s)
	}
}

// NewLogger returns a logger writing to w at the given level and format whose
// output goes through the redacting handler with the process-wide secrets
// (RegisterSecret). JSON is the default because operators ship these logs to
// collectors that parse them.
//
// The configuration is validated before a logger is built, so an unknown
// level or format here is a programming error; rather than losing the logs
// it falls back to info and JSON respectively.
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	lvl, err := ParseLevel(level)
	if err != nil {
		lvl = slog.LevelInfo
	}
	f, err := ParseFormat(format)
	if err != nil {
		f = FormatJSON
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if f == FormatText {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(NewRedactingHandler(h, defaultSecrets))
}
