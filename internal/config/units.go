package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML as a Go duration string such
// as "90s", "2m" or "1h30m". Convert with time.Duration(d).
type Duration time.Duration

// String formats d as time.Duration does.
func (d Duration) String() string {
	return time.Duration(d).String()
}

// UnmarshalYAML parses a Go duration string. A bare number is rejected
// because its unit would be a guess.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration, found a %s", kindName(node))
	}

	parsed, err := ParseDuration(node.Value)
	if err != nil {
		return err
	}

	*d = parsed
	return nil
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// ParseDuration parses a Go duration string such as "5s" or "1h30m".
func ParseDuration(text string) (Duration, error) {
	text = strings.TrimSpace(text)

	parsed, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", text)
	}

	return Duration(parsed), nil
}

// ByteSize is a number of bytes written in YAML as a plain integer or with a
// unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB (powers of
// 1000). A space between number and unit is allowed.
type ByteSize int64

// Byte size units.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
	TiB ByteSize = 1 << 40
)

// byteUnits maps each accepted unit to its size in bytes. Lookups are exact,
// so "mib" is rejected: the case of the prefix carries meaning (mB is not MB).
var byteUnits = map[string]int64{
	"":    1,
	"B":   1,
	"KiB": int64(KiB),
	"MiB": int64(MiB),
	"GiB": int64(GiB),
	"TiB": int64(TiB),
	"kB":  1e3,
	"KB":  1e3,
	"MB":  1e6,
	"GB":  1e9,
	"TB":  1e12,
}

// String formats b with the largest binary unit that divides it exactly,
// such as "16MiB", or as a plain number of bytes.
func (b ByteSize) String() string {
	for _, unit := range []struct {
		name string
		size ByteSize
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if b != 0 && b%unit.size == 0 {
			return strconv.FormatInt(int64(b/unit.size), 10) + unit.name
		}
	}

	return strconv.FormatInt(int64(b), 10)
}

// UnmarshalYAML parses a size such as "16MiB" or 1048576.
func (b *ByteSize) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a size, found a %s", kindName(node))
	}

	parsed, err := ParseByteSize(node.Value)
	if err != nil {
		return err
	}

	*b = parsed
	return nil
}

// MarshalYAML writes b in the form String returns.
func (b ByteSize) MarshalYAML() (any, error) {
	return b.String(), nil
}

// ParseByteSize parses a whole, non-negative number of bytes with an
// optional unit, such as "512KiB", "16 MiB" or "1048576".
func ParseByteSize(text string) (ByteSize, error) {
	text = strings.TrimSpace(text)

	digits := strings.IndexFunc(text, func(r rune) bool { return r < '0' || r > '9' })
	if digits == -1 {
		digits = len(text)
	}
	if digits == 0 {
		return 0, fmt.Errorf("invalid size %q: it must start with a whole number of bytes or units", text)
	}

	number, err := strconv.ParseInt(text[:digits], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: the number is too large", text)
	}

	unitName := strings.TrimSpace(text[digits:])
	unit, ok := byteUnits[unitName]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q", text, unitName)
	}
	if number > math.MaxInt64/unit {
		return 0, fmt.Errorf("invalid size %q: too large", text)
	}

	return ByteSize(number * unit), nil
}

// kindName names the YAML node kind for error messages.
func kindName(node *yaml.Node) string {
	switch node.Kind {
	case yaml.MappingNode:
		return "mapping (key: value lines)"
	case yaml.SequenceNode:
		return "list (lines starting with \"- \")"
	case yaml.AliasNode:
		return "alias"
	default:
		return "single value"
	}
}
