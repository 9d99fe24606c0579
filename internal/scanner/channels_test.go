package scanner_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/scanner"
	"github.com/hikarchive/hikarchive/internal/testserver"
)

// newHarnessWith starts JetStream and a simulated camera with cfg, whose
// Dir is set here.
func newHarnessWith(t *testing.T, cfg camsim.Config) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	server := testserver.NATS(t)
	js, err := jetstream.New(server.Conn)
	require.NoError(t, err)
	require.NoError(t, pipeline.EnsureStreams(ctx, js, pipeline.StreamOptions{}))

	cfg.Dir = filepath.Join(t.TempDir(), "camera")
	camera, err := camsim.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { camera.Close() })

	return &harness{t: t, ctx: ctx, js: js, camera: camera, dir: cfg.Dir}
}

// closedEvents returns all closed events in the stream, in order.
func (h *harness) closedEvents() []pipeline.Closed {
	h.t.Helper()
	var events []pipeline.Closed
	for _, data := range h.messages(pipeline.SegmentsStream, pipeline.ClosedSubjects) {
		var event pipeline.Closed
		require.NoError(h.t, json.Unmarshal(data, &event))
		events = append(events, event)
	}
	return events
}

// riskEvents returns all risk events in the stream, in order.
func (h *harness) riskEvents() []pipeline.Risk {
	h.t.Helper()
	var events []pipeline.Risk
	for _, data := range h.messages(pipeline.EventsStream, pipeline.RiskSubjects) {
		var event pipeline.Risk
		require.NoError(h.t, json.Unmarshal(data, &event))
		events = append(events, event)
	}
	return events
}

func TestScanChannelsHaveOwnCursors(t *testing.T) {
	h := newHarnessWith(t, camsim.Config{Files: 8, FileSize: 512 << 10, SegmentDuration: 4 * time.Second, Channels: 3})
	s := h.scanner(scanner.Options{})
	for i := 0; i < 20; i++ {
		h.advance(7 * time.Second)
		require.NoError(t, s.ScanOnce(h.ctx))
	}

	records := h.camera.Record()
	require.Greater(t, countWraps(records), 2, "the camera must have gone round its ring several times")
	for _, channel := range []uint16{1, 2, 3} {
		keep := func(r camsim.Recorded) bool { return r.Channel == channel }
		var got []string
		for _, event := range h.closedEvents() {
			if event.Segment.Channel == channel {
				got = append(got, event.Segment.ID)
			}
		}
		require.Equal(t, recordedIDs(records, keep), got, "channel %d", channel)
	}
	require.Empty(t, h.lostEvents())

	kv, err := h.js.KeyValue(h.ctx, pipeline.CursorBucket)
	require.NoError(t, err)
	for _, key := range []string{"cam=2E1.sd", "cam=2E1.sd.ch2", "cam=2E1.sd.ch3"} {
		_, err := kv.Get(h.ctx, key)
		require.NoError(t, err, "cursor %s", key)
	}
	require.Equal(t, "cam=2E1.sd", scanner.CursorKey("cam.1", index.FlatDatadir, 1))

	// A new scanner process resumes every channel from its own cursor.
	published := len(h.closedEvents())
	restarted := h.scanner(scanner.Options{})
	require.NoError(t, restarted.ScanOnce(h.ctx))
	require.Len(t, h.closedEvents(), published)
}

func TestScanAdoptsOldCursorOfOtherChannel(t *testing.T) {
	// A one-channel recorder on channel 5, scanned by a version that kept
	// one cursor per datadir under the key without a channel.
	h := newHarnessWith(t, camsim.Config{Files: 4, FileSize: 512 << 10, SegmentDuration: 4 * time.Second, Channel: 5})
	h.advance(30 * time.Second)

	var reader index.Reader
	snapshot, err := reader.ReadDatadir(h.dir)
	require.NoError(t, err)
	data, err := json.Marshal(index.CursorOf(snapshot))
	require.NoError(t, err)
	kv, err := h.js.KeyValue(h.ctx, pipeline.CursorBucket)
	require.NoError(t, err)
	_, err = kv.Create(h.ctx, pipeline.CursorKey("cam.1", index.FlatDatadir), data)
	require.NoError(t, err)

	h.advance(12 * time.Second)
	s := h.scanner(scanner.Options{})
	require.NoError(t, s.ScanOnce(h.ctx))

	reported := map[string]bool{}
	for _, seg := range snapshot.Closed {
		reported[seg.Key().String()] = true
	}
	var want []string
	for _, id := range recordedIDs(h.camera.Record(), all) {
		if !reported[id] {
			want = append(want, id)
		}
	}
	require.NotEmpty(t, want)
	require.Equal(t, want, h.closedIDs(), "only segments after the old cursor are published")
	_, err = kv.Get(h.ctx, "cam=2E1.sd.ch5")
	require.NoError(t, err, "the channel's own cursor is created")
}

func TestScanRiskWhenNothingArchives(t *testing.T) {
	h := newHarnessWith(t, camsim.Config{Files: 6, FileSize: 512 << 10, SegmentDuration: 4 * time.Second, Channels: 2})
	s := h.scanner(scanner.Options{RiskThreshold: 10 * time.Minute})

	// The whole ring holds under two minutes, so with nothing archived the
	// oldest published segment is always within the threshold.
	h.advance(30 * time.Second)
	require.NoError(t, s.ScanOnce(h.ctx))

	closed := h.closedEvents()
	risks := h.riskEvents()
	require.Len(t, risks, 2, "one risk event per channel")
	for _, risk := range risks {
		var first pipeline.Closed
		count := 0
		for _, event := range closed {
			if event.Segment.Channel == risk.Segment.Channel {
				if count == 0 {
					first = event
				}
				count++
			}
		}
		require.Equal(t, first.Segment.ID, risk.Segment.ID, "channel %d: the oldest published segment", risk.Segment.Channel)
		require.Equal(t, count, risk.Pending)
		require.Positive(t, risk.HeadroomSeconds)
		require.Less(t, risk.HeadroomSeconds, 600.0)
		require.Equal(t, 600.0, risk.ThresholdSeconds)
		require.Positive(t, risk.WriteBytesPerSecond)
		require.Positive(t, risk.BytesUntilRecycle)
	}

	// An archiver catches up with everything published so far.
	archivedIDs := map[string]bool{}
	for _, event := range closed {
		archivedIDs[event.Segment.ID] = true
		archived := pipeline.Archived{Version: pipeline.SchemaVersion, Segment: event.Segment, ArchivedAt: time.Now().UTC()}
		subject := pipeline.Subject(pipeline.KindArchived, event.Segment.Camera, event.Segment.Datadir)
		_, err := pipeline.Publish(h.ctx, h.js, subject, pipeline.MsgID(pipeline.KindArchived, event.Segment.Camera, event.Segment.Datadir, event.Segment.ID), archived)
		require.NoError(t, err)
	}
	require.NoError(t, s.ScanOnce(h.ctx))
	require.Len(t, h.riskEvents(), 2, "nothing pending: no new risk event")

	// The camera records on; the new segments are pending and at risk.
	h.advance(9 * time.Second)
	require.NoError(t, s.ScanOnce(h.ctx))
	risks = h.riskEvents()
	require.Len(t, risks, 4)
	for _, risk := range risks[2:] {
		require.False(t, archivedIDs[risk.Segment.ID], "archived segment %s reported at risk", risk.Segment.ID)
		require.Less(t, risk.Pending, 4, "channel %d: only the segments since the archiver caught up", risk.Segment.Channel)
	}
}

func TestScanRiskOffByDefault(t *testing.T) {
	h := newHarness(t)
	s := h.scanner(scanner.Options{})
	h.advance(60 * time.Second)
	require.NoError(t, s.ScanOnce(h.ctx))

	require.NotEmpty(t, h.closedIDs())
	require.Empty(t, h.riskEvents())
}
