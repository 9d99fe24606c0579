package scanner_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/scanner"
	"github.com/hikarchive/hikarchive/internal/testserver"
)

type harness struct {
	t      *testing.T
	ctx    context.Context
	js     jetstream.JetStream
	camera *camsim.Camera
	dir    string
}

// newHarness starts JetStream and a simulated camera with a small ring:
// 4 hiv files of 512 KiB, about five 4-second segments per file.
func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	server := testserver.NATS(t)
	js, err := jetstream.New(server.Conn)
	require.NoError(t, err)
	require.NoError(t, pipeline.EnsureStreams(ctx, js, pipeline.StreamOptions{}))

	dir := filepath.Join(t.TempDir(), "camera")
	camera, err := camsim.New(camsim.Config{Dir: dir, Files: 4, FileSize: 512 << 10, SegmentDuration: 4 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { camera.Close() })

	return &harness{t: t, ctx: ctx, js: js, camera: camera, dir: dir}
}

func (h *harness) scanner(opts scanner.Options) *scanner.Scanner {
	h.t.Helper()
	opts.Cameras = []scanner.Camera{{ID: "cam.1", Path: h.dir, Location: time.UTC}}
	opts.Logger = zerolog.New(zerolog.NewTestWriter(h.t)).Level(zerolog.WarnLevel)
	s, err := scanner.New(h.ctx, h.js, opts)
	require.NoError(h.t, err)
	return s
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	require.NoError(h.t, h.camera.Advance(d))
}

// closedIDs returns the ids of all closed events in the stream, in order.
func (h *harness) closedIDs() []string {
	h.t.Helper()
	var ids []string
	for _, data := range h.messages(pipeline.SegmentsStream, pipeline.ClosedSubjects) {
		var event pipeline.Closed
		require.NoError(h.t, json.Unmarshal(data, &event))
		require.Equal(h.t, pipeline.SchemaVersion, event.Version)
		ids = append(ids, event.Segment.ID)
	}
	return ids
}

// lostEvents returns all lost events in the stream, in order.
func (h *harness) lostEvents() []pipeline.Lost {
	h.t.Helper()
	var events []pipeline.Lost
	for _, data := range h.messages(pipeline.EventsStream, pipeline.LostSubjects) {
		var event pipeline.Lost
		require.NoError(h.t, json.Unmarshal(data, &event))
		events = append(events, event)
	}
	return events
}

func (h *harness) messages(stream, subject string) [][]byte {
	h.t.Helper()
	consumer, err := h.js.OrderedConsumer(h.ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	require.NoError(h.t, err)
	info, err := consumer.Info(h.ctx)
	require.NoError(h.t, err)

	var out [][]byte
	for range info.NumPending {
		msg, err := consumer.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(h.t, err)
		out = append(out, msg.Data())
	}
	return out
}

// recordedIDs returns the ids of the camera's closed segments, in order.
func recordedIDs(records []camsim.Recorded, keep func(camsim.Recorded) bool) []string {
	var ids []string
	for _, r := range records {
		if r.Open || !keep(r) {
			continue
		}
		key := index.Key{Channel: r.Channel, File: r.File, Slot: uint16(r.Slot), Start: r.Start}
		ids = append(ids, key.String())
	}
	return ids
}

func all(camsim.Recorded) bool { return true }

func TestScanPublishesEveryClosedSegmentOnce(t *testing.T) {
	h := newHarness(t)
	s := h.scanner(scanner.Options{})

	// Several ring wraps, scanned often enough that no file is recycled
	// between two scans.
	for i := 0; i < 40; i++ {
		h.advance(7 * time.Second)
		require.NoError(t, s.ScanOnce(h.ctx))
	}

	records := h.camera.Record()
	require.Greater(t, countWraps(records), 2, "the camera must have gone round its ring several times")
	require.Equal(t, recordedIDs(records, all), h.closedIDs())
	require.Empty(t, h.lostEvents())
}

func TestScanRestartResumesFromCursor(t *testing.T) {
	h := newHarness(t)
	first := h.scanner(scanner.Options{})
	h.advance(30 * time.Second)
	require.NoError(t, first.ScanOnce(h.ctx))

	// A new scanner process finds the cursor in the key-value bucket.
	second := h.scanner(scanner.Options{})
	h.advance(30 * time.Second)
	require.NoError(t, second.ScanOnce(h.ctx))
	require.NoError(t, second.ScanOnce(h.ctx))

	require.Equal(t, recordedIDs(h.camera.Record(), all), h.closedIDs())
}

func TestScanBackfillNew(t *testing.T) {
	h := newHarness(t)
	h.advance(30 * time.Second)
	before := len(recordedIDs(h.camera.Record(), all))

	s := h.scanner(scanner.Options{Backfill: scanner.BackfillNew})
	require.NoError(t, s.ScanOnce(h.ctx))
	require.Empty(t, h.closedIDs())

	h.advance(20 * time.Second)
	require.NoError(t, s.ScanOnce(h.ctx))

	require.Equal(t, recordedIDs(h.camera.Record(), all)[before:], h.closedIDs())
}

func TestScanBackfillSince(t *testing.T) {
	h := newHarness(t)
	h.advance(40 * time.Second)
	since := camsim.DefaultStart.Add(20 * time.Second)

	s := h.scanner(scanner.Options{Backfill: scanner.BackfillSince, Since: since})
	require.NoError(t, s.ScanOnce(h.ctx))

	want := recordedIDs(h.camera.Record(), func(r camsim.Recorded) bool { return !r.Start.Wall().Before(since) })
	require.NotEmpty(t, want)
	require.Equal(t, want, h.closedIDs())
}

func TestScanRingPassedReportsLost(t *testing.T) {
	h := newHarness(t)
	s := h.scanner(scanner.Options{})
	h.advance(10 * time.Second)
	require.NoError(t, s.ScanOnce(h.ctx))
	open := h.camera.Open()
	require.NotNil(t, open)

	// The camera goes round its whole ring before the next scan.
	h.advance(3 * time.Minute)
	require.NoError(t, s.ScanOnce(h.ctx))

	lost := h.lostEvents()
	require.Len(t, lost, 2)
	require.Equal(t, pipeline.ReasonOpenOverwritten, lost[0].Reason)
	require.Equal(t, open.Start.Seconds(), lost[0].Segment.CameraStart.Seconds())
	require.Equal(t, pipeline.ReasonRingPassed, lost[1].Reason)
	require.NotNil(t, lost[1].GapBefore)
	require.Equal(t, "scanner", lost[1].DetectedBy)
}

func TestScanCorruptIndexPublishesNothing(t *testing.T) {
	h := newHarness(t)
	h.advance(30 * time.Second)
	for _, name := range []string{index.PrimaryName, index.BackupName} {
		path := filepath.Join(h.dir, name)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		// A torn write: the header of a newer write over the slots of an
		// older one, so the current-file record disagrees with the slots.
		data[24+24+8] ^= 0x55
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}

	s := h.scanner(scanner.Options{})
	err := s.ScanOnce(h.ctx)

	require.ErrorIs(t, err, index.ErrFormat)
	require.ErrorContains(t, err, "cam.1")
	require.ErrorContains(t, err, filepath.Join(h.dir, index.PrimaryName))
	require.Empty(t, h.closedIDs())
}

func TestScanMissingStorage(t *testing.T) {
	h := newHarness(t)
	s, err := scanner.New(h.ctx, h.js, scanner.Options{
		Cameras: []scanner.Camera{{ID: "gone", Path: filepath.Join(t.TempDir(), "unmounted"), Location: time.UTC}},
		Logger:  zerolog.Nop(),
	})
	require.NoError(t, err)

	err = s.ScanOnce(h.ctx)

	require.ErrorContains(t, err, "camera gone")
	require.ErrorContains(t, err, "does not exist: mount the SD card or NAS share there")
}

// countWraps returns how many times the camera recycled a file.
func countWraps(records []camsim.Recorded) int {
	wraps := 0
	for _, r := range records {
		if r.Overwritten {
			wraps++
		}
	}
	return wraps
}
