// Package scanner reads each camera's index on a schedule and publishes one
// event per newly closed segment, keeping its place per camera, datadir and
// channel in a JetStream key-value bucket so that a restart neither misses
// nor repeats segments. It also warns when the camera is about to overwrite
// segments that are not archived yet (see Options.RiskThreshold).
package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/metrics"
	"github.com/hikarchive/hikarchive/internal/pipeline"
)

// Camera is one camera to watch.
type Camera struct {
	ID       string
	Path     string         // storage root: SD-card folder or NAS share
	Location *time.Location // the camera's time zone
}

// BackfillMode selects the segments a scanner publishes for a datadir that
// has no cursor yet.
type BackfillMode string

// Backfill modes.
const (
	BackfillAll   BackfillMode = "all"   // every live closed segment
	BackfillNew   BackfillMode = "new"   // only segments that close from now on
	BackfillSince BackfillMode = "since" // live closed segments that start at or after Since
)

// Options configures a Scanner.
type Options struct {
	Cameras  []Camera
	Schedule cron.Schedule // when to scan; config.ParseSchedule builds one from a spec
	Backfill BackfillMode
	Since    time.Time // for BackfillSince, a real instant
	Logger   zerolog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	// RiskThreshold turns on overwrite-risk warnings. The scanner tracks
	// the oldest segment it published that no archived or lost event has
	// settled yet. When the estimated time until the camera recycles that
	// segment's hiv file drops below the threshold, it logs a warning and
	// publishes a risk event. Zero turns the warnings off.
	RiskThreshold time.Duration

	// Metrics counts published segments and, with RiskThreshold, records
	// the headroom per camera; nil records nothing.
	Metrics *metrics.Metrics
}

// Scanner publishes closed-segment events for a set of cameras.
type Scanner struct {
	js      jetstream.JetStream
	cursors jetstream.KeyValue
	opts    Options
	log     zerolog.Logger

	mu      sync.Mutex // serialises scans: a Reader and the cursors are not shared
	readers map[string]*index.Reader

	// risk tracks published segments for RiskThreshold; nil when off.
	risk *riskTracker
}

// New returns a scanner that publishes through js. The streams and the
// cursor bucket must exist (pipeline.EnsureStreams).
func New(ctx context.Context, js jetstream.JetStream, opts Options) (*Scanner, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Backfill == "" {
		opts.Backfill = BackfillAll
	}

	cursors, err := js.KeyValue(ctx, pipeline.CursorBucket)
	if err != nil {
		return nil, fmt.Errorf("open cursor bucket %s: %w (run pipeline.EnsureStreams first)", pipeline.CursorBucket, err)
	}

	s := &Scanner{
		js:      js,
		cursors: cursors,
		opts:    opts,
		log:     opts.Logger.With().Str("component", "scanner").Logger(),
		readers: make(map[string]*index.Reader),
	}
	if opts.RiskThreshold > 0 {
		s.risk, err = newRiskTracker(ctx, js, opts.Cameras, opts.Now())
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Run scans every camera on the configured schedule until ctx ends. A scan
// that is still running when the next one is due delays it rather than
// overlapping it.
func (s *Scanner) Run(ctx context.Context) error {
	if s.opts.Schedule == nil {
		return errors.New("scanner: no schedule configured")
	}

	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	c.Schedule(s.opts.Schedule, cron.FuncJob(func() {
		if err := s.ScanOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Msg("scan finished with errors; retrying at the next scheduled scan")
		}
	}))

	s.log.Info().Int("cameras", len(s.opts.Cameras)).Msg("scanner started")
	if err := s.ScanOnce(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn().Err(err).Msg("first scan finished with errors; retrying at the next scheduled scan")
	}
	c.Start()

	<-ctx.Done()
	<-c.Stop().Done()
	s.log.Info().Msg("scanner stopped")
	return nil
}

// ScanOnce scans every camera once. Errors of one camera do not stop the
// others; they are logged and returned joined.
func (s *Scanner) ScanOnce(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	var errs []error
	for _, camera := range s.opts.Cameras {
		if err := s.scanCamera(ctx, camera); err != nil {
			errs = append(errs, fmt.Errorf("camera %s: %w", camera.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Scanner) scanCamera(ctx context.Context, camera Camera) error {
	log := s.log.With().Str("camera", camera.ID).Logger()

	storage, err := index.OpenStorageAny(camera.Path)
	if err != nil {
		log.Error().Err(err).Str("path", camera.Path).Msg("camera storage unreadable")
		return err
	}

	var errs []error
	for _, datadir := range storage.Datadirs {
		if err := s.scanDatadir(ctx, camera, datadir, log.With().Str("datadir", datadir.Name).Logger()); err != nil {
			errs = append(errs, fmt.Errorf("datadir %s: %w", datadir.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Scanner) scanDatadir(ctx context.Context, camera Camera, datadir index.Datadir, log zerolog.Logger) error {
	snapshot, err := s.reader(datadir.Path).ReadDatadirAny(datadir.Path)
	if err != nil {
		log.Error().Err(err).Msg("index rejected; no segments published from this read")
		return err
	}
	if snapshot.File != "" && !isPrimary(snapshot.File) {
		log.Warn().Str("index", snapshot.File).Msg("index00.bin unusable; read the copy index01.bin instead")
	}

	// Each channel is its own stream with its own cursor: an NVR records
	// several cameras into one datadir.
	var errs []error
	for _, view := range snapshot.ChannelViews() {
		channelLog := log.With().Uint16("channel", view.Channel).Logger()
		if err := s.scanChannel(ctx, camera, datadir.Name, view, channelLog); err != nil {
			errs = append(errs, fmt.Errorf("channel %d: %w", view.Channel, err))
		}
	}

	if s.risk != nil {
		if err := s.checkRisk(ctx, camera, datadir, snapshot, log); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// scanChannel publishes what changed on one channel since its cursor and
// saves the cursor.
func (s *Scanner) scanChannel(ctx context.Context, camera Camera, datadir string, snapshot *index.Snapshot, log zerolog.Logger) error {
	key := CursorKey(camera.ID, datadir, snapshot.Channel)
	cursor, revision, err := s.loadChannelCursor(ctx, camera.ID, datadir, snapshot.Channel, log)
	if err != nil {
		log.Error().Err(err).Str("cursor", key).Msg("cursor unreadable")
		return err
	}
	if revision == 0 && cursor.Last == nil && cursor.Open == nil {
		cursor = s.initialCursor(camera, snapshot)
		log.Info().Str("backfill", string(s.opts.Backfill)).Int("live_closed", len(snapshot.Closed)).Msg("no cursor for this channel yet; starting from the backfill setting")
	}

	change := index.DiffCursor(cursor, snapshot)
	if change.Stale {
		log.Warn().Uint64("index_modify_times", snapshot.ModifyTimes).Uint64("cursor_modify_times", cursor.ModifyTimes).
			Str("index", snapshot.File).Msg("index is older than the cursor; skipped this read")
		return nil
	}

	next, err := s.publish(ctx, camera, datadir, snapshot, cursor, change, log)
	if revision != 0 && sameCursor(next, cursor) {
		return err
	}
	if saveErr := s.saveCursor(ctx, key, next, revision); saveErr != nil {
		log.Error().Err(saveErr).Str("cursor", key).Msg("cursor not saved; the next scan publishes the same segments again and JetStream drops the duplicates")
		err = errors.Join(err, saveErr)
	}
	return err
}

// CursorKey returns the key-value key of the cursor of one channel of a
// camera's datadir. Channel 1 keeps pipeline.CursorKey, the key used before
// the scanner distinguished channels, so an existing deployment resumes where
// it was. Other channels add ".ch<N>"; camera and datadir tokens never
// contain a dot, so the keys cannot collide.
func CursorKey(camera, datadir string, channel uint16) string {
	key := pipeline.CursorKey(camera, datadir)
	if channel == 1 {
		return key
	}
	return key + ".ch" + strconv.Itoa(int(channel))
}

// loadChannelCursor returns the channel's cursor and its revision, 0 if it
// has none. A channel other than 1 without a cursor of its own takes over
// the cursor under the old per-datadir key when that cursor is about this
// channel: a one-channel recorder on another channel number must not
// republish everything after an upgrade. The returned revision is then 0,
// so the first save creates the channel's own key.
func (s *Scanner) loadChannelCursor(ctx context.Context, cameraID, datadir string, channel uint16, log zerolog.Logger) (index.Cursor, uint64, error) {
	cursor, revision, err := s.loadCursor(ctx, CursorKey(cameraID, datadir, channel))
	if err != nil || revision != 0 || channel == 1 {
		return cursor, revision, err
	}

	legacyKey := pipeline.CursorKey(cameraID, datadir)
	legacy, legacyRevision, err := s.loadCursor(ctx, legacyKey)
	if err != nil || legacyRevision == 0 {
		return index.Cursor{}, 0, err
	}
	if (legacy.Last != nil && legacy.Last.Channel == channel) || (legacy.Last == nil && legacy.Open != nil && legacy.Open.Channel == channel) {
		log.Info().Str("cursor", legacyKey).Msg("continuing from the cursor stored before channels had their own keys")
		return legacy, 0, nil
	}
	return index.Cursor{}, 0, nil
}

// publish sends the lost and closed events of change in order and returns
// the cursor that covers exactly what was published.
func (s *Scanner) publish(ctx context.Context, camera Camera, datadir string, snapshot *index.Snapshot, cursor index.Cursor, change index.Change, log zerolog.Logger) (index.Cursor, error) {
	now := s.opts.Now().UTC()

	for _, lost := range change.Lost {
		event := pipeline.Lost{
			Version:    pipeline.SchemaVersion,
			Segment:    pipeline.NewSegment(camera.ID, datadir, camera.Location, lost),
			Reason:     pipeline.ReasonOpenOverwritten,
			Detail:     "the segment was open at the previous scan and the index no longer lists it",
			DetectedBy: "scanner",
			DetectedAt: now,
		}
		if err := s.publishLost(ctx, event, log); err != nil {
			return cursor, err
		}
	}

	if change.Gap != nil {
		event := pipeline.Lost{
			Version:    pipeline.SchemaVersion,
			Segment:    pipeline.NewSegment(camera.ID, datadir, camera.Location, change.Gap.After),
			Reason:     pipeline.ReasonRingPassed,
			Detail:     "the camera went round its whole ring since the last scan; recordings after this segment and before gap_before were overwritten unseen",
			DetectedBy: "scanner",
			DetectedAt: now,
		}
		if change.Gap.Before != nil {
			before := pipeline.NewSegment(camera.ID, datadir, camera.Location, *change.Gap.Before)
			event.GapBefore = &before
		}
		if err := s.publishLost(ctx, event, log); err != nil {
			return cursor, err
		}
	}

	next := cursor
	next.ModifyTimes = snapshot.ModifyTimes
	for _, segment := range change.Closed {
		event := pipeline.Closed{
			Version:          pipeline.SchemaVersion,
			Segment:          pipeline.NewSegment(camera.ID, datadir, camera.Location, segment),
			IndexFile:        snapshot.File,
			IndexVersion:     snapshot.Version,
			IndexModifyTimes: snapshot.ModifyTimes,
			ObservedAt:       now,
		}
		subject := pipeline.Subject(pipeline.KindClosed, camera.ID, datadir)
		msgID := pipeline.MsgID(pipeline.KindClosed, camera.ID, datadir, event.Segment.ID)
		if _, err := pipeline.Publish(ctx, s.js, subject, msgID, event); err != nil {
			log.Error().Err(err).Str("segment", event.Segment.ID).Msg("publish of closed segment failed; retrying at the next scan")
			return next, err
		}

		published := segment
		next.Last = &published
		s.opts.Metrics.Seen(camera.ID)
		if s.risk != nil {
			s.risk.published(camera.ID, datadir, segment.Key())
		}
		log.Debug().Str("segment", event.Segment.ID).Str("hiv_file", event.Segment.HivFile).
			Time("start", event.Segment.Start).Int64("size", segment.Size()).Msg("published closed segment")
	}

	if len(change.Closed) > 0 {
		log.Info().Int("segments", len(change.Closed)).Msg("published closed segments")
	}

	next.Open = nil
	if snapshot.Open != nil {
		open := *snapshot.Open
		next.Open = &open
	}
	return next, nil
}

func (s *Scanner) publishLost(ctx context.Context, event pipeline.Lost, log zerolog.Logger) error {
	subject := pipeline.Subject(pipeline.KindLost, event.Segment.Camera, event.Segment.Datadir)
	msgID := pipeline.MsgID(pipeline.KindLost, event.Segment.Camera, event.Segment.Datadir, event.Reason+":"+event.Segment.ID)
	if _, err := pipeline.Publish(ctx, s.js, subject, msgID, event); err != nil {
		log.Error().Err(err).Str("segment", event.Segment.ID).Str("reason", event.Reason).Msg("publish of lost segment failed; retrying at the next scan")
		return err
	}

	log.Warn().Str("segment", event.Segment.ID).Str("reason", event.Reason).Str("detail", event.Detail).Msg("footage lost before it was archived")
	return nil
}

// initialCursor returns the cursor for a datadir seen for the first time.
func (s *Scanner) initialCursor(camera Camera, snapshot *index.Snapshot) index.Cursor {
	switch s.opts.Backfill {
	case BackfillNew:
		return index.CursorOf(snapshot)
	case BackfillSince:
		cursor := index.Cursor{ModifyTimes: snapshot.ModifyTimes}
		for i := range snapshot.Closed {
			if !snapshot.Closed[i].Start.In(camera.Location).Before(s.opts.Since) {
				break
			}
			segment := snapshot.Closed[i]
			cursor.Last = &segment
		}
		return cursor
	default:
		return index.Cursor{ModifyTimes: snapshot.ModifyTimes}
	}
}

// loadCursor returns the stored cursor and its revision, 0 if there is none.
func (s *Scanner) loadCursor(ctx context.Context, key string) (index.Cursor, uint64, error) {
	entry, err := s.cursors.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return index.Cursor{}, 0, nil
	}
	if err != nil {
		return index.Cursor{}, 0, fmt.Errorf("read cursor %s: %w", key, err)
	}

	var cursor index.Cursor
	if err := json.Unmarshal(entry.Value(), &cursor); err != nil {
		return index.Cursor{}, 0, fmt.Errorf("cursor %s in bucket %s is not valid JSON (%v): delete the key to start this datadir again from the backfill setting", key, pipeline.CursorBucket, err)
	}
	return cursor, entry.Revision(), nil
}

// saveCursor stores the cursor, creating the key on the first save and
// otherwise updating the revision that was read, so that two scanners
// watching the same camera by mistake fail loudly instead of interleaving.
func (s *Scanner) saveCursor(ctx context.Context, key string, cursor index.Cursor, revision uint64) error {
	data, err := json.Marshal(cursor)
	if err != nil {
		return fmt.Errorf("encode cursor %s: %w", key, err)
	}

	if revision == 0 {
		_, err = s.cursors.Create(ctx, key, data)
	} else {
		_, err = s.cursors.Update(ctx, key, data, revision)
	}
	if err != nil {
		return fmt.Errorf("save cursor %s (revision %d): %w; is another scanner watching this camera?", key, revision, err)
	}
	return nil
}

func (s *Scanner) reader(path string) *index.Reader {
	r, ok := s.readers[path]
	if !ok {
		r = &index.Reader{}
		s.readers[path] = r
	}
	return r
}

func isPrimary(path string) bool {
	return filepath.Base(path) == index.PrimaryName
}

// sameCursor reports whether saving b over a would change nothing.
func sameCursor(a, b index.Cursor) bool {
	return a.ModifyTimes == b.ModifyTimes && sameSegment(a.Last, b.Last) && sameSegment(a.Open, b.Open)
}

func sameSegment(a, b *index.Segment) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
