// Package archiver consumes closed-segment events and copies each segment
// out of its hiv file into the object store before the camera overwrites it:
// the clip, a thumbnail, and a metadata document written last.
//
// Every step can be repeated: object keys are deterministic, a segment whose
// metadata is already stored is not uploaded again, and events carry message
// ids so a republished event is dropped by JetStream. A message is acked only
// once its segment is archived or reported lost. On any other failure it is
// handed back with a growing delay, so nothing is lost to a store or NATS
// outage.
package archiver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/hikarchive/hikarchive/internal/metrics"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/thumbnail"
)

// Camera is one camera whose segments this archiver copies.
type Camera struct {
	ID       string
	Path     string         // storage root: SD-card folder or NAS share, read-only
	Location *time.Location // the camera's time zone
}

// Options configures an Archiver.
type Options struct {
	Cameras []Camera
	Store   objectstore.Store
	Prefix  string // object key prefix

	Consumer    string        // durable consumer name shared by all archivers
	Concurrency int           // segments archived at once by this process
	AckWait     time.Duration // JetStream ack wait; in-progress acks extend it during long uploads
	RetryMin    time.Duration // first delay before a failed segment is tried again
	RetryMax    time.Duration // cap of the doubling delay
	// ShutdownGrace is how long segments in flight may take to finish once
	// Run's context ends; after it they are abandoned and redelivered.
	ShutdownGrace time.Duration
	// RateLimit caps clip upload speed in bytes per second, for cameras on
	// a thin uplink; zero means no limit.
	RateLimit int64

	// Clip is ClipMP4 (default) or ClipPS. KeepOriginal also stores the
	// original Program Stream beside an MP4 clip.
	Clip         string
	KeepOriginal bool

	// Lock, when set, locks the objects of each archived segment with S3
	// Object Lock until its retention rule expires; New checks that the
	// bucket has Object Lock enabled.
	Lock *Lock

	Thumbnail thumbnail.Options // Width 0 disables thumbnails
	Metrics   *metrics.Metrics  // nil records nothing
	Version   string            // archiver version written into metadata
	Logger    zerolog.Logger
	Now       func() time.Time // nil means time.Now
}

// Archiver runs workers that archive closed segments.
type Archiver struct {
	js       jetstream.JetStream
	consumer jetstream.Consumer
	opts     Options
	cameras  map[string]Camera
	limiter  *rate.Limiter
	log      zerolog.Logger
}

func (o *Options) setDefaults() {
	if o.Consumer == "" {
		o.Consumer = "archiver"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.AckWait <= 0 {
		o.AckWait = 2 * time.Minute
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 2 * time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(time.Minute, o.RetryMin)
	}
	if o.ShutdownGrace < 0 {
		o.ShutdownGrace = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "devel"
	}
	if o.Clip == "" {
		o.Clip = ClipMP4
	}
}

// New creates or updates the durable consumer and returns an archiver. The
// streams must exist (pipeline.EnsureStreams).
func New(ctx context.Context, js jetstream.JetStream, opts Options) (*Archiver, error) {
	opts.setDefaults()
	if opts.Store == nil {
		return nil, errors.New("archiver: no object store configured")
	}
	if opts.Clip != ClipMP4 && opts.Clip != ClipPS {
		return nil, fmt.Errorf("archiver: unknown clip format %q: use %q or %q", opts.Clip, ClipMP4, ClipPS)
	}

	if err := checkLocking(ctx, opts.Store, opts.Lock); err != nil {
		return nil, err
	}

	cameras := make(map[string]Camera, len(opts.Cameras))
	for _, c := range opts.Cameras {
		cameras[c.ID] = c
	}

	consumer, err := js.CreateOrUpdateConsumer(ctx, pipeline.SegmentsStream, jetstream.ConsumerConfig{
		Durable:       opts.Consumer,
		Description:   "hikarchive archivers",
		FilterSubject: pipeline.ClosedSubjects,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       opts.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: max(64, opts.Concurrency*fetchBatch*2),
	})
	if err != nil {
		return nil, fmt.Errorf("create or update consumer %s on stream %s: %w", opts.Consumer, pipeline.SegmentsStream, err)
	}

	a := &Archiver{
		js:       js,
		consumer: consumer,
		opts:     opts,
		cameras:  cameras,
		log:      opts.Logger.With().Str("component", "archiver").Logger(),
	}
	if opts.RateLimit > 0 {
		a.limiter = rate.NewLimiter(rate.Limit(opts.RateLimit), int(min(opts.RateLimit, 1<<20)))
	}
	return a, nil
}

// Run archives segments until ctx ends, then lets segments in flight finish
// for up to ShutdownGrace and returns.
func (a *Archiver) Run(ctx context.Context) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	go func() {
		<-ctx.Done()
		timer := time.NewTimer(a.opts.ShutdownGrace)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancelWork()
		case <-work.Done():
		}
	}()

	a.log.Info().Str("consumer", a.opts.Consumer).Int("concurrency", a.opts.Concurrency).
		Str("store", a.opts.Store.String()).Msg("archiver started")

	var wg sync.WaitGroup
	if a.opts.Metrics != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.reportPending(ctx)
		}()
	}
	for i := 0; i < a.opts.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.work(ctx, work, i)
		}()
	}
	wg.Wait()

	a.log.Info().Msg("archiver stopped")
	return nil
}

// work takes the most urgent of the events available while ctx lives (see
// Urgency ordering in urgency.go), and processes each under the work
// context, which outlives ctx by the shutdown grace.
func (a *Archiver) work(ctx, work context.Context, id int) {
	log := a.log.With().Int("worker", id).Logger()
	w := &worker{archiver: a, log: log}

	failures := 0
	for ctx.Err() == nil {
		msg, err := w.next(ctx)
		switch {
		case err == nil:
			failures = 0
			w.handle(work, msg)
		case ctx.Err() != nil:
			return
		case errors.Is(err, jetstream.ErrNoMessages), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
			// An idle stream: pull again.
			continue
		default:
			failures++
			delay := a.backoff(uint64(failures))
			log.Warn().Err(err).Str("retry_in", delay.String()).Msg("fetching the next segment event failed; retrying")
			sleep(ctx, delay)
		}
	}
}

// pendingInterval is how often the consumer's backlog is sampled for the
// pending-events gauge.
const pendingInterval = 10 * time.Second

// reportPending samples the consumer's unsettled events into the metrics
// until ctx ends.
func (a *Archiver) reportPending(ctx context.Context) {
	ticker := time.NewTicker(pendingInterval)
	defer ticker.Stop()
	for {
		info, err := a.consumer.Info(ctx)
		if err == nil {
			a.opts.Metrics.Pending(a.opts.Consumer, info.NumPending+uint64(info.NumAckPending))
		} else if ctx.Err() == nil {
			a.log.Debug().Err(err).Msg("reading consumer info for metrics failed")
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// next returns the most urgent of the events available now, and naks the
// others of its batch with no delay so that any worker can take them. On
// an idle stream it waits up to fetchWait for one event. The wait is
// bounded, so a worker notices a closed context soon.
func (w *worker) next(ctx context.Context) (jetstream.Msg, error) {
	batch, err := w.archiver.consumer.FetchNoWait(fetchBatch)
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for msg := range batch.Messages() {
		msgs = append(msgs, msg)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && len(msgs) == 0 {
		return nil, err
	}

	if len(msgs) == 0 {
		fetch, cancel := context.WithTimeout(ctx, fetchWait)
		defer cancel()
		return w.archiver.consumer.Next(jetstream.FetchContext(fetch))
	}
	if len(msgs) == 1 {
		return msgs[0], nil
	}

	ranked := w.rank(msgs)
	for _, msg := range ranked[1:] {
		if err := msg.Nak(); err != nil {
			w.log.Debug().Err(err).Msg("handing back a less urgent segment event failed; it is delivered again after the ack wait")
		}
	}
	return ranked[0], nil
}

// fetchWait bounds one pull request.
const fetchWait = 2 * time.Second

// backoff returns the delay before attempt n+1 of a failed operation.
func (a *Archiver) backoff(n uint64) time.Duration {
	delay := a.opts.RetryMin
	for i := uint64(1); i < n && delay < a.opts.RetryMax; i++ {
		delay *= 2
	}
	return min(delay, a.opts.RetryMax)
}

func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}
