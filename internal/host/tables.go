package host

import (
	"strings"
	"unicode"

	"github.com/upsell-io/upsell/hostapi"
)

// CheckTables refuses a statement that names a table outside prefix, or
// holds more than one statement. It reads the identifiers after FROM, JOIN,
// INTO, UPDATE and TABLE (and comma-separated FROM lists).
//
// It is a guard against a module reaching into panel tables by mistake, not
// a security boundary: a provider who runs third-party modules and wants
// isolation gives upsell a database user per module.
func CheckTables(query, prefix string) error {
	toks := tokenize(query)
	for i, t := range toks {
		if t == ";" && i != len(toks)-1 {
			return hostapi.Invalid("query", "one statement per call")
		}
	}
	for i := 0; i < len(toks); i++ {
		switch strings.ToUpper(toks[i]) {
		case "FROM", "JOIN", "INTO", "UPDATE", "TABLE":
		default:
			continue
		}
		j := i + 1
		for j < len(toks) && isKeyword(toks[j], "IF", "NOT", "EXISTS", "IGNORE", "LOW_PRIORITY") {
			j++
		}
		for j < len(toks) {
			name := toks[j]
			if name == "(" || isKeyword(name, "SELECT", "DUAL") {
				break
			}
			if err := checkName(name, prefix); err != nil {
				return err
			}
			// Skip an alias, then continue a comma-separated list.
			j++
			if j < len(toks) && isKeyword(toks[j], "AS") {
				j++
			}
			if j < len(toks) && isIdent(toks[j]) && !isClause(toks[j]) {
				j++
			}
			if j < len(toks) && toks[j] == "," && strings.ToUpper(toks[i]) == "FROM" {
				j++
				continue
			}
			break
		}
	}
	return nil
}

func checkName(name, prefix string) error {
	n := strings.Trim(name, "`")
	if strings.Contains(n, ".") {
		return hostapi.Invalid("query", "table %q: qualified names are not allowed", n)
	}
	if prefix == "" || !strings.HasPrefix(strings.ToLower(n), strings.ToLower(prefix)) {
		return hostapi.Invalid("query", "table %q is outside this module's tables (%s*)", n, prefix)
	}
	return nil
}

func isKeyword(tok string, words ...string) bool {
	u := strings.ToUpper(tok)
	for _, w := range words {
		if u == w {
			return true
		}
	}
	return false
}

func isClause(tok string) bool {
	return isKeyword(tok, "WHERE", "SET", "VALUES", "VALUE", "ON", "USING", "LEFT", "RIGHT", "INNER", "OUTER",
		"CROSS", "JOIN", "GROUP", "ORDER", "LIMIT", "FOR", "HAVING", "UNION", "SELECT", "NATURAL", "STRAIGHT_JOIN",
		"LOCK", "WINDOW", "PARTITION", "FORCE", "USE", "IGNORE", "DUPLICATE", "RETURNING", "ADD", "DROP", "MODIFY",
		"CHANGE", "RENAME", "ALTER", "ENGINE", "DEFAULT")
}

func isIdent(tok string) bool {
	if tok == "" {
		return false
	}
	if tok[0] == '`' {
		return true
	}
	r := rune(tok[0])
	return unicode.IsLetter(r) || r == '_'
}

// tokenize splits SQL into words, backquoted names and single punctuation,
// dropping string literals and comments so their content is never read as
// a table name.
func tokenize(q string) []string {
	var toks []string
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) && q[j] != c {
				if q[j] == '\\' {
					j++
				}
				j++
			}
			toks = append(toks, "''")
			i = j + 1
		case c == '`':
			j := strings.IndexByte(q[i+1:], '`')
			if j < 0 {
				toks = append(toks, q[i:])
				return toks
			}
			toks = append(toks, q[i:i+j+2])
			i += j + 2
		case c == '-' && i+1 < len(q) && q[i+1] == '-', c == '#':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				return toks
			}
			i += j + 1
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return toks
			}
			i += j + 4
		case c == '_' || c == '.' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)):
			j := i
			for j < len(q) && (q[j] == '_' || q[j] == '.' || q[j] == '`' || unicode.IsLetter(rune(q[j])) || unicode.IsDigit(rune(q[j]))) {
				if q[j] == '`' {
					k := strings.IndexByte(q[j+1:], '`')
					if k < 0 {
						break
					}
					j += k + 2
					continue
				}
				j++
			}
			toks = append(toks, q[i:j])
			i = j
		case unicode.IsSpace(rune(c)):
			i++
		default:
			toks = append(toks, string(c))
			i++
		}
	}
	return toks
}
