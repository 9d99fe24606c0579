package retention

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/objectstore"
)

const day = 24 * time.Hour

func TestPolicyMostSpecificRuleWins(t *testing.T) {
	policy := Policy{Rules: []Rule{
		{Keep: 30 * day},
		{Kind: "motion", Keep: 90 * day},
		{Camera: "door", Keep: 7 * day},
		{Camera: "door", Kind: "motion", Keep: 60 * day},
	}}
	require.NoError(t, policy.Validate())

	cases := []struct {
		camera, kind string
		keep         time.Duration
	}{
		{"door", "motion", 60 * day},
		{"door", KindContinuous, 7 * day},
		{"yard", "motion", 90 * day},
		{"yard", KindContinuous, 30 * day},
	}
	for _, c := range cases {
		keep, ok := policy.KeepFor(c.camera, c.kind)
		require.True(t, ok, "camera %s kind %s", c.camera, c.kind)
		require.Equal(t, c.keep, keep, "camera %s kind %s", c.camera, c.kind)
	}
}

func TestPolicyWithoutMatchKeepsForGood(t *testing.T) {
	policy := Policy{Rules: []Rule{{Camera: "door", Keep: day}}}

	_, ok := policy.KeepFor("yard", KindContinuous)
	require.False(t, ok)
	_, ok = policy.KeepFor("door.", KindContinuous)
	require.False(t, ok, "a camera id that only resembles a rule's")
}

func TestPolicyValidate(t *testing.T) {
	require.ErrorContains(t, Policy{Rules: []Rule{{Camera: "a", Keep: 0}}}.Validate(), "must be positive")
	require.ErrorContains(t, Policy{Rules: []Rule{{Camera: "a", Keep: day}, {Camera: "a", Keep: 2 * day}}}.Validate(), "another rule")
	require.NoError(t, Policy{}.Validate())
}

func TestPolicyLock(t *testing.T) {
	policy := Policy{Rules: []Rule{{Camera: "door", Keep: 7 * day}}}
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	start := now.Add(-day)

	retention, err := policy.Lock(objectstore.Compliance, "door", KindContinuous, start, now)
	require.NoError(t, err)
	require.Equal(t, objectstore.Compliance, retention.Mode)
	require.Equal(t, start.Add(7*day), retention.RetainUntil)

	_, err = policy.Lock(objectstore.Governance, "door", KindContinuous, now.Add(-8*day), now)
	require.True(t, errors.Is(err, ErrNoLock), "expired segment: %v", err)
	_, err = policy.Lock(objectstore.Governance, "yard", KindContinuous, start, now)
	require.True(t, errors.Is(err, ErrNoLock), "camera without rule: %v", err)
}

func TestParseKey(t *testing.T) {
	stem, extension, camera, start, ok := parseKey("yard!2Fcam/2025/10/26/20251026T015900.956229Z_sd_ch01-hiv00042-slot007.json")
	require.True(t, ok)
	require.Equal(t, "yard!2Fcam/2025/10/26/20251026T015900.956229Z_sd_ch01-hiv00042-slot007", stem)
	require.Equal(t, ".json", extension)
	require.Equal(t, "yard!2Fcam", camera)
	require.Equal(t, time.Date(2025, 10, 26, 1, 59, 0, 956229000, time.UTC), start)

	for _, key := range []string{
		"yard/2025/10/26/notes.txt",
		"yard/2025/10/26/20251026T015900.956229Z_sd_ch01-hiv00042-slot007.avi",
		"yard/2025/10/27/20251026T015900.956229Z_sd_ch01-hiv00042-slot007.ps",
		"yard/2025/10/26/x/20251026T015900.956229Z_sd_ch01-hiv00042-slot007.ps",
		"yard/2025/10/26/2025-10-26T01:59:00Z_sd_ch01-hiv00042-slot007.ps",
	} {
		_, _, _, _, ok := parseKey(key)
		require.False(t, ok, key)
	}
}
