package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/archiver"
	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/scanner"
	"github.com/hikarchive/hikarchive/internal/testserver"
	"github.com/hikarchive/hikarchive/internal/thumbnail"
)

// cameraID contains characters that are unsafe in subjects, object keys
// and file names, so every test also checks their encoding.
const cameraID = "yard/cam 1.*"

// thumbnailWidth is the thumbnail width the tests ask for, in pixels.
const thumbnailWidth = 160

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.Shutdown()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// env is one pipeline under test: JetStream, a bucket on MinIO, and a
// simulated camera in Europe/Berlin.
type env struct {
	t        *testing.T
	ctx      context.Context
	nats     *testserver.NATSServer
	minio    *testserver.MinIOServer
	js       jetstream.JetStream
	store    objectstore.Store
	bucket   string
	camera   *camsim.Camera
	dir      string
	location *time.Location
	logs     *syncBuffer

	// archiverVersion is the version the metadata must name; empty
	// accepts any, for archivers run as separate commands.
	archiverVersion string

	// cameraThumbnails counts checked segments whose thumbnail is the
	// camera's own picture.
	cameraThumbnails int
}

// newEnv starts the servers and the camera; adjust, if given, changes the
// camera's configuration first.
func newEnv(t *testing.T, files int, fileSize int64, adjust ...func(*camsim.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)

	e := &env{t: t, ctx: ctx, logs: &syncBuffer{}, archiverVersion: "e2e-test"}
	e.nats = testserver.NATS(t)
	e.minio = testserver.MinIO(t)
	e.bucket = e.minio.NewBucketName()
	e.store = e.s3Store(e.minio)

	var err error
	e.js, err = jetstream.New(e.nats.Conn)
	require.NoError(t, err)
	require.NoError(t, pipeline.EnsureStreams(ctx, e.js, pipeline.StreamOptions{}))

	e.location, err = time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	e.dir = filepath.Join(t.TempDir(), "camera")
	cameraConfig := camsim.Config{
		Dir: e.dir, Files: files, FileSize: fileSize, SegmentDuration: 6 * time.Second,
		// An event picture 1 s into each segment, as thumbnails prefer.
		Pictures: camsim.PictureConfig{Files: 2, Width: 320, Height: 180},
		// A clock that crosses the end of daylight saving time in Berlin.
		Start: time.Date(2025, 10, 26, 2, 59, 0, 0, time.UTC),
	}
	for _, change := range adjust {
		change(&cameraConfig)
	}
	e.camera, err = camsim.New(cameraConfig)
	require.NoError(t, err)
	t.Cleanup(func() { e.camera.Close() })
	return e
}

func (e *env) s3Store(server *testserver.MinIOServer) objectstore.Store {
	e.t.Helper()
	store, err := objectstore.NewS3(e.ctx, objectstore.S3Options{
		Endpoint: server.Endpoint, Bucket: e.bucket, CreateBucket: true,
		AccessKey: server.AccessKey, SecretKey: server.SecretKey,
		PartSize: objectstore.MinPartSize,
	})
	require.NoError(e.t, err)
	return store
}

func (e *env) logger() zerolog.Logger {
	return zerolog.New(io.MultiWriter(e.logs, zerolog.NewTestWriter(e.t))).Level(zerolog.InfoLevel)
}

func (e *env) scanner() *scanner.Scanner {
	e.t.Helper()
	s, err := scanner.New(e.ctx, e.js, scanner.Options{
		Cameras: []scanner.Camera{{ID: cameraID, Path: e.dir, Location: e.location}},
		Logger:  e.logger(),
	})
	require.NoError(e.t, err)
	return s
}

func (e *env) archiverOptions(store objectstore.Store) archiver.Options {
	return archiver.Options{
		Cameras:     []archiver.Camera{{ID: cameraID, Path: e.dir, Location: e.location}},
		Store:       store,
		Concurrency: 2,
		AckWait:     20 * time.Second,
		RetryMin:    200 * time.Millisecond,
		RetryMax:    time.Second,
		Thumbnail:   thumbnail.Options{FFmpeg: "ffmpeg", Width: thumbnailWidth},
		Version:     "e2e-test",
		Logger:      e.logger(),
	}
}

// running is an archiver started in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func (e *env) startArchiver(opts archiver.Options) *running {
	e.t.Helper()
	a, err := archiver.New(e.ctx, e.js, opts)
	require.NoError(e.t, err)

	ctx, cancel := context.WithCancel(e.ctx)
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	e.t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // a second stop returns at once
}

// record advances the camera in steps and scans after each step.
func (e *env) record(s *scanner.Scanner, steps int, step time.Duration) {
	e.t.Helper()
	for i := 0; i < steps; i++ {
		require.NoError(e.t, e.camera.Advance(step))
		require.NoError(e.t, s.ScanOnce(e.ctx))
	}
}

// waitDrained waits until the archivers have settled every closed event.
func (e *env) waitDrained() {
	e.t.Helper()
	consumer, err := e.js.Consumer(e.ctx, pipeline.SegmentsStream, "archiver")
	require.NoError(e.t, err)

	require.Eventually(e.t, func() bool {
		info, err := consumer.Info(e.ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, 2*time.Minute, 100*time.Millisecond, "the archivers did not settle every closed event")
}

// pending returns how many closed events are not settled yet.
func (e *env) pending() uint64 {
	e.t.Helper()
	consumer, err := e.js.Consumer(e.ctx, pipeline.SegmentsStream, "archiver")
	require.NoError(e.t, err)
	info, err := consumer.Info(e.ctx)
	require.NoError(e.t, err)
	return info.NumPending + uint64(info.NumAckPending)
}

// messages returns the data of every message on subject, in stream order.
func (e *env) messages(stream, subject string) [][]byte {
	e.t.Helper()
	consumer, err := e.js.OrderedConsumer(e.ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	require.NoError(e.t, err)
	info, err := consumer.Info(e.ctx)
	require.NoError(e.t, err)

	var out [][]byte
	for range info.NumPending {
		msg, err := consumer.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(e.t, err)
		out = append(out, msg.Data())
	}
	return out
}

// events decodes every message on subject into a map by segment id, and
// fails the test if a segment has two events.
func events[T any](e *env, stream, subject string, id func(T) string) map[string]T {
	e.t.Helper()
	out := map[string]T{}
	for _, data := range e.messages(stream, subject) {
		var event T
		require.NoError(e.t, json.Unmarshal(data, &event))
		key := id(event)
		_, duplicate := out[key]
		require.False(e.t, duplicate, "two events on %s for segment %s", subject, key)
		out[key] = event
	}
	return out
}

func (e *env) archivedEvents() map[string]pipeline.Archived {
	return events(e, pipeline.EventsStream, pipeline.ArchivedSubjects, func(a pipeline.Archived) string { return a.Segment.ID })
}

func (e *env) lostEvents() map[string]pipeline.Lost {
	return events(e, pipeline.EventsStream, pipeline.LostSubjects, func(l pipeline.Lost) string { return l.Segment.ID })
}

func (e *env) closedEvents() map[string]pipeline.Closed {
	return events(e, pipeline.SegmentsStream, pipeline.ClosedSubjects, func(c pipeline.Closed) string { return c.Segment.ID })
}

func recordID(r camsim.Recorded) string {
	return index.Key{Channel: r.Channel, File: r.File, Slot: uint16(r.Slot), Start: r.Start}.String()
}

// get returns a stored object's bytes.
func (e *env) get(store objectstore.Store, key string) []byte {
	e.t.Helper()
	body, err := store.Get(e.ctx, key)
	require.NoError(e.t, err, "object %s", key)
	defer body.Close()
	data, err := io.ReadAll(body)
	require.NoError(e.t, err)
	return data
}

// checkArchived verifies every object of one archived segment against what
// the camera wrote.
func (e *env) checkArchived(store objectstore.Store, r camsim.Recorded, event pipeline.Archived) {
	e.t.Helper()
	id := recordID(r)

	var metadata archive.Metadata
	require.NoError(e.t, json.Unmarshal(e.get(store, event.Objects.Metadata), &metadata))
	require.Equal(e.t, r.SHA256, metadata.SourceSHA256, "segment %s: the camera wrote other bytes than the archiver read", id)
	require.Equal(e.t, r.Size, metadata.SourceSize)

	clip := e.get(store, event.Objects.Clip)
	digest := sha256.Sum256(clip)
	require.Equal(e.t, event.SHA256, hex.EncodeToString(digest[:]), "clip of %s differs from its digest", id)
	require.Equal(e.t, metadata.SHA256, event.SHA256)
	require.Equal(e.t, int64(len(clip)), event.Size)
	require.Equal(e.t, event.Size, metadata.Size)
	e.checkClip(r, metadata, clip)

	if event.Objects.Original != "" {
		original := e.get(store, event.Objects.Original)
		originalDigest := sha256.Sum256(original)
		require.Equal(e.t, r.SHA256, hex.EncodeToString(originalDigest[:]), "original of %s differs from what the camera wrote", id)
	}
	require.Equal(e.t, archive.MetadataVersion, metadata.Version)
	require.Equal(e.t, id, metadata.Segment.ID)
	require.Equal(e.t, cameraID, metadata.Segment.Camera)
	require.Equal(e.t, index.FlatDatadir, metadata.Segment.Datadir)
	require.Equal(e.t, index.HivName(r.File), metadata.Segment.HivFile)
	require.Equal(e.t, r.Start, metadata.Segment.CameraStart)
	require.Equal(e.t, r.End, metadata.Segment.CameraEnd)
	require.Equal(e.t, r.Start.In(e.location), metadata.Segment.Start)
	require.Equal(e.t, r.End.In(e.location), metadata.Segment.End)
	require.Equal(e.t, "Europe/Berlin", metadata.Segment.TimeZone)
	require.Equal(e.t, int64(r.StartOffset), metadata.Segment.StartOffset)
	require.Equal(e.t, int64(r.EndOffset), metadata.Segment.EndOffset)
	require.InDelta(e.t, r.End.Wall().Sub(r.Start.Wall()).Seconds(), metadata.DurationSeconds, 0.001)
	require.Equal(e.t, uint32(2), metadata.IndexVersion)
	require.NotEmpty(e.t, metadata.ArchiverVersion)
	if e.archiverVersion != "" {
		require.Equal(e.t, e.archiverVersion, metadata.ArchiverVersion)
	}
	require.False(e.t, metadata.ArchivedAt.IsZero())
	require.Equal(e.t, event.Objects, metadata.Objects)
	require.Empty(e.t, metadata.ClockSuspect, "segment %s", id)

	if metadata.Thumbnail.Source == "camera" {
		require.Equal(e.t, "ok", metadata.Thumbnail.Status)
		e.cameraThumbnails++
	} else if _, err := exec.LookPath("ffmpeg"); err != nil {
		require.Equal(e.t, "none", metadata.Thumbnail.Status)
		require.Contains(e.t, metadata.Thumbnail.Reason, "ffmpeg")
		return
	}
	require.Equal(e.t, "ok", metadata.Thumbnail.Status, "thumbnail of %s: %s", id, metadata.Thumbnail.Reason)
	picture, err := jpeg.Decode(bytes.NewReader(e.get(store, event.Objects.Thumbnail)))
	require.NoError(e.t, err, "thumbnail of %s is not a JPEG", id)
	require.Equal(e.t, thumbnailWidth, picture.Bounds().Dx())
}

// checkClip verifies an archived clip against the segment the camera wrote.
func (e *env) checkClip(r camsim.Recorded, metadata archive.Metadata, clip []byte) {
	e.t.Helper()
	id := recordID(r)

	if metadata.ClipFormat == "mpeg-ps" {
		require.True(e.t, strings.HasSuffix(metadata.Objects.Clip, ".ps"))
		digest := sha256.Sum256(clip)
		require.Equal(e.t, r.SHA256, hex.EncodeToString(digest[:]), "clip of %s differs from what the camera wrote", id)
		return
	}

	require.Equal(e.t, "mp4", metadata.ClipFormat)
	require.Empty(e.t, metadata.RemuxError)
	require.True(e.t, strings.HasSuffix(metadata.Objects.Clip, ".mp4"))
	require.Equal(e.t, "ftyp", string(clip[4:8]), "clip of %s is not an MP4", id)
	require.NotNil(e.t, metadata.Stream)
	require.Equal(e.t, "h264", metadata.Stream.VideoCodec)
	require.Equal(e.t, 320, metadata.Stream.Width)
	require.Equal(e.t, 180, metadata.Stream.Height)
	require.Equal(e.t, r.Frames, metadata.Stream.Frames, "frames of %s", id)
	require.InDelta(e.t, r.End.Wall().Sub(r.Start.Wall()).Seconds(), metadata.Stream.DurationSeconds, 0.041, "duration of %s", id)
}

// checkEverySegment verifies that each closed segment the camera wrote was
// archived intact or reported lost after the camera overwrote it, and
// returns how many of each.
func (e *env) checkEverySegment(store objectstore.Store) (archivedCount, lostCount int) {
	e.t.Helper()
	archived := e.archivedEvents()
	lost := e.lostEvents()

	for _, r := range e.camera.Record() {
		if r.Open {
			continue
		}
		id := recordID(r)
		if event, ok := archived[id]; ok {
			e.checkArchived(store, r, event)
			archivedCount++
			continue
		}
		event, ok := lost[id]
		require.True(e.t, ok, "segment %s was neither archived nor reported lost", id)
		require.True(e.t, r.Overwritten, "segment %s reported lost (%s: %s) but the camera never overwrote it", id, event.Reason, event.Detail)
		require.Contains(e.t, []string{pipeline.ReasonOverwritten, pipeline.ReasonOverwrittenDuringCopy, pipeline.ReasonNotProgramStream}, event.Reason)
		lostCount++
	}
	require.Equal(e.t, len(archived), archivedCount, "archived events for segments the camera never closed")
	return archivedCount, lostCount
}

// checkNoOrphans verifies that every clip in the bucket has its metadata:
// a copy that could not be trusted must have been removed.
func (e *env) checkNoOrphans(store objectstore.Store) {
	e.t.Helper()
	objects := map[string]bool{}
	require.NoError(e.t, store.List(e.ctx, "", func(info objectstore.ObjectInfo) error {
		objects[info.Key] = true
		return nil
	}))
	for key := range objects {
		if filepath.Ext(key) == ".ps" {
			require.True(e.t, objects[key[:len(key)-3]+".json"], "clip %s has no metadata", key)
		}
	}
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
