// Package retention deletes archived segments once their retention period
// has passed, and computes the S3 Object Lock retention that keeps anyone
// from deleting them earlier.
//
// A segment is three objects: clip, thumbnail and metadata (see package
// archive). The metadata is written last, so its presence means the segment
// is complete. The sweep therefore deletes the metadata first and the clip
// and thumbnail after it: a sweep that stops halfway leaves objects without
// metadata, which nobody takes for a complete segment and which the next
// sweep removes, never metadata that points at a deleted clip.
//
// With several processes, a lease in a JetStream key-value bucket lets only
// one of them sweep at a time (see Sweeper).
package retention

import (
	"errors"
	"fmt"
	"time"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/objectstore"
)

// KindContinuous is the recording kind of continuous recording.
//
// NOTE: events and metadata do not carry the recording kind yet, so the
// sweep treats every segment as continuous. Rules for other kinds (such as
// "motion") are accepted and take effect once the kind is recorded.
const KindContinuous = "continuous"

// Rule keeps the segments of one camera, or of every camera, for a period.
type Rule struct {
	// Camera is a camera id as in the configuration; empty matches every
	// camera.
	Camera string
	// Kind is a recording kind such as KindContinuous; empty matches every
	// kind.
	Kind string
	// Keep is how long a segment is kept, counted from its start.
	Keep time.Duration
}

// Policy is a set of rules. For a segment the most specific matching rule
// applies: camera and kind, then camera alone, then kind alone, then the
// rule with neither. A segment that no rule matches is kept for good.
type Policy struct {
	Rules []Rule
}

// Validate checks that every period is positive and that no two rules have
// the same camera and kind.
func (p Policy) Validate() error {
	seen := map[[2]string]bool{}
	for i, rule := range p.Rules {
		if rule.Keep <= 0 {
			return fmt.Errorf("retention rule %d (camera %q, kind %q): keep %s must be positive", i, rule.Camera, rule.Kind, rule.Keep)
		}
		key := [2]string{rule.Camera, rule.Kind}
		if seen[key] {
			return fmt.Errorf("retention rule %d: another rule has camera %q and kind %q: merge them", i, rule.Camera, rule.Kind)
		}
		seen[key] = true
	}
	return nil
}

// KeepFor returns how long segments of a camera and kind are kept, and
// false when no rule matches, so they are kept for good.
func (p Policy) KeepFor(camera, kind string) (time.Duration, bool) {
	return p.keepForToken(archive.KeyToken(camera), kind)
}

// keepForToken matches by camera key token, as the sweep reads it from
// object keys. KeyToken is injective, so tokens match exactly when ids do.
func (p Policy) keepForToken(cameraToken, kind string) (time.Duration, bool) {
	best, bestRank := time.Duration(0), 0
	for _, rule := range p.Rules {
		cameraMatch := rule.Camera != "" && archive.KeyToken(rule.Camera) == cameraToken
		kindMatch := rule.Kind != "" && rule.Kind == kind
		if (rule.Camera != "" && !cameraMatch) || (rule.Kind != "" && !kindMatch) {
			continue
		}

		// Rank 4: camera and kind, 3: camera, 2: kind, 1: neither.
		rank := 1
		switch {
		case cameraMatch && kindMatch:
			rank = 4
		case cameraMatch:
			rank = 3
		case kindMatch:
			rank = 2
		}
		if rank > bestRank {
			best, bestRank = rule.Keep, rank
		}
	}
	return best, bestRank > 0
}

// ErrNoLock is returned by Lock when a segment needs no lock: no rule keeps
// it, or its retention has already ended.
var ErrNoLock = errors.New("segment needs no object lock")

// Lock returns the S3 Object Lock retention for the objects of a segment
// that started at start: locked in mode until the policy lets it go, so no
// one can delete it before the sweep would. S3 rejects a retain-until time
// in the past, so an expired segment gets ErrNoLock instead.
func (p Policy) Lock(mode objectstore.RetentionMode, camera, kind string, start, now time.Time) (objectstore.Retention, error) {
	keep, ok := p.KeepFor(camera, kind)
	if !ok {
		return objectstore.Retention{}, fmt.Errorf("%w: no retention rule matches camera %q, kind %q", ErrNoLock, camera, kind)
	}
	until := start.Add(keep)
	if !until.After(now) {
		return objectstore.Retention{}, fmt.Errorf("%w: retention of the segment of camera %q that started %s ended at %s",
			ErrNoLock, camera, start.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	}
	return objectstore.Retention{Mode: mode, RetainUntil: until}, nil
}
