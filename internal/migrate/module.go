package migrate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing/fstest"

	"github.com/upsell-io/upsell/hostapi"
)

// ModuleNamePattern is the shape of a module name. The name becomes part of
// the module's version table name, so it must be a safe SQL identifier.
var ModuleNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// maxModuleNameLen keeps the module's version table name within MySQL's
// 64-character identifier limit; ModuleNamePattern alone would allow 48.
const maxModuleNameLen = 64 - len(HostVersionTable+"_")

// Errors a module's migrations are refused with, before anything is applied.
// Returned errors wrap them, so callers can test with errors.Is.
var (
	ErrInvalidModuleName = errors.New("invalid module name")
	ErrInvalidVersion    = errors.New("migration version must be at least 1")
	ErrDuplicateVersion  = errors.New("duplicate migration version")
	ErrEmptySQL          = errors.New("migration has no SQL statement")
)

// ModuleVersionTable returns the goose version table tracking module's
// migrations.
func ModuleVersionTable(module string) string {
	return HostVersionTable + "_" + module
}

// validateModuleName reports whether module can name a module's migrations.
func validateModuleName(module string) error {
	if !ModuleNamePattern.MatchString(module) {
		return fmt.Errorf("%w %q: must match %s", ErrInvalidModuleName, module, ModuleNamePattern)
	}
	if len(module) > maxModuleNameLen {
		return fmt.Errorf("%w %q: longer than %d characters, its version table name would exceed MySQL's identifier limit",
			ErrInvalidModuleName, module, maxModuleNameLen)
	}
	return nil
}

// moduleSource validates a module's migrations and turns them into goose SQL
// files in an in-memory file system. Every problem found is reported, so a
// module author fixes them in one go.
func moduleSource(module string, ms []hostapi.Migration) (source, error) {
	if err := validateModuleName(module); err != nil {
		return source{}, err
	}
	var problems []error
	// fstest.MapFS is a complete read-only fs.FS, which is all goose needs;
	// the migrations only ever live in memory.
	files := make(fstest.MapFS, len(ms))
	names := make(map[int64]string, len(ms))
	for _, m := range ms {
		switch _, seen := names[m.Version]; {
		case m.Version < 1:
			problems = append(problems, fmt.Errorf("version %d (%s): %w", m.Version, m.Name, ErrInvalidVersion))
			continue
		case seen:
			problems = append(problems, fmt.Errorf("version %d (%s and %s): %w", m.Version, names[m.Version], m.Name, ErrDuplicateVersion))
			continue
		}
		names[m.Version] = m.Name
		if !hasUpStatement(m.SQL) {
			problems = append(problems, fmt.Errorf("version %d (%s): %w", m.Version, m.Name, ErrEmptySQL))
			continue
		}
		files[fmt.Sprintf("%d_%s.sql", m.Version, fileSlug(m.Name))] = &fstest.MapFile{
			Data: []byte(gooseSQL(m.SQL)),
			Mode: 0o444,
		}
	}
	if len(problems) > 0 {
		return source{}, fmt.Errorf("module %s migrations refused: %w", module, errors.Join(problems...))
	}
	return source{
		name:         module,
		versionTable: ModuleVersionTable(module),
		fsys:         files,
		names:        names,
	}, nil
}

// gooseAnnotation matches a goose annotation line such as "-- +goose Up".
// goose itself only accepts annotations at the start of a line.
var gooseAnnotation = regexp.MustCompile(`^--\s*\+goose\s+(.*?)\s*$`)

// gooseSQL returns sql as a goose SQL file. Modules usually hand over plain
// SQL, which becomes the Up section; SQL that already carries goose
// annotations (for StatementBegin/End around a trigger body, say) is used as
// written.
func gooseSQL(sql string) string {
	for line := range strings.Lines(sql) {
		if gooseAnnotation.MatchString(strings.TrimRight(line, "\r\n")) {
			return sql
		}
	}
	return "-- +goose Up\n" + sql + "\n"
}

// hasUpStatement reports whether sql has anything but blank lines, comments
// and annotations before its Down section, if any: goose would record a
// migration without statements as applied, which hides a packaging mistake.
func hasUpStatement(sql string) bool {
	for line := range strings.Lines(sql) {
		line = strings.TrimSpace(line)
		if m := gooseAnnotation.FindStringSubmatch(line); m != nil {
			if strings.EqualFold(m[1], "Down") {
				return false
			}
			continue
		}
		if line != "" && !strings.HasPrefix(line, "--") {
			return true
		}
	}
	return false
}

// fileSlug turns a migration name into the description part of a goose file
// name: goose reads the version from the part before the first "_" and only
// shows the rest in its messages.
func fileSlug(name string) string {
	slug := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		default:
			return '_'
		}
	}, name)
	const maxSlugLen = 64
	if len(slug) > maxSlugLen {
		slug = slug[:maxSlugLen]
	}
	if slug == "" {
		return "migration"
	}
	return slug
}
