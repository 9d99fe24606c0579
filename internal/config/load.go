package config

import (
	"time"

	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the YAML file at path, fills in defaults and validates the
// values that do not depend on the role. Call ValidateFor next. A missing
// file gives an error that matches fs.ErrNotExist.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config file %s not found: %w; pass the path of an existing file (examples are in configs/)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read config file %s: %w; check the path and its permissions", path, err)
	}

	return Parse(path, data)
}

// Parse does what Load does with data already read; file names the source
// in error messages.
func Parse(file string, data []byte) (*Config, error) {
	root, err := parseDocument(file, data)
	if err != nil {
		return nil, err
	}

	checker := &nodeChecker{file: file, lines: map[string]int{}}
	checker.check(root, configType, "")
	if len(checker.errs) > 0 {
		return nil, errors.Join(checker.errs...)
	}

	cfg, err := decode(file, data, hasKey(root, "simulator"))
	if err != nil {
		return nil, err
	}

	cfg.file = file
	cfg.lines = checker.lines
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	return cfg, nil
}

// syntaxLine matches the position that yaml.v3 puts in syntax errors.
var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument parses data into a node tree for the checks that need key
// positions, and turns syntax errors into an *Error with the line number.
func parseDocument(file string, data []byte) (*yaml.Node, error) {
	var document yaml.Node

	err := yaml.Unmarshal(data, &document)
	if err != nil {
		syntaxErr := &Error{
			File:    file,
			Problem: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "),
			Fix:     `fix the syntax near that line: indent with spaces, not tabs, and quote values that contain ": " or start with one of [ ] { } * & ! | > % @`,
		}
		if match := syntaxLine.FindStringSubmatch(err.Error()); match != nil {
			syntaxErr.Line, _ = strconv.Atoi(match[1])
			syntaxErr.Problem = "invalid YAML: " + match[2]
		}
		return nil, syntaxErr
	}

	if document.Kind == 0 || len(document.Content) == 0 {
		return nil, &Error{
			File:    file,
			Problem: "the file has no settings",
			Fix:     "start from one of the examples in configs/",
		}
	}

	return document.Content[0], nil
}

// decode fills a Config from data over the defaults. The node checks ran
// first, so an error here is unexpected and reported with yaml.v3's text.
func decode(file string, data []byte, hasSimulator bool) (*Config, error) {
	cfg := Default()
	if hasSimulator {
		cfg.Simulator = DefaultSimulator()
	}

	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	if err := decoder.Decode(cfg); err != nil {
		return nil, &Error{
			File:    file,
			Problem: "invalid configuration: " + strings.TrimPrefix(err.Error(), "yaml: "),
			Fix:     "correct the lines named above",
		}
	}

	var next yaml.Node
	if err := decoder.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, &Error{
			File:    file,
			Line:    next.Line,
			Problem: "the file holds more than one YAML document",
			Fix:     `remove the "---" line and everything after it, or merge the documents`,
		}
	}

	// A "simulator:" key with no value means a simulator with default
	// settings, but yaml.v3 decodes the null into a nil pointer.
	if hasSimulator && cfg.Simulator == nil {
		cfg.Simulator = DefaultSimulator()
	}

	if cfg.Retention != nil {
		if cfg.Retention.Schedule == "" {
			cfg.Retention.Schedule = "@every 1h"
		}
		if cfg.Retention.LeaseTTL == 0 {
			cfg.Retention.LeaseTTL = Duration(5 * time.Minute)
		}
	}

	return cfg, nil
}

func hasKey(mapping *yaml.Node, key string) bool {
	mapping = resolveAlias(mapping)
	if mapping.Kind != yaml.MappingNode {
		return false
	}

	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return true
		}
	}

	return false
}
