package config

import (
	"strconv"
	"strings"
)

// Error is one problem in a configuration file. Load and the Validate
// methods return one *Error, or several joined with errors.Join (one per
// line of the message).
type Error struct {
	File    string // path given to Load; empty for a Config built in code
	Line    int    // 1-based line in File, 0 when unknown
	Key     string // key path such as cameras[1].timezone; empty for YAML syntax errors
	Value   string // the value as written, empty when it is missing
	Problem string // description of the problem, naming the value
	Fix     string // the value or action that corrects it
}

// Error formats the problem as "file:line: key: problem; fix".
func (e *Error) Error() string {
	var b strings.Builder

	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}

	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}

	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; " + e.Fix)
	}

	return b.String()
}

// quote formats a value for a message, cut short when it is long.
func quote(value string) string {
	const maxRunes = 80

	runes := []rune(value)
	if len(runes) > maxRunes {
		return strconv.Quote(string(runes[:maxRunes])) + "..."
	}

	return strconv.Quote(value)
}
