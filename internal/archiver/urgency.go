package archiver

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/pipeline"
)

// Urgency ordering.
//
// All archivers share one durable pull consumer, which hands out closed
// events in stream order, and stream order is the order the scanner saw the
// segments close. That is the order the camera recycles them on one camera,
// but not across cameras with rings of different lengths, nor for events
// that came back after a retry. So a worker that falls behind pulls a batch
// of up to fetchBatch events that are available at once, ranks them by how
// soon the camera overwrites each (ranked), keeps the most urgent and naks
// the others with no delay. JetStream redelivers NAKed events before new
// ones, so the next pull, by any worker, sees them again together with the
// next events in stream order: each worker picks the most urgent of the
// oldest fetchBatch unsettled events.
//
// Guarantees are unchanged: a nak is not an ack, so a ranked-out event
// stays pending, and a worker holds nothing it does not work on, so no
// ack wait runs out on a waiting event.
//
// Limits: the choice covers only the events in one batch, not the whole
// backlog; two workers that pull at the same moment rank disjoint batches;
// and every nak counts as a delivery, so the retry delay after a real
// failure may start above RetryMin (it is still capped by RetryMax).

// fetchBatch is how many events a worker ranks at once.
const fetchBatch = 8

// candidate is one fetched event with its urgency.
type candidate struct {
	msg      jetstream.Msg
	sequence uint64 // stream sequence, the tie-breaker

	// quick marks an event that settles without a copy: undecodable, of an
	// unknown camera, or of a segment the index no longer lists. Those go
	// first because they cost nothing and free their slot.
	quick bool
	// headroom estimates the time until the camera recycles the segment's
	// hiv file; known is false when the index gave no write rate.
	headroom time.Duration
	known    bool
	// ring is the segment's distance from the file recycled next, as a
	// fraction of the ring (0 is recycled next), for events without a
	// headroom estimate.
	ring float64
}

// rank orders msgs from the most urgent to the least. It reads the index of
// each camera datadir in the batch once.
func (w *worker) rank(msgs []jetstream.Msg) []jetstream.Msg {
	snapshots := map[string]*index.Snapshot{}
	candidates := make([]candidate, 0, len(msgs))
	for _, msg := range msgs {
		candidates = append(candidates, w.candidate(msg, snapshots))
	}

	slices.SortStableFunc(candidates, compareUrgency)

	ranked := make([]jetstream.Msg, 0, len(candidates))
	for _, c := range candidates {
		ranked = append(ranked, c.msg)
	}
	return ranked
}

// compareUrgency sorts quick events first, then by headroom, then by ring
// position, then by stream sequence.
func compareUrgency(a, b candidate) int {
	switch {
	case a.quick != b.quick:
		return boolOrder(a.quick)
	case a.quick:
	case a.known != b.known:
		return boolOrder(a.known)
	case a.known && a.headroom != b.headroom:
		return compareOrdered(a.headroom, b.headroom)
	case !a.known && a.ring != b.ring:
		return compareOrdered(a.ring, b.ring)
	}
	return compareOrdered(a.sequence, b.sequence)
}

// boolOrder returns -1 when first is true, so true sorts before false.
func boolOrder(first bool) int {
	if first {
		return -1
	}
	return 1
}

func compareOrdered[T int64 | uint64 | float64 | time.Duration](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// candidate works out the urgency of one event. snapshots caches index
// reads by datadir path; a failed read is cached as nil.
func (w *worker) candidate(msg jetstream.Msg, snapshots map[string]*index.Snapshot) candidate {
	c := candidate{msg: msg, sequence: math.MaxUint64}
	if meta, err := msg.Metadata(); err == nil {
		c.sequence = meta.Sequence.Stream
	}

	var event pipeline.Closed
	if err := json.Unmarshal(msg.Data(), &event); err != nil {
		c.quick = true
		return c
	}
	camera, ok := w.archiver.cameras[event.Segment.Camera]
	if !ok || !datadirName.MatchString(event.Segment.Datadir) {
		c.quick = true
		return c
	}

	dir := camera.Path
	if event.Segment.Datadir != index.FlatDatadir {
		dir = filepath.Join(camera.Path, event.Segment.Datadir)
	}
	snapshot, read := snapshots[dir]
	if !read {
		var err error
		snapshot, err = w.reader.ReadDatadirAny(dir)
		if err != nil {
			// The archive step reads it again and retries; rank the
			// event by stream order meanwhile.
			w.log.Debug().Err(err).Str("datadir", dir).Msg("index unreadable while ranking segments by urgency")
			snapshot = nil
		}
		snapshots[dir] = snapshot
	}
	if snapshot == nil || snapshot.Files <= 0 {
		c.ring = 1
		return c
	}

	live, found := snapshot.Find(event.Segment.Key())
	if !found || live.Open {
		c.quick = true
		return c
	}

	c.ring = float64((int(live.File)-int(snapshot.OldestFile)+snapshot.Files)%snapshot.Files) / float64(snapshot.Files)
	headroom, ok := snapshot.HeadroomFor(live, hivFileSize(filepath.Join(dir, live.HivName())))
	c.headroom, c.known = headroom.Time, ok
	return c
}

// hivFileSize returns the size of a hiv file, or index.HivFileSize when it
// cannot be read.
func hivFileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil || info.Size() <= 0 {
		return index.HivFileSize
	}
	return info.Size()
}
