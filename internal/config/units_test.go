package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		text string
		want ByteSize
	}{
		{"0", 0},
		{"1048576", MiB},
		{"16MiB", 16 * MiB},
		{"512KiB", 512 * KiB},
		{"1GiB", GiB},
		{"2TiB", 2 * TiB},
		{"16 MiB", 16 * MiB},
		{"100B", 100},
		{"5MB", 5_000_000},
		{"3kB", 3000},
	}

	for _, test := range tests {
		t.Run(test.text, func(t *testing.T) {
			got, err := ParseByteSize(test.text)

			require.NoError(t, err)
			assert.Equal(t, test.want, got)
		})
	}
}

func TestParseByteSizeErrors(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"", "must start with a whole number"},
		{"MiB", "must start with a whole number"},
		{"-5MiB", "must start with a whole number"},
		{"1.5GiB", `unknown unit ".5GiB"`},
		{"16mib", `unknown unit "mib"`},
		{"99999999999999999999", "too large"},
		{"9000000TiB", "too large"},
	}

	for _, test := range tests {
		t.Run(test.text, func(t *testing.T) {
			_, err := ParseByteSize(test.text)

			require.Error(t, err)
			assert.Contains(t, err.Error(), test.want)
		})
	}
}

func TestByteSizeString(t *testing.T) {
	assert.Equal(t, "16MiB", (16 * MiB).String())
	assert.Equal(t, "1536KiB", (1536 * KiB).String())
	assert.Equal(t, "1000", ByteSize(1000).String())
	assert.Equal(t, "0", ByteSize(0).String())
}

func TestUnitsYAMLRoundTrip(t *testing.T) {
	type sample struct {
		Size ByteSize `yaml:"size"`
		Wait Duration `yaml:"wait"`
	}
	in := sample{Size: 16 * MiB, Wait: Duration(90 * time.Second)}

	text, err := yaml.Marshal(in)
	require.NoError(t, err)

	var out sample
	require.NoError(t, yaml.Unmarshal(text, &out))
	assert.Equal(t, in, out)
	assert.Contains(t, string(text), "size: 16MiB")
	assert.Contains(t, string(text), "wait: 1m30s")
}

func TestParseDurationErrors(t *testing.T) {
	for _, text := range []string{"", "5", "two minutes", "1d"} {
		t.Run(text, func(t *testing.T) {
			_, err := ParseDuration(text)

			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid duration")
		})
	}
}
