package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetentionDefaults(t *testing.T) {
	cfg, err := Load(writeConfig(t, validScanner+"retention:\n  rules:\n    - keep: 720h\n"))
	require.NoError(t, err)

	require.NotNil(t, cfg.Retention)
	require.Equal(t, "@every 1h", cfg.Retention.Schedule)
	require.Equal(t, Duration(5*time.Minute), cfg.Retention.LeaseTTL)
	require.Equal(t, Duration(720*time.Hour), cfg.Retention.Rules[0].Keep)
	require.Equal(t, ClipMP4, cfg.Archiver.Clip)
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"clip format", "archiver:\n  clip: avi\n", `archiver.clip: unknown clip format "avi"`},
		{"metrics address", "metrics:\n  listen: nine-thousand\n", `metrics.listen: invalid listen address "nine-thousand"`},
		{"zero keep", "retention:\n  rules:\n    - camera: front\n      keep: 0s\n", "retention.rules[0].keep: keep must be positive"},
		{"duplicate rule", "retention:\n  rules:\n    - keep: 1h\n    - keep: 2h\n", "retention.rules[1].camera: a second rule"},
		{"retention schedule", "retention:\n  schedule: every hour\n  rules:\n    - keep: 1h\n", "retention.schedule: invalid schedule"},
		{"lock mode", "retention:\n  lock_mode: legal-hold\n  rules:\n    - keep: 1h\n", `retention.lock_mode: unknown object lock mode "legal-hold"`},
		{"lock on local store", "store:\n  kind: local\nretention:\n  lock_mode: governance\n  rules:\n    - keep: 1h\n", "retention.lock_mode: object lock needs an S3 store"},
		{"lock without rules", "store:\n  kind: s3\n  s3:\n    endpoint: s3.example.com\n    bucket: footage\nretention:\n  lock_mode: compliance\n", "retention.lock_mode: object lock needs a retention rule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, validScanner+tc.yaml))

			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestRetentionLockMode(t *testing.T) {
	text := validScanner + "store:\n  kind: s3\n  s3:\n    endpoint: s3.example.com\n    bucket: footage\n" +
		"retention:\n  lock_mode: compliance\n  rules:\n    - keep: 720h\n"
	cfg, err := Load(writeConfig(t, text))
	require.NoError(t, err)

	require.Equal(t, LockCompliance, cfg.Retention.LockMode)
}
