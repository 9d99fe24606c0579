package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/pipeline"
)

// settledBatch bounds the archived and lost events read per fetch.
const settledBatch = 256

// datadirID names one camera's datadir in the risk tracker.
type datadirID struct {
	camera  string
	datadir string
}

// riskTracker keeps the segments this scanner published that no archived or
// lost event has settled yet, per camera and datadir.
//
// The scanner cannot see the store, so it follows the archived and lost
// events of its cameras with an ordered consumer that starts when the
// scanner does. Segments published by an earlier scanner process are not
// tracked: after a restart, risk warnings cover only what this process
// published.
type riskTracker struct {
	settled jetstream.Consumer
	pending map[datadirID]map[index.Key]bool
}

func newRiskTracker(ctx context.Context, js jetstream.JetStream, cameras []Camera, since time.Time) (*riskTracker, error) {
	var filters []string
	for _, camera := range cameras {
		token := pipeline.SubjectToken(camera.ID)
		filters = append(filters,
			"hikarchive.segment."+string(pipeline.KindArchived)+"."+token+".>",
			"hikarchive.segment."+string(pipeline.KindLost)+"."+token+".>")
	}
	if len(filters) == 0 {
		return &riskTracker{pending: map[datadirID]map[index.Key]bool{}}, nil
	}

	// Start at the scanner's start time rather than at new messages, so
	// that an event published between New and the first fetch is read
	// whenever the server-side consumer comes into being.
	consumer, err := js.OrderedConsumer(ctx, pipeline.EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: filters,
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &since,
	})
	if err != nil {
		return nil, fmt.Errorf("follow archived and lost events on stream %s for overwrite-risk warnings: %w (run pipeline.EnsureStreams first)", pipeline.EventsStream, err)
	}
	return &riskTracker{settled: consumer, pending: map[datadirID]map[index.Key]bool{}}, nil
}

// published records a segment the scanner published as closed.
func (r *riskTracker) published(camera, datadir string, key index.Key) {
	id := datadirID{camera: camera, datadir: datadir}
	if r.pending[id] == nil {
		r.pending[id] = make(map[index.Key]bool)
	}
	r.pending[id][key] = true
}

// drain reads every archived and lost event available now and removes the
// segments they settle from the pending set.
func (r *riskTracker) drain() error {
	if r.settled == nil {
		return nil
	}
	for {
		batch, err := r.settled.FetchNoWait(settledBatch)
		if err != nil {
			return fmt.Errorf("read archived and lost events: %w", err)
		}

		count := 0
		for msg := range batch.Messages() {
			count++
			r.settle(msg.Data())
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("read archived and lost events: %w", err)
		}
		if count == 0 {
			return nil
		}
	}
}

// settle removes the segment of one archived or lost event from the pending
// set. Both kinds carry it under "segment", and other documents are ignored.
func (r *riskTracker) settle(data []byte) {
	var event struct {
		Segment *pipeline.Segment `json:"segment"`
	}
	if err := json.Unmarshal(data, &event); err != nil || event.Segment == nil {
		return
	}

	id := datadirID{camera: event.Segment.Camera, datadir: event.Segment.Datadir}
	delete(r.pending[id], event.Segment.Key())
}

// checkRisk warns about each channel of a datadir whose oldest pending
// segment the camera will recycle within the threshold.
func (s *Scanner) checkRisk(ctx context.Context, camera Camera, datadir index.Datadir, snapshot *index.Snapshot, log zerolog.Logger) error {
	if err := s.risk.drain(); err != nil {
		log.Warn().Err(err).Msg("overwrite-risk check skipped: archived and lost events unreadable; retrying at the next scan")
		return err
	}

	pending := s.risk.pending[datadirID{camera: camera.ID, datadir: datadir.Name}]
	forgetOverwritten(pending, snapshot)

	var errs []error
	for _, view := range snapshot.ChannelViews() {
		oldest, count := oldestPending(view, pending)
		if count == 0 {
			continue
		}

		hivSize := hivFileSize(filepath.Join(datadir.Path, oldest.HivName()))
		headroom, ok := snapshot.HeadroomFor(oldest, hivSize)
		if ok {
			s.opts.Metrics.Headroom(camera.ID, datadir.Name, headroom.Time)
		}
		if !ok || headroom.Time >= s.opts.RiskThreshold {
			continue
		}
		if err := s.publishRisk(ctx, camera, datadir.Name, oldest, count, headroom, log); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// forgetOverwritten drops pending segments the index no longer lists: the
// camera overwrote them, and the archiver reports them lost.
func forgetOverwritten(pending map[index.Key]bool, snapshot *index.Snapshot) {
	if len(pending) == 0 {
		return
	}
	live := make(map[index.Key]bool, len(snapshot.Closed))
	for _, seg := range snapshot.Closed {
		live[seg.Key()] = true
	}
	for key := range pending {
		if !live[key] {
			delete(pending, key)
		}
	}
}

// oldestPending returns the oldest pending segment of a channel view and
// how many of its segments are pending.
func oldestPending(view *index.Snapshot, pending map[index.Key]bool) (index.Segment, int) {
	var oldest index.Segment
	count := 0
	for _, seg := range view.Closed {
		if !pending[seg.Key()] {
			continue
		}
		if count == 0 {
			oldest = seg
		}
		count++
	}
	return oldest, count
}

// hivFileSize returns the size of a hiv file, or index.HivFileSize when it
// cannot be read: the estimate then uses the size seen on every camera.
func hivFileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil || info.Size() <= 0 {
		return index.HivFileSize
	}
	return info.Size()
}

func (s *Scanner) publishRisk(ctx context.Context, camera Camera, datadir string, oldest index.Segment, pending int, headroom index.Headroom, log zerolog.Logger) error {
	event := pipeline.Risk{
		Version:             pipeline.SchemaVersion,
		Segment:             pipeline.NewSegment(camera.ID, datadir, camera.Location, oldest),
		Pending:             pending,
		HeadroomSeconds:     headroom.Time.Seconds(),
		ThresholdSeconds:    s.opts.RiskThreshold.Seconds(),
		WriteBytesPerSecond: headroom.BytesPerSecond,
		BytesUntilRecycle:   headroom.BytesUntilRecycle,
		DetectedAt:          s.opts.Now().UTC(),
	}

	log.Warn().Uint16("channel", oldest.Channel).Str("segment", event.Segment.ID).Str("hiv_file", event.Segment.HivFile).
		Dur("headroom", headroom.Time).Dur("threshold", s.opts.RiskThreshold).Int("pending", pending).
		Msg("the camera will soon overwrite segments that are not archived yet; check that the archivers keep up")

	subject := pipeline.Subject(pipeline.KindRisk, camera.ID, datadir)
	msgID := pipeline.MsgID(pipeline.KindRisk, camera.ID, datadir, event.Segment.ID)
	if _, err := pipeline.Publish(ctx, s.js, subject, msgID, event); err != nil {
		log.Error().Err(err).Str("segment", event.Segment.ID).Msg("publish of overwrite-risk event failed; retrying at the next scan")
		return err
	}
	return nil
}
