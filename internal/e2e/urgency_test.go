package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/archiver"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/scanner"
)

// TestThrottledArchiverSettlesOldestFirst runs an archiver limited to a
// few KiB/s behind a camera that records much faster, so the camera
// overwrites segments the archiver has not reached. The scanner must warn
// before the first loss, and the archiver must settle segments in the
// order the camera recycles them: never archive one while an older one
// waits, so what it loses is always the oldest footage.
func TestThrottledArchiverSettlesOldestFirst(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	s, err := scanner.New(e.ctx, e.js, scanner.Options{
		Cameras:       []scanner.Camera{{ID: cameraID, Path: e.dir, Location: e.location}},
		Logger:        e.logger(),
		RiskThreshold: riskThreshold,
	})
	require.NoError(t, err)

	// One worker, so that settling order is processing order.
	options := e.archiverOptions(e.store)
	options.Concurrency = 1
	options.Clip = archiver.ClipPS
	options.RateLimit = 48 << 10
	// The segment in flight at the stop below finishes rather than being
	// handed back with a retry delay, which would let newer ones pass it.
	options.ShutdownGrace = time.Minute
	throttled := e.startArchiver(options)

	// Three trips round the ring, with pauses that give the archiver time
	// for a few segments only.
	for range 60 {
		require.NoError(t, e.camera.Advance(3*time.Second))
		require.NoError(t, s.ScanOnce(e.ctx))
		time.Sleep(100 * time.Millisecond)
	}
	throttled.stop()

	// Settle the rest at full speed, still with one worker.
	options.RateLimit = 0
	e.startArchiver(options)
	e.waitDrained()

	archived, lost := e.checkEverySegment(e.store)
	t.Logf("%d segments archived and %d lost of %d recorded", archived, lost, len(e.camera.Record()))
	require.Greater(t, archived, 0)
	require.Greater(t, lost, 0, "the camera must outrun the throttled archiver")

	settled := e.settledOrder()
	first := slices.IndexFunc(settled, func(s settledEvent) bool { return s.kind == pipeline.KindLost })
	require.GreaterOrEqual(t, first, 0)
	risk := slices.IndexFunc(settled, func(s settledEvent) bool { return s.kind == pipeline.KindRisk })
	require.GreaterOrEqual(t, risk, 0, "no overwrite-risk event was published")
	require.Less(t, risk, first, "the first overwrite-risk event must come before the first lost segment")

	// Write order of every closed segment, by id.
	written := map[string]int{}
	for i, r := range e.camera.Record() {
		written[recordID(r)] = i
	}
	previous, previousID := -1, ""
	for _, event := range settled {
		if event.kind == pipeline.KindRisk {
			continue
		}
		position, ok := written[event.segment]
		require.True(t, ok, "settled segment %s was never recorded", event.segment)
		require.Greater(t, position, previous, "segment %s (%s) settled after the newer segment %s", event.segment, event.kind, previousID)
		previous, previousID = position, event.segment
	}
}

// riskThreshold is the overwrite-risk threshold of the urgency test, in
// camera time. A 1 MiB hiv file of the simulated camera holds about 32 s,
// so the oldest pending file is flagged once it is the second to be
// recycled, several scans before the camera recycles it.
const riskThreshold = 75 * time.Second

// settledEvent is one archived, lost or risk event, in stream order.
type settledEvent struct {
	kind    pipeline.Kind
	segment string
}

// settledOrder returns the archived, lost and risk events of the events
// stream in the order the stream stored them. Lost events of the scanner
// are left out, because they settle no closed event.
func (e *env) settledOrder() []settledEvent {
	e.t.Helper()
	consumer, err := e.js.OrderedConsumer(e.ctx, pipeline.EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{pipeline.ArchivedSubjects, pipeline.LostSubjects, pipeline.RiskSubjects},
	})
	require.NoError(e.t, err)
	info, err := consumer.Info(e.ctx)
	require.NoError(e.t, err)

	var out []settledEvent
	for range info.NumPending {
		msg, err := consumer.Next(jetstream.FetchMaxWait(5 * time.Second))
		require.NoError(e.t, err)

		var event struct {
			Segment    pipeline.Segment `json:"segment"`
			DetectedBy string           `json:"detected_by"`
		}
		require.NoError(e.t, json.Unmarshal(msg.Data(), &event))
		kind := pipeline.Kind(strings.Split(msg.Subject(), ".")[2])
		if kind == pipeline.KindLost && event.DetectedBy != "archiver" {
			continue
		}
		out = append(out, settledEvent{kind: kind, segment: event.Segment.ID})
	}
	return out
}
