package archiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/thumbnail"
)

// worker archives one segment at a time. It owns an index.Reader, which is
// not safe for concurrent use.
type worker struct {
	archiver *Archiver
	log      zerolog.Logger
	reader   index.Reader
}

// outcome is the result kind of archiving one event.
type outcome int

const (
	outcomeArchived outcome = iota // all objects stored: ack
	outcomeLost                    // footage gone: report it, then terminate
	outcomeRetry                   // try again later: nak with a delay
	outcomeInvalid                 // the event itself is unusable: terminate
)

// result is the outcome of archiving one segment, with what the ack or the
// events need.
type result struct {
	outcome  outcome
	err      error // cause of a retry or an invalid event
	reason   string
	detail   string
	archived *pipeline.Archived
}

func retry(err error) result   { return result{outcome: outcomeRetry, err: err} }
func invalid(err error) result { return result{outcome: outcomeInvalid, err: err} }
func lost(reason, detail string, args ...any) result {
	return result{outcome: outcomeLost, reason: reason, detail: fmt.Sprintf(detail, args...)}
}

// handle archives the segment of one message and settles the message.
func (w *worker) handle(ctx context.Context, msg jetstream.Msg) {
	log := w.log
	var deliveries uint64 = 1
	if meta, err := msg.Metadata(); err == nil {
		deliveries = meta.NumDelivered
		log = log.With().Uint64("stream_seq", meta.Sequence.Stream).Uint64("delivery", deliveries).Logger()
	}

	var event pipeline.Closed
	if err := json.Unmarshal(msg.Data(), &event); err != nil {
		log.Error().Err(err).Str("subject", msg.Subject()).Msg("closed-segment event is not valid JSON; terminating it")
		w.settle(msg, func() error { return msg.TermWithReason("invalid event JSON") }, log)
		return
	}
	log = log.With().Str("camera", event.Segment.Camera).Str("datadir", event.Segment.Datadir).
		Str("segment", event.Segment.ID).Str("hiv_file", event.Segment.HivFile).Logger()

	stop := w.heartbeat(msg, log)
	res := w.archive(ctx, event, log)
	stop()

	w.finish(ctx, msg, event, res, deliveries, log)
}

// finish publishes what the result needs and acks, terminates or naks msg.
func (w *worker) finish(ctx context.Context, msg jetstream.Msg, event pipeline.Closed, res result, deliveries uint64, log zerolog.Logger) {
	a := w.archiver
	switch res.outcome {
	case outcomeArchived:
		subject := pipeline.Subject(pipeline.KindArchived, event.Segment.Camera, event.Segment.Datadir)
		msgID := pipeline.MsgID(pipeline.KindArchived, event.Segment.Camera, event.Segment.Datadir, event.Segment.ID)
		if _, err := pipeline.Publish(ctx, a.js, subject, msgID, res.archived); err != nil {
			w.nak(msg, deliveries, fmt.Errorf("segment archived but its archived event was not published: %w", err), log)
			return
		}
		log.Info().Str("clip", res.archived.Objects.Clip).Int64("size", res.archived.Size).Msg("segment archived")
		w.settle(msg, func() error { return msg.DoubleAck(ctx) }, log)

	case outcomeLost:
		event := pipeline.Lost{
			Version:    pipeline.SchemaVersion,
			Segment:    event.Segment,
			Reason:     res.reason,
			Detail:     res.detail,
			DetectedBy: "archiver",
			DetectedAt: a.opts.Now().UTC(),
		}
		subject := pipeline.Subject(pipeline.KindLost, event.Segment.Camera, event.Segment.Datadir)
		msgID := pipeline.MsgID(pipeline.KindLost, event.Segment.Camera, event.Segment.Datadir, event.Reason+":"+event.Segment.ID)
		if _, err := pipeline.Publish(ctx, a.js, subject, msgID, event); err != nil {
			w.nak(msg, deliveries, fmt.Errorf("segment lost but its lost event was not published: %w", err), log)
			return
		}
		a.opts.Metrics.Lost(event.Segment.Camera, res.reason)
		log.Warn().Str("reason", res.reason).Str("detail", res.detail).Msg("segment lost before it was archived")
		w.settle(msg, func() error { return msg.TermWithReason("lost: " + res.reason) }, log)

	case outcomeInvalid:
		log.Error().Err(res.err).Msg("closed-segment event is invalid; terminating it")
		w.settle(msg, func() error { return msg.TermWithReason("invalid event") }, log)

	default:
		a.opts.Metrics.Retried(event.Segment.Camera)
		w.nak(msg, deliveries, res.err, log)
	}
}

// nak hands msg back to JetStream to be delivered again after a delay that
// doubles with every delivery.
func (w *worker) nak(msg jetstream.Msg, deliveries uint64, cause error, log zerolog.Logger) {
	delay := w.archiver.backoff(deliveries)
	event := log.Warn()
	if objectstore.IsPermanent(cause) {
		event = log.Error().Bool("needs_operator", true)
	}
	event.Err(cause).Str("retry_in", delay.String()).Msg("segment not archived yet; it will be delivered again")
	w.settle(msg, func() error { return msg.NakWithDelay(delay) }, log)
}

// settle runs an ack, nak or term. If NATS is unreachable the message is not
// lost: JetStream delivers it again once its ack wait runs out.
func (w *worker) settle(msg jetstream.Msg, fn func() error, log zerolog.Logger) {
	if err := fn(); err != nil {
		log.Warn().Err(err).Msg("could not settle the message with NATS; it will be delivered again after the ack wait")
	}
}

// heartbeat sends in-progress acks while the message is being worked on, so
// a long upload does not run past the ack wait. The returned func stops it.
func (w *worker) heartbeat(msg jetstream.Msg, log zerolog.Logger) func() {
	done := make(chan struct{})
	interval := max(w.archiver.opts.AckWait/3, 100*time.Millisecond)
	go func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				if err := msg.InProgress(); err != nil {
					log.Debug().Err(err).Msg("in-progress ack failed")
				}
			}
		}
	}()
	return func() { close(done) }
}

// datadirName is the pattern of valid datadir names. Any other name in an
// event is rejected rather than joined to a path.
var datadirName = regexp.MustCompile(`^(sd|datadir[0-9]{1,4})$`)

// archive copies one segment into the store. It never writes to the camera's
// storage: the hiv file and the index are opened read-only.
func (w *worker) archive(ctx context.Context, event pipeline.Closed, log zerolog.Logger) result {
	a := w.archiver
	segment := event.Segment

	camera, ok := a.cameras[segment.Camera]
	if !ok {
		return retry(fmt.Errorf("camera %q is not in this archiver's configuration: add it (id, path, timezone) and restart the archiver", segment.Camera))
	}
	if !datadirName.MatchString(segment.Datadir) {
		return invalid(fmt.Errorf("datadir %q is not sd or datadirN", segment.Datadir))
	}
	keys := archive.KeysFor(a.opts.Prefix, segment)

	if stored, err := w.storedMetadata(ctx, keys, segment); err != nil {
		return retry(err)
	} else if stored != nil {
		log.Info().Str("metadata", keys.Metadata).Msg("segment already archived; publishing its archived event again")
		return result{outcome: outcomeArchived, archived: archivedEvent(stored)}
	}

	dir := camera.Path
	if segment.Datadir != index.FlatDatadir {
		dir = filepath.Join(camera.Path, segment.Datadir)
	}
	live, channels, res, ok := w.liveSegment(dir, segment)
	if !ok {
		return res
	}

	// The picture index names no channel, so a camera picture can only be
	// matched to a segment when one channel records into the datadir.
	return w.copySegment(ctx, dir, event, live, keys, channels == 1, log)
}

// liveSegment reads the index and returns the segment as it lists it now,
// and the number of channels recording into the datadir.
func (w *worker) liveSegment(dir string, segment pipeline.Segment) (index.Segment, int, result, bool) {
	snapshot, err := w.reader.ReadDatadirAny(dir)
	if err != nil {
		return index.Segment{}, 0, retry(fmt.Errorf("read index of %s: %w", dir, err)), false
	}

	live, found := snapshot.Find(segment.Key())
	if !found || live.Open {
		return index.Segment{}, 0, lost(pipeline.ReasonOverwritten,
			"the index no longer lists segment %s: the camera recycled %s before it was archived", segment.ID, segment.HivFile), false
	}
	return live, len(snapshot.ChannelViews()), result{}, true
}

// copySegment uploads clip and thumbnail, checks that the camera did not
// overwrite the bytes meanwhile, and writes the metadata last.
func (w *worker) copySegment(ctx context.Context, dir string, event pipeline.Closed, live index.Segment, keys archive.Keys, cameraPictures bool, log zerolog.Logger) result {
	hivPath := filepath.Join(dir, live.HivName())

	hiv, err := os.Open(hivPath)
	if errors.Is(err, fs.ErrNotExist) {
		return retry(fmt.Errorf("hiv file %s not found although the index lists segment %s in it: check that the camera storage is fully mounted", hivPath, event.Segment.ID))
	}
	if err != nil {
		return retry(fmt.Errorf("open hiv file: %w", err))
	}
	defer hiv.Close()

	if res, ok := checkSegmentData(hiv, hivPath, live); !ok {
		return res
	}

	log.Debug().Int64("size", live.Size()).Str("format", w.archiver.opts.Clip).Msg("uploading clip")
	began := time.Now()
	clip, err := w.uploadClip(ctx, hiv, live, keys, log)
	if err != nil {
		return retry(fmt.Errorf("upload clip of segment %s: %w", event.Segment.ID, err))
	}

	thumb := w.uploadThumbnail(ctx, dir, hiv, live, keys.Thumbnail, cameraPictures, log)
	if ctx.Err() != nil {
		return retry(fmt.Errorf("stopped while archiving segment %s: %w", event.Segment.ID, ctx.Err()))
	}

	// The camera may have recycled the file while we read it. It rewrites
	// the index before writing new video, so a segment still listed now
	// was intact while it was copied.
	if res, ok := w.stillLive(dir, hiv, hivPath, live); !ok {
		w.removeObjects(clip, keys, thumb, log)
		return res
	}

	lock, locked := w.retentionFor(event.Segment, log)
	if locked {
		if err := w.lockObjects(ctx, clip, keys, thumb, lock); err != nil {
			return retry(err)
		}
	}

	metadata := w.metadata(event, live, keys, clip, thumb)
	if err := w.putMetadata(ctx, keys.Metadata, metadata, lock, locked); err != nil {
		return retry(err)
	}

	lag := w.archiver.opts.Now().Sub(event.Segment.End)
	w.archiver.opts.Metrics.Archived(event.Segment.Camera, clip.size, time.Since(began), lag)
	return result{outcome: outcomeArchived, archived: archivedEvent(metadata)}
}

// uploadThumbnail stores a JPEG thumbnail of the segment, or returns why
// there is none. The camera's own event picture comes first; without one,
// ffmpeg decodes the first key frame. A missing thumbnail never holds back
// the clip.
func (w *worker) uploadThumbnail(ctx context.Context, dir string, hiv *os.File, live index.Segment, key string, cameraPictures bool, log zerolog.Logger) archive.Thumbnail {
	opts := w.archiver.opts.Thumbnail
	if opts.Width <= 0 {
		return archive.Thumbnail{Status: "none", Reason: "thumbnails are disabled (thumbnail_width is 0)"}
	}

	cameraReason := "the datadir has several channels and the picture index names none"
	if cameraPictures {
		jpeg, _, err := thumbnail.FromCameraPicture(ctx, dir, live, opts)
		if err == nil {
			return w.putThumbnail(ctx, key, jpeg, archive.Thumbnail{Status: "ok", Source: thumbnail.SourceCamera, Width: opts.Width}, log)
		}
		cameraReason = err.Error()
		if errors.Is(err, thumbnail.ErrInvalidPicture) || errors.Is(err, thumbnail.ErrInvalidPictureIndex) {
			log.Warn().Err(err).Msg("camera picture unusable; making the thumbnail with ffmpeg")
		}
	}

	jpeg, err := thumbnail.Extract(ctx, opts, io.NewSectionReader(hiv, int64(live.StartOffset), live.Size()))
	if ctx.Err() != nil {
		// Shutting down: the segment is retried, with its thumbnail.
		return archive.Thumbnail{Status: "none", Reason: "stopped: " + ctx.Err().Error()}
	}
	if errors.Is(err, thumbnail.ErrUnavailable) {
		return archive.Thumbnail{Status: "none", Reason: err.Error(), CameraPicture: cameraReason}
	}
	if err != nil {
		log.Warn().Err(err).Msg("no thumbnail: ffmpeg could not decode a frame")
		return archive.Thumbnail{Status: "none", Reason: "ffmpeg could not decode a frame: " + err.Error(), CameraPicture: cameraReason}
	}
	return w.putThumbnail(ctx, key, jpeg, archive.Thumbnail{Status: "ok", Source: "ffmpeg", Width: opts.Width, CameraPicture: cameraReason}, log)
}

// putThumbnail uploads a thumbnail and returns its status.
func (w *worker) putThumbnail(ctx context.Context, key string, jpeg []byte, status archive.Thumbnail, log zerolog.Logger) archive.Thumbnail {
	if _, err := w.archiver.opts.Store.Put(ctx, key, bytes.NewReader(jpeg), int64(len(jpeg)), objectstore.PutOptions{ContentType: archive.ThumbnailContentType}); err != nil {
		log.Warn().Err(err).Str("thumbnail", key).Msg("thumbnail upload failed; archiving the segment without it")
		return archive.Thumbnail{Status: "none", Reason: "thumbnail upload failed: " + err.Error()}
	}
	return status
}

// stillLive re-reads the index and the segment's first bytes after the copy.
func (w *worker) stillLive(dir string, hiv *os.File, hivPath string, live index.Segment) (result, bool) {
	snapshot, err := w.reader.ReadDatadirAny(dir)
	if err != nil {
		return retry(fmt.Errorf("read index of %s after the copy: %w", dir, err)), false
	}
	if now, found := snapshot.Find(live.Key()); !found || now != live {
		return lost(pipeline.ReasonOverwrittenDuringCopy,
			"the index stopped listing segment %s while it was copied from %s: the camera recycled the file", live.Key(), hivPath), false
	}
	if res, ok := checkSegmentData(hiv, hivPath, live); !ok {
		res.reason = pipeline.ReasonOverwrittenDuringCopy
		return res, false
	}
	return result{}, true
}

// removeObjects deletes the clip and thumbnail of a copy that cannot be
// trusted, so that nothing in the store looks like a good segment.
func (w *worker) removeObjects(clip clipInfo, keys archive.Keys, thumb archive.Thumbnail, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	remove := []string{clip.key}
	if clip.original != "" {
		remove = append(remove, clip.original)
	}
	if thumb.Status == "ok" {
		remove = append(remove, keys.Thumbnail)
	}
	for _, key := range remove {
		if err := w.archiver.opts.Store.Delete(ctx, key); err != nil {
			log.Error().Err(err).Str("object", key).Msg("could not delete the copy of an overwritten segment; it has no metadata, so it is not archived footage")
		}
	}
}

func (w *worker) metadata(event pipeline.Closed, live index.Segment, keys archive.Keys, clip clipInfo, thumb archive.Thumbnail) *archive.Metadata {
	a := w.archiver
	objects := pipeline.Objects{Clip: clip.key, Original: clip.original, Metadata: keys.Metadata}
	if thumb.Status == "ok" {
		objects.Thumbnail = keys.Thumbnail
	}

	return &archive.Metadata{
		Version:          archive.MetadataVersion,
		Segment:          event.Segment,
		DurationSeconds:  live.Duration().Seconds(),
		Size:             clip.size,
		SHA256:           clip.sha256,
		ClipFormat:       clip.format,
		SourceSize:       clip.sourceSize,
		SourceSHA256:     clip.sourceSHA256,
		RemuxError:       clip.remuxError,
		Stream:           clip.stream,
		ClockSuspect:     string(clockSuspect(live, a.opts.Now())),
		CameraStartWall:  live.Start.Wall().Format(archive.WallFormat),
		CameraEndWall:    live.End.Wall().Format(archive.WallFormat),
		Objects:          objects,
		Thumbnail:        thumb,
		IndexFile:        event.IndexFile,
		IndexVersion:     event.IndexVersion,
		IndexModifyTimes: event.IndexModifyTimes,
		ArchiverVersion:  a.opts.Version,
		ArchivedAt:       a.opts.Now().UTC(),
	}
}

// clockSuspect returns the first suspicion about the segment's start or end
// time, or ClockPlausible.
func clockSuspect(live index.Segment, now time.Time) index.ClockSuspicion {
	if suspicion := index.ClockSuspect(live.Start, now); suspicion != index.ClockPlausible {
		return suspicion
	}
	return index.ClockSuspect(live.End, now)
}

// putMetadata uploads the metadata document, with retention r when locked.
func (w *worker) putMetadata(ctx context.Context, key string, metadata *archive.Metadata, r objectstore.Retention, locked bool) error {
	data, err := json.MarshalIndent(metadata, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}

	if locked {
		err = w.putLockedMetadata(ctx, key, data, r)
	} else {
		_, err = w.archiver.opts.Store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), objectstore.PutOptions{ContentType: archive.MetadataContentType})
	}
	if err != nil {
		return fmt.Errorf("upload metadata %s: %w", key, err)
	}
	return nil
}

// storedMetadata returns the metadata of a segment archived before, or nil.
func (w *worker) storedMetadata(ctx context.Context, keys archive.Keys, segment pipeline.Segment) (*archive.Metadata, error) {
	body, err := w.archiver.opts.Store.Get(ctx, keys.Metadata)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check for metadata %s: %w", keys.Metadata, err)
	}
	defer body.Close()

	var metadata archive.Metadata
	if err := json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&metadata); err != nil {
		w.log.Warn().Err(err).Str("metadata", keys.Metadata).Msg("stored metadata is unreadable; archiving the segment again")
		return nil, nil
	}
	if metadata.Segment.ID != segment.ID || metadata.Segment.Camera != segment.Camera {
		return nil, nil
	}
	return &metadata, nil
}

func archivedEvent(m *archive.Metadata) *pipeline.Archived {
	return &pipeline.Archived{
		Version:    pipeline.SchemaVersion,
		Segment:    m.Segment,
		Objects:    m.Objects,
		Size:       m.Size,
		SHA256:     m.SHA256,
		ArchivedAt: m.ArchivedAt,
	}
}
