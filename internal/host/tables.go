package host

import (
	"slices"
	"strings"

	"github.com/upsell-io/upsell/hostapi"
)

// CheckTables refuses a statement that a module may not run through its
// Store: anything but one SELECT, INSERT, UPDATE, DELETE or REPLACE; a table
// outside prefix; a call that waits or reads the server's files; SELECT ...
// INTO; executable comments and optimizer hints.
//
// It is a guard, not a parser. It reads the statement's tokens (strings and
// comments dropped) and checks the name after every FROM, JOIN, INTO,
// UPDATE, USING and TABLE, following comma-separated lists and parenthesised
// table references. Where it cannot be sure how the server reads the text
// (an executable comment, a backslash in a literal, an unusual table
// reference) it refuses. It keeps a module from reaching into panel tables
// or tying up the shared connection pool by mistake; it is not a security
// boundary. A provider who runs third-party modules and wants isolation
// gives each module a database user of its own.
func CheckTables(query, prefix string) error {
	toks, err := tokenize(query)
	if err != nil {
		return err
	}
	if n := len(toks); n > 0 && toks[n-1].is(";") {
		toks = toks[:n-1]
	}
	if len(toks) == 0 {
		return hostapi.Invalid("query", "empty statement")
	}
	for _, t := range toks {
		if t.is(";") {
			return hostapi.Invalid("query", "one statement per call")
		}
	}
	// kw is the upper-cased keyword at i, "" for anything but a bare word.
	kw := func(i int) string {
		if i < 0 || i >= len(toks) || toks[i].kind != wordTok {
			return ""
		}
		return strings.ToUpper(toks[i].text)
	}
	skip := func(i int, words ...string) int {
		for slices.Contains(words, kw(i)) {
			i++
		}
		return i
	}

	// One frame per parenthesis depth: after FROM (and JOIN, UPDATE,
	// USING, TABLE) a comma at the same depth starts another table
	// reference, until a clause that ends the table list.
	type frame struct {
		lastTable string // the last table keyword at this depth
		inList    bool   // a "," here starts another table reference
	}
	stack := []frame{{}}
	expect := false // the next token is a table reference
	i := 1
	switch kw(0) {
	case "SELECT":
	case "INSERT", "REPLACE":
		i = skip(1, "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE")
		i = skip(i, "INTO")
		if err := checkTable(toks, i, prefix); err != nil {
			return err
		}
		i++
	case "UPDATE":
		i = skip(1, "LOW_PRIORITY", "IGNORE")
		stack[0] = frame{lastTable: "UPDATE", inList: true}
		expect = true
	case "DELETE":
		i = skip(1, "LOW_PRIORITY", "QUICK", "IGNORE")
	default:
		return hostapi.Invalid("query", "only SELECT, INSERT, UPDATE, DELETE and REPLACE statements are allowed")
	}

	for ; i < len(toks); i++ {
		t := toks[i]
		if expect {
			expect = false
			if t.is("(") {
				if kw(i+1) == "SELECT" {
					// A subquery: its own FROM is checked in turn.
					stack = append(stack, frame{})
				} else {
					// A parenthesised table reference: FROM (a, b).
					stack = append(stack, frame{inList: true})
					expect = true
				}
				continue
			}
			if err := checkTable(toks, i, prefix); err != nil {
				return err
			}
			continue
		}
		top := &stack[len(stack)-1]
		switch {
		case t.is("("):
			stack = append(stack, frame{})
			continue
		case t.is(")"):
			if len(stack) == 1 {
				return hostapi.Invalid("query", "unbalanced parentheses")
			}
			stack = stack[:len(stack)-1]
			continue
		case t.is(","):
			expect = top.inList
			continue
		case t.kind != wordTok && t.kind != quotedTok:
			continue
		}
		if blockedFuncs[strings.ToUpper(t.text)] && i+1 < len(toks) && toks[i+1].is("(") {
			return hostapi.Invalid("query", "%s() is not allowed: it waits, locks or reads files on a shared connection", strings.ToUpper(t.text))
		}
		switch u := kw(i); u {
		case "FROM", "JOIN", "STRAIGHT_JOIN", "TABLE":
			if u == "JOIN" && kw(i-1) == "FOR" {
				break // an index hint: USE INDEX FOR JOIN (...)
			}
			top.lastTable, top.inList, expect = u, true, true
		case "USING":
			// DELETE FROM t USING <tables>. A join's USING (columns) and
			// CONVERT(x USING charset) name no table.
			if top.lastTable == "FROM" {
				top.inList, expect = true, true
			}
		case "INTO":
			return hostapi.Invalid("query", "SELECT ... INTO (OUTFILE, DUMPFILE, variables) is not allowed")
		// The clauses that end a table list are reserved words, so none of
		// them can be an alias that hides the rest of the list.
		case "WHERE", "HAVING", "LIMIT", "UNION", "SET", "LOCK":
			top.inList = false
		case "GROUP", "ORDER":
			if kw(i-1) != "FOR" { // not an index hint: USE INDEX FOR ORDER BY (...)
				top.inList = false
			}
		case "FOR":
			if n := kw(i + 1); n == "UPDATE" || n == "SHARE" {
				top.inList = false
			}
		case "ON":
			if kw(i+1) == "DUPLICATE" && kw(i+2) == "KEY" {
				top.inList = false
			}
		}
	}
	return nil
}

// blockedFuncs wait on or lock something shared by every connection of the
// pool (a GET_LOCK taken by a module blocks provisioning, which uses the
// same lock names), or read the server's files.
var blockedFuncs = map[string]bool{
	"GET_LOCK": true, "RELEASE_LOCK": true, "RELEASE_ALL_LOCKS": true, "IS_FREE_LOCK": true, "IS_USED_LOCK": true,
	"SLEEP": true, "BENCHMARK": true, "LOAD_FILE": true,
	"MASTER_POS_WAIT": true, "SOURCE_POS_WAIT": true, "MASTER_GTID_WAIT": true,
	"WAIT_FOR_EXECUTED_GTID_SET": true, "WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS": true,
}

// checkTable checks the table reference at toks[i].
func checkTable(toks []token, i int, prefix string) error {
	if i >= len(toks) || (toks[i].kind != wordTok && toks[i].kind != quotedTok) {
		return hostapi.Invalid("query", "a table name was expected")
	}
	if i+1 < len(toks) && toks[i+1].is(".") {
		return hostapi.Invalid("query", "table %q: qualified names are not allowed", toks[i].text)
	}
	if toks[i].kind == wordTok && strings.EqualFold(toks[i].text, "DUAL") {
		return nil
	}
	return checkName(toks[i].text, prefix)
}

func checkName(name, prefix string) error {
	if strings.Contains(name, ".") {
		return hostapi.Invalid("query", "table %q: qualified names are not allowed", name)
	}
	if prefix == "" || !strings.HasPrefix(strings.ToLower(name), strings.ToLower(prefix)) {
		return hostapi.Invalid("query", "table %q is outside this module's tables (%s*)", name, prefix)
	}
	return nil
}

type tokenKind int

const (
	wordTok    tokenKind = iota // keyword or unquoted name, as written
	quotedTok                   // `backquoted` name, unquoted
	literalTok                  // string or number; text is empty
	punctTok                    // one character
)

type token struct {
	kind       tokenKind
	text       string
	start, end int // offsets in the query
}

func (t token) is(punct string) bool { return t.kind == punctTok && t.text == punct }

// tokenize splits SQL into words, backquoted names, literals and single
// punctuation, dropping comments, so neither a literal's nor a comment's
// content is read as a table name. It follows MySQL's lexer where the two
// could disagree: "--" starts a comment only before whitespace, a control
// character or the end, "#" always does; a number ends where MySQL ends it
// (1e0FROM is 1e0 then FROM). It refuses what the server could read
// differently from this guard: executable comments and optimizer hints
// (/*! */, /*M! */, /*+ */), a backslash in a literal (an escape or not
// depending on sql_mode: pass such values as parameters), a name after "."
// that starts with a digit, control characters, and anything unterminated.
func tokenize(q string) ([]token, error) {
	var toks []token
	add := func(kind tokenKind, text string, start, end int) {
		toks = append(toks, token{kind: kind, text: text, start: start, end: end})
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			i++
		case c < ' ' || c == 0x7f:
			return nil, hostapi.Invalid("query", "control character 0x%02x", c)
		case c == '#' || strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || q[i+2] <= ' ' || q[i+2] == 0x7f):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				return toks, nil
			}
			i += end + 1
		case strings.HasPrefix(q[i:], "/*"):
			body := q[i+2:]
			if strings.HasPrefix(body, "!") || strings.HasPrefix(body, "+") || strings.HasPrefix(strings.ToUpper(body), "M!") {
				return nil, hostapi.Invalid("query", "executable comments and optimizer hints (/*! */, /*M! */, /*+ */) are not allowed")
			}
			end := strings.Index(body, "*/")
			if end < 0 {
				return nil, hostapi.Invalid("query", "unterminated comment")
			}
			i += 2 + end + 2
		case c == '\'' || c == '"':
			// A doubled quote inside a literal reads as two adjacent
			// literals here, which end in the same place.
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				return nil, hostapi.Invalid("query", "unterminated string literal")
			}
			if strings.Contains(q[i+1:i+1+end], `\`) {
				return nil, hostapi.Invalid("query", "a backslash in a string literal is not allowed; pass the value as a parameter")
			}
			add(literalTok, "", i, i+end+2)
			i += end + 2
		case c == '`':
			j := i + 1
			for {
				end := strings.IndexByte(q[j:], '`')
				if end < 0 {
					return nil, hostapi.Invalid("query", "unterminated quoted name")
				}
				j += end
				if j+1 < len(q) && q[j+1] == '`' { // `` is a backquote inside the name
					j += 2
					continue
				}
				break
			}
			add(quotedTok, strings.ReplaceAll(q[i+1:j], "``", "`"), i, j+1)
			i = j + 1
		case isDigit(c) || c == '.' && i+1 < len(q) && isDigit(q[i+1]):
			if n := len(toks); c == '.' && n > 0 && toks[n-1].end == i && (toks[n-1].kind == wordTok || toks[n-1].kind == quotedTok) {
				// t.1abc: MySQL reads a name after the dot, but after a
				// keyword (SELECT.1FROM) a number; refuse rather than guess.
				return nil, hostapi.Invalid("query", "a name after \".\" may not start with a digit")
			}
			end, ok := numberEnd(q, i)
			if !ok {
				return nil, hostapi.Invalid("query", "malformed number near %q", q[i:min(len(q), i+16)])
			}
			if end > 0 {
				add(literalTok, "", i, end)
				i = end
				break
			}
			// Digits followed by letters: a name (1abc, 0x1F).
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			add(wordTok, q[i:j], i, j)
			i = j
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			add(wordTok, q[i:j], i, j)
			i = j
		default:
			add(punctTok, string(c), i, i+1)
			i++
		}
	}
	return toks, nil
}

// numberEnd reads the number at q[i] (a digit, or "." before a digit) as
// MySQL's lexer does: digits, an optional fraction, an optional exponent; the
// number ends there even if letters follow (1e0FROM, 1.0FROM). It returns 0
// when the digits start a name instead (1abc, 0x1F), and false for a form
// the lexer does not read as either (1.5eFROM).
func numberEnd(q string, i int) (int, bool) {
	j := i
	for j < len(q) && isDigit(q[j]) {
		j++
	}
	if j < len(q) && q[j] == '.' {
		j++
		for j < len(q) && isDigit(q[j]) {
			j++
		}
		if j < len(q) && (q[j] == 'e' || q[j] == 'E') {
			end := exponentEnd(q, j)
			return end, end > 0
		}
		return j, true
	}
	if j < len(q) && (q[j] == 'e' || q[j] == 'E') {
		if end := exponentEnd(q, j); end > 0 {
			return end, true
		}
		return 0, true
	}
	if j < len(q) && isWordByte(q[j]) {
		return 0, true
	}
	return j, true
}

// exponentEnd reads e[+-]digits at q[j], returning 0 if there is none.
func exponentEnd(q string, j int) int {
	j++
	if j < len(q) && (q[j] == '+' || q[j] == '-') {
		j++
	}
	if j >= len(q) || !isDigit(q[j]) {
		return 0
	}
	for j < len(q) && isDigit(q[j]) {
		j++
	}
	return j
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isWordByte reports whether c may appear in an unquoted name: ASCII
// letters, digits, "_", "$", and any byte of a multi-byte UTF-8 character.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '_' || c == '$' || c >= 0x80
}
