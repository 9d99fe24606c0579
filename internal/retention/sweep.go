package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/objectstore"
)

// DefaultOrphanGrace is the minimum age, by modification time, of clips and
// thumbnails without metadata before a sweep deletes them. Younger ones may
// belong to a segment the archiver is uploading right now.
const DefaultOrphanGrace = time.Hour

// Options configure Sweep.
type Options struct {
	Store  objectstore.Store
	Prefix string // store.prefix of the archiver, without slashes at the ends
	Policy Policy
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// OrphanGrace is the minimum age of objects without metadata before
	// they are deleted. Zero means DefaultOrphanGrace.
	OrphanGrace time.Duration
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger zerolog.Logger
}

// Segment is one archived segment that a sweep deleted, would delete, or
// could not delete.
type Segment struct {
	// Stem is the common part of the segment's object keys, without the
	// extension.
	Stem string
	// Camera is the camera id from the metadata, or the camera's key token
	// for a segment without metadata.
	Camera string
	Start  time.Time // real start in UTC, from the object key
	// Keys are the objects of the segment, metadata first.
	Keys []string
	// Orphan is true when the segment has no metadata: an upload that
	// never finished or a sweep that stopped halfway.
	Orphan bool
	// Retention is set for a segment that Object Lock still protects.
	Retention objectstore.Retention
	// Err is the reason the segment could not be deleted.
	Err error
}

// Report is the outcome of one sweep.
type Report struct {
	DryRun bool
	// Checked counts the segments under the prefix, expired or not.
	Checked int
	// Deleted are the expired segments removed, or in a dry run the ones a
	// sweep would remove.
	Deleted []Segment
	// Locked are expired segments that Object Lock still protects. They
	// are left in place and deleted by a later sweep.
	Locked []Segment
	// Failed are expired segments that could not be deleted, with Err set.
	Failed []Segment
}

// Sweep deletes every segment whose retention has passed. It lists the
// store once, reads the metadata of expired segments only, and deletes
// each one metadata first. Objects under the prefix that are not segment
// objects are left alone. It returns an error only when listing fails or
// ctx ends; per-segment failures are in the report.
func Sweep(ctx context.Context, opts Options) (Report, error) {
	if err := opts.Policy.Validate(); err != nil {
		return Report{}, err
	}
	if opts.OrphanGrace <= 0 {
		opts.OrphanGrace = DefaultOrphanGrace
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now()
	report := Report{DryRun: opts.DryRun}

	expired, checked, err := findExpired(ctx, opts, now)
	report.Checked = checked
	if err != nil {
		return report, err
	}

	locker := lockerOf(ctx, opts)
	for _, group := range expired {
		if err := ctx.Err(); err != nil {
			return report, err
		}
		segment := describe(ctx, opts, group)
		sweepSegment(ctx, opts, locker, now, segment, &report)
	}

	opts.Logger.Info().Bool("dry_run", opts.DryRun).Int("checked", report.Checked).
		Int("deleted", len(report.Deleted)).Int("locked", len(report.Locked)).Int("failed", len(report.Failed)).
		Msg("retention sweep finished")
	return report, nil
}

// group is the objects of one segment stem found in the listing.
type group struct {
	stem        string
	cameraToken string
	start       time.Time
	objects     map[string]objectstore.ObjectInfo // by extension: ".ps", ".jpg", ".json"
}

// findExpired lists the store and returns the segments past retention.
// Keys of one segment differ only in the extension, so they are adjacent in
// the lexical listing and a group is complete when the next stem begins.
func findExpired(ctx context.Context, opts Options, now time.Time) ([]*group, int, error) {
	prefix := strings.Trim(opts.Prefix, "/")
	listPrefix := ""
	if prefix != "" {
		listPrefix = prefix + "/"
	}

	var expired []*group
	var current *group
	checked := 0
	finish := func() {
		if current == nil {
			return
		}
		checked++
		keep, ok := opts.Policy.keepForToken(current.cameraToken, KindContinuous)
		if ok && !current.start.Add(keep).After(now) && orphanOldEnough(current, opts, now) {
			expired = append(expired, current)
		}
		current = nil
	}

	err := opts.Store.List(ctx, listPrefix, func(info objectstore.ObjectInfo) error {
		stem, extension, cameraToken, start, ok := parseKey(strings.TrimPrefix(info.Key, listPrefix))
		if !ok {
			opts.Logger.Debug().Str("object", info.Key).Msg("not a segment object; the retention sweep leaves it alone")
			return nil
		}
		stem = listPrefix + stem
		if current == nil || current.stem != stem {
			finish()
			current = &group{stem: stem, cameraToken: cameraToken, start: start, objects: map[string]objectstore.ObjectInfo{}}
		}
		current.objects[extension] = info
		return nil
	})
	finish()
	if err != nil {
		return nil, checked, fmt.Errorf("list %s under %q for the retention sweep: %w", opts.Store, listPrefix, err)
	}
	return expired, checked, nil
}

// orphanOldEnough reports whether a group may go: every group with
// metadata may, and one without only when all its objects are older than
// the grace period.
func orphanOldEnough(g *group, opts Options, now time.Time) bool {
	if _, ok := g.objects[".json"]; ok {
		return true
	}
	for _, info := range g.objects {
		if now.Sub(info.ModTime) < opts.OrphanGrace {
			return false
		}
	}
	return true
}

// startLayout is the start time in segment object names; see
// archive.KeysFor.
const startLayout = "20060102T150405.000000Z"

// parseKey splits a key relative to the prefix,
// <camera>/<YYYY>/<MM>/<DD>/<start>_<datadir>_ch<NN>-hiv<NNNNN>-slot<NNN>.<ext>,
// into the stem without extension, the extension, the camera token and the
// start time.
func parseKey(key string) (stem, extension, cameraToken string, start time.Time, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 5 {
		return "", "", "", time.Time{}, false
	}
	name := parts[4]
	extension = path.Ext(name)
	switch extension {
	case ".mp4", ".ps", ".jpg", ".json":
	default:
		return "", "", "", time.Time{}, false
	}

	if len(name) <= len(startLayout) || name[len(startLayout)] != '_' || !strings.Contains(name, "-slot") {
		return "", "", "", time.Time{}, false
	}
	start, err := time.Parse(startLayout, name[:len(startLayout)])
	if err != nil {
		return "", "", "", time.Time{}, false
	}
	if start.Format("2006/01/02") != strings.Join(parts[1:4], "/") {
		return "", "", "", time.Time{}, false
	}
	return strings.TrimSuffix(key, extension), extension, parts[0], start, true
}

// describe turns a group into a Segment, reading the metadata for the
// camera id and for object keys the listing may not show.
func describe(ctx context.Context, opts Options, g *group) Segment {
	segment := Segment{Stem: g.stem, Camera: g.cameraToken, Start: g.start}

	keys := []string{}
	add := func(key string) {
		if key != "" && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}

	if info, ok := g.objects[".json"]; ok {
		add(info.Key)
		metadata, err := readMetadata(ctx, opts.Store, info.Key)
		if err != nil {
			// Unreadable metadata does not make a segment complete; its
			// objects still go, metadata first.
			opts.Logger.Warn().Err(err).Str("metadata", info.Key).Msg("expired segment has unreadable metadata; deleting its objects by key")
		} else {
			segment.Camera = metadata.Segment.Camera
			add(metadata.Objects.Clip)
			add(metadata.Objects.Original)
			add(metadata.Objects.Thumbnail)
		}
	} else {
		segment.Orphan = true
	}
	for _, extension := range []string{".mp4", ".ps", ".jpg"} {
		if info, ok := g.objects[extension]; ok {
			add(info.Key)
		}
	}
	segment.Keys = keys
	return segment
}

// maxMetadataSize bounds the metadata document read, in bytes. Real ones
// are about 2 KB.
const maxMetadataSize = 1 << 20

func readMetadata(ctx context.Context, store objectstore.Store, key string) (archive.Metadata, error) {
	body, err := store.Get(ctx, key)
	if err != nil {
		return archive.Metadata{}, err
	}
	defer body.Close()

	data, err := io.ReadAll(io.LimitReader(body, maxMetadataSize))
	if err != nil {
		return archive.Metadata{}, fmt.Errorf("read metadata %s: %w", key, err)
	}
	var metadata archive.Metadata
	if err := json.Unmarshal(data, &metadata); err != nil {
		return archive.Metadata{}, fmt.Errorf("decode metadata %s: %w", key, err)
	}
	return metadata, nil
}

// lockerOf returns the store's Locker when its bucket has Object Lock
// enabled, and nil otherwise.
func lockerOf(ctx context.Context, opts Options) objectstore.Locker {
	locker, ok := opts.Store.(objectstore.Locker)
	if !ok {
		return nil
	}
	enabled, err := locker.LockingEnabled(ctx)
	if err != nil {
		// Without the configuration the sweep still checks each object's
		// retention, so a locked object is never deleted by mistake.
		opts.Logger.Warn().Err(err).Msg("could not read the bucket's object lock configuration; checking each object's retention")
		return locker
	}
	if !enabled {
		return nil
	}
	return locker
}

// sweepSegment checks the locks of one expired segment and deletes it,
// recording the outcome in report.
func sweepSegment(ctx context.Context, opts Options, locker objectstore.Locker, now time.Time, segment Segment, report *Report) {
	log := opts.Logger.With().Str("segment", segment.Stem).Str("camera", segment.Camera).Logger()

	if locker != nil {
		retention, err := activeRetention(ctx, locker, segment.Keys, now)
		if err != nil {
			segment.Err = err
			report.Failed = append(report.Failed, segment)
			log.Error().Err(err).Msg("could not read the object lock retention; keeping the segment")
			return
		}
		if retention.Active(now) {
			segment.Retention = retention
			report.Locked = append(report.Locked, segment)
			log.Info().Str("mode", string(retention.Mode)).Time("retain_until", retention.RetainUntil).
				Msg("expired segment is still under object lock; keeping it")
			return
		}
	}

	if opts.DryRun {
		report.Deleted = append(report.Deleted, segment)
		log.Info().Strs("objects", segment.Keys).Msg("dry run: would delete expired segment")
		return
	}

	// Keys start with the metadata, so a failure leaves at worst objects
	// without metadata, which the next sweep removes.
	for _, key := range segment.Keys {
		if err := deleteObject(ctx, opts.Store, locker, key); err != nil {
			segment.Err = err
			report.Failed = append(report.Failed, segment)
			log.Error().Err(err).Str("object", key).Msg("could not delete an object of an expired segment; the next sweep retries")
			return
		}
	}
	report.Deleted = append(report.Deleted, segment)
	log.Info().Strs("objects", segment.Keys).Msg("deleted expired segment")
}

// activeRetention returns the retention that protects any of the keys
// longest, or a zero Retention when none does. An absent key is skipped.
func activeRetention(ctx context.Context, locker objectstore.Locker, keys []string, now time.Time) (objectstore.Retention, error) {
	var longest objectstore.Retention
	for _, key := range keys {
		retention, err := locker.Retention(ctx, key)
		if errors.Is(err, objectstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return objectstore.Retention{}, fmt.Errorf("read retention of %s: %w", key, err)
		}
		if retention.Active(now) && retention.RetainUntil.After(longest.RetainUntil) {
			longest = retention
		}
	}
	return longest, nil
}

// deleteObject removes every version in an Object Lock bucket, where a
// plain delete would only add a delete marker, and deletes plainly
// elsewhere.
func deleteObject(ctx context.Context, store objectstore.Store, locker objectstore.Locker, key string) error {
	if locker != nil {
		return locker.DeleteVersions(ctx, key)
	}
	return store.Delete(ctx, key)
}
