package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	configType   = reflect.TypeOf(Config{})
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(Duration(0))
	byteSizeType = reflect.TypeOf(ByteSize(0))
)

// nodeChecker walks the YAML node tree beside the Go types it will be
// decoded into. It reports unknown keys and values of the wrong type with
// their key path, which yaml.v3's own errors lack (they give only a line),
// and records the line of every key path for later validation errors.
type nodeChecker struct {
	file  string
	lines map[string]int
	errs  []error
}

func (c *nodeChecker) check(node *yaml.Node, t reflect.Type, path string) {
	node = resolveAlias(node)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}

	// checkMapping has already recorded the key's line for mapping values.
	if _, recorded := c.lines[path]; path != "" && !recorded {
		c.lines[path] = node.Line
	}

	// A null leaves the default in place, as yaml.v3 does when decoding.
	if node.Kind == yaml.ScalarNode && node.ShortTag() == "!!null" {
		return
	}

	switch {
	case isLeaf(t):
		c.checkLeaf(node, t, path)
	case t.Kind() == reflect.Struct:
		c.checkMapping(node, t, path)
	case t.Kind() == reflect.Slice:
		c.checkSequence(node, t, path)
	default:
		// Every field type of Config is handled above. Reaching this is a
		// programming error, reported rather than ignored.
		c.fail(node, path, node.Value, fmt.Sprintf("internal error: no check for Go type %s", t), "report this as a bug")
	}
}

func (c *nodeChecker) checkMapping(node *yaml.Node, t reflect.Type, path string) {
	fields := yamlFields(t)

	if node.Kind != yaml.MappingNode {
		c.fail(node, path, node.Value,
			"expected a mapping (key: value lines), found a "+kindName(node),
			"write indented key: value lines; keys allowed here: "+strings.Join(sortedKeys(fields), ", "))
		return
	}

	seen := map[string]int{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		keyNode, valueNode := node.Content[i], node.Content[i+1]
		key := keyNode.Value

		if key == "<<" && keyNode.ShortTag() == "!!merge" {
			c.checkMerge(valueNode, t, path)
			continue
		}

		keyPath := joinPath(path, key)
		if firstLine, ok := seen[key]; ok {
			c.fail(keyNode, keyPath, key,
				fmt.Sprintf("key %s appears twice (first on line %d)", quote(key), firstLine),
				"keep one of them")
			continue
		}
		seen[key] = keyNode.Line

		field, ok := fields[key]
		if !ok {
			c.fail(keyNode, keyPath, key, "unknown key "+quote(key), unknownKeyFix(key, path, fields))
			continue
		}

		c.lines[keyPath] = keyNode.Line
		c.check(valueNode, field.Type, keyPath)
	}
}

// checkMerge checks the mapping, or list of mappings, that a "<<" merge key
// pulls in, as if its keys were written in place.
func (c *nodeChecker) checkMerge(node *yaml.Node, t reflect.Type, path string) {
	node = resolveAlias(node)
	if node.Kind != yaml.SequenceNode {
		c.check(node, t, path)
		return
	}

	for _, item := range node.Content {
		c.check(item, t, path)
	}
}

func (c *nodeChecker) checkSequence(node *yaml.Node, t reflect.Type, path string) {
	if node.Kind != yaml.SequenceNode {
		c.fail(node, path, node.Value,
			"expected a list, found a "+kindName(node),
			`write one item per line, each starting with "- "`)
		return
	}

	for i, item := range node.Content {
		c.check(item, t.Elem(), path+"["+strconv.Itoa(i)+"]")
	}
}

// checkLeaf decodes a single value into a fresh variable of its Go type.
func (c *nodeChecker) checkLeaf(node *yaml.Node, t reflect.Type, path string) {
	noun, fix := describeType(t)

	if node.Kind != yaml.ScalarNode {
		c.fail(node, path, "", fmt.Sprintf("expected a %s, found a %s", noun, kindName(node)), fix)
		return
	}

	// yaml.v3 truncates 2.5 to 2 when decoding into an int, so whole
	// numbers are checked here.
	isInt := t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64 && t != durationType && t != byteSizeType
	if isInt && node.ShortTag() == "!!float" {
		c.fail(node, path, node.Value, fmt.Sprintf("invalid %s %s", noun, quote(node.Value)), fix)
		return
	}

	target := reflect.New(t)
	err := node.Decode(target.Interface())
	if err == nil {
		return
	}

	problem := fmt.Sprintf("invalid %s %s", noun, quote(node.Value))
	if t == durationType || t == byteSizeType {
		problem = err.Error()
	}
	c.fail(node, path, node.Value, problem, fix)
}

func (c *nodeChecker) fail(node *yaml.Node, path, value, problem, fix string) {
	c.errs = append(c.errs, &Error{
		File:    c.file,
		Line:    node.Line,
		Key:     displayPath(path),
		Value:   value,
		Problem: problem,
		Fix:     fix,
	})
}

// isLeaf reports whether values of t are written as one scalar.
func isLeaf(t reflect.Type) bool {
	if t == timeType || t == durationType || t == byteSizeType {
		return true
	}

	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Float32, reflect.Float64:
		return true
	}

	return false
}

// describeType returns a noun for values of t and how to write one.
func describeType(t reflect.Type) (noun, fix string) {
	switch {
	case t == durationType:
		return "duration", `write a Go duration such as "90s", "2m" or "1h30m"`
	case t == byteSizeType:
		return "size", `write a size such as "16MiB", "512KiB", "1GiB" or a plain number of bytes`
	case t == timeType:
		return "time", "write an RFC 3339 time such as 2024-05-01T00:00:00Z"
	}

	switch t.Kind() {
	case reflect.Bool:
		return "boolean", "write true or false"
	case reflect.Float32, reflect.Float64:
		return "number", "write a number such as 20 or 0.5"
	case reflect.String:
		return "text value", `write the value on the same line as its key, in quotes if it contains ": " or starts with one of [ ] { } * & ! | > % @`
	default:
		return "whole number", "write a whole number such as 2, without quotes or a decimal point"
	}
}

// yamlFields maps the YAML keys of struct type t to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}

	for i := range t.NumField() {
		field := t.Field(i)
		if !field.IsExported() {
			continue
		}

		name, _, _ := strings.Cut(field.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(field.Name)
		}
		fields[name] = field
	}

	return fields
}

func sortedKeys(fields map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(fields))
	for key := range fields {
		keys = append(keys, key)
	}
	sort.Strings(keys)

	return keys
}

// unknownKeyFix suggests the key the user probably meant, and points keys
// that look like secrets to the environment variables that carry them.
func unknownKeyFix(key, parent string, fields map[string]reflect.StructField) string {
	allowed := "keys allowed here: " + strings.Join(sortedKeys(fields), ", ")

	if looksLikeSecret(key) {
		return "secrets are not read from the configuration file: " + secretSource(parent) + "; " + allowed
	}

	if suggestion := closestKey(key, sortedKeys(fields)); suggestion != "" {
		return fmt.Sprintf("did you mean %s? %s", quote(suggestion), allowed)
	}

	return allowed
}

func looksLikeSecret(key string) bool {
	normal := normalizeKey(key)
	for _, word := range []string{"secret", "password", "passwd", "token", "accesskey", "apikey"} {
		if strings.Contains(normal, word) {
			return true
		}
	}

	return false
}

func secretSource(parent string) string {
	switch {
	case strings.HasPrefix(parent, "nats"):
		return "set the environment variable " + EnvNATSToken + " or nats.credentials_file"
	case strings.HasPrefix(parent, "store"):
		return "set the environment variables " + EnvS3AccessKey + " and " + EnvS3SecretKey + ", or store.s3.credentials_file"
	default:
		return "see the environment variables listed in the documentation of package config"
	}
}

// closestKey returns the candidate that key most likely misspells, or "".
// Keys that differ only in case, "_" or "-" match, and otherwise the
// candidate within an edit distance of 2 (1 for keys of up to 4 letters).
func closestKey(key string, candidates []string) string {
	for _, candidate := range candidates {
		if normalizeKey(candidate) == normalizeKey(key) {
			return candidate
		}
	}

	maxDistance := 2
	if len(key) <= 4 {
		maxDistance = 1
	}

	best, bestDistance := "", maxDistance+1
	for _, candidate := range candidates {
		if distance := editDistance(strings.ToLower(key), candidate); distance < bestDistance {
			best, bestDistance = candidate, distance
		}
	}

	return best
}

func normalizeKey(key string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(key))
}

// editDistance is the Levenshtein distance between a and b in bytes.
func editDistance(a, b string) int {
	previous := make([]int, len(b)+1)
	current := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}

	for i := 1; i <= len(a); i++ {
		current[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			current[j] = min(previous[j]+1, current[j-1]+1, previous[j-1]+cost)
		}
		previous, current = current, previous
	}

	return previous[len(b)]
}

func resolveAlias(node *yaml.Node) *yaml.Node {
	for node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}

	return node
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}

	return parent + "." + key
}

// displayPath names the top level for messages about the whole document.
func displayPath(path string) string {
	if path == "" {
		return "(top level)"
	}

	return path
}
