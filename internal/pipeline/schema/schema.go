// Package schema holds the JSON Schema (draft 2020-12) documents of the
// segment events that hikarchive publishes, and validates event JSON
// against them. docs/events.md describes the same fields for people.
//
// The schemas list every field of the Go types in package pipeline and
// reject fields they do not list, so a field added to a Go type without
// its schema fails this package's tests.
package schema

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hikarchive/hikarchive/internal/pipeline"
)

// Files holds the schema documents: segment.schema.json and one
// <kind>.schema.json per event kind.
//
//go:embed *.schema.json
var Files embed.FS

// BaseURI is the prefix of every schema's $id. The ids only name the
// documents: Validator resolves them from Files, never over the network.
const BaseURI = "https://github.com/hikarchive/hikarchive/schema/v1/"

// FileName returns the name of the schema file of an event kind, such as
// "archived.schema.json".
func FileName(kind pipeline.Kind) string {
	return string(kind) + ".schema.json"
}

// Validator checks event JSON against the schemas. It is safe for
// concurrent use.
type Validator struct {
	schemas map[pipeline.Kind]*jsonschema.Schema
}

// NewValidator compiles the embedded schemas. Formats such as date-time are
// asserted, not only annotated.
func NewValidator() (*Validator, error) {
	compiler := jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	compiler.AssertFormat()

	names, err := fs.Glob(Files, "*.schema.json")
	if err != nil {
		return nil, fmt.Errorf("list embedded schemas: %w", err)
	}
	for _, name := range names {
		data, err := Files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read embedded schema %s: %w", name, err)
		}
		document, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("parse embedded schema %s: %w", name, err)
		}
		if err := compiler.AddResource(BaseURI+name, document); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", name, err)
		}
	}

	v := &Validator{schemas: map[pipeline.Kind]*jsonschema.Schema{}}
	for _, kind := range []pipeline.Kind{pipeline.KindClosed, pipeline.KindArchived, pipeline.KindLost, pipeline.KindRisk} {
		compiled, err := compiler.Compile(BaseURI + FileName(kind))
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", FileName(kind), err)
		}
		v.schemas[kind] = compiled
	}
	return v, nil
}

// Validate checks one event document of the given kind. The error lists
// every field that does not match the schema.
func (v *Validator) Validate(kind pipeline.Kind, data []byte) error {
	compiled, ok := v.schemas[kind]
	if !ok {
		return fmt.Errorf("no schema for event kind %q: use closed, archived, lost or risk", kind)
	}

	document, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s event is not valid JSON: %w", kind, err)
	}
	if err := compiled.Validate(document); err != nil {
		return fmt.Errorf("%s event does not match %s: %w", kind, FileName(kind), err)
	}
	return nil
}
