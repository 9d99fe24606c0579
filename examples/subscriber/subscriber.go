package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/pipeline"
)

// options configures one run of the subscriber.
type options struct {
	URL     string
	Durable string
	Camera  string    // empty for every camera
	Since   time.Time // zero: start with the oldest stored event
	Max     int       // events to handle before returning; 0 for no limit
}

// run connects, opens the durable consumer and prints archived events to out
// until ctx ends or opts.Max events were handled.
func run(ctx context.Context, opts options, out io.Writer, log zerolog.Logger) error {
	conn, err := nats.Connect(opts.URL, nats.Name("hikarchive-example-subscriber"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", opts.URL, err)
	}
	defer conn.Close()

	js, err := jetstream.New(conn)
	if err != nil {
		return fmt.Errorf("open JetStream: %w", err)
	}
	consumer, err := openConsumer(ctx, js, opts)
	if err != nil {
		return err
	}

	for handled := 0; opts.Max == 0 || handled < opts.Max; {
		count, err := fetchBatch(ctx, consumer, batchSize(opts.Max, handled), out, log)
		handled += count
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("consumer %s: %w", opts.Durable, err)
		}
	}
	return nil
}

// maxBatch is the largest number of events one pull requests.
const maxBatch = 100

// batchSize returns how many events to pull next. With a limit it pulls no
// more than are still requested, because a pulled event that is never acknowledged
// would be held back from the next run until its ack wait ends.
func batchSize(limit, handled int) int {
	if limit == 0 || limit-handled > maxBatch {
		return maxBatch
	}
	return limit - handled
}

// fetchWait bounds one pull request. On an idle stream the next pull
// starts when it expires.
const fetchWait = 30 * time.Second

// fetchBatch pulls up to size events, handles them and returns how many it
// handled.
func fetchBatch(ctx context.Context, consumer jetstream.Consumer, size int, out io.Writer, log zerolog.Logger) (int, error) {
	fetchCtx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()

	batch, err := consumer.Fetch(size, jetstream.FetchContext(fetchCtx))
	if err != nil {
		return 0, fmt.Errorf("pull archived events: %w", err)
	}

	handled := 0
	for msg := range batch.Messages() {
		if err := handle(ctx, msg, out, log); err != nil {
			return handled, err
		}
		handled++
	}

	err = batch.Error()
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return handled, nil
	}
	return handled, fmt.Errorf("pull archived events: %w", err)
}

// openConsumer returns the durable consumer, creating it when it is new.
func openConsumer(ctx context.Context, js jetstream.JetStream, opts options) (jetstream.Consumer, error) {
	consumer, err := js.Consumer(ctx, pipeline.EventsStream, opts.Durable)
	if err == nil {
		if !opts.Since.IsZero() {
			return nil, fmt.Errorf("consumer %s exists, and -since applies only when it is created: choose a new -durable name, or delete it with 'nats consumer rm %s %s'",
				opts.Durable, pipeline.EventsStream, opts.Durable)
		}
		return consumer, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("look up consumer %s on stream %s: %w", opts.Durable, pipeline.EventsStream, err)
	}

	config := jetstream.ConsumerConfig{
		Durable:       opts.Durable,
		Description:   "hikarchive example subscriber",
		FilterSubject: pipeline.ArchivedSubjects,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
	}
	if opts.Camera != "" {
		// The camera id is one encoded subject token, and "*" matches any datadir.
		config.FilterSubject = "hikarchive.segment.archived." + pipeline.SubjectToken(opts.Camera) + ".*"
	}
	if !opts.Since.IsZero() {
		start := opts.Since
		config.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		config.OptStartTime = &start
	}

	consumer, err = js.CreateConsumer(ctx, pipeline.EventsStream, config)
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on stream %s: %w", opts.Durable, pipeline.EventsStream, err)
	}
	return consumer, nil
}

// handle prints one archived event as a tab-separated line (segment start
// in UTC, camera, segment id, clip key, clip size in bytes) and
// acknowledges it. DoubleAck waits for
// the server to confirm, so the next run does not see the event again.
func handle(ctx context.Context, msg jetstream.Msg, out io.Writer, log zerolog.Logger) error {
	var event pipeline.Archived
	if err := json.Unmarshal(msg.Data(), &event); err != nil {
		// A message that is not an event will never decode: terminate it
		// so the server stops redelivering it.
		log.Warn().Err(err).Str("subject", msg.Subject()).Msg("skipping a message that is not an archived event")
		return msg.Term()
	}
	if event.Version > pipeline.SchemaVersion {
		log.Warn().Int("version", event.Version).Str("segment", event.Segment.ID).
			Msg("event has a newer schema version; printing the fields this program knows")
	}

	if _, err := fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%d\n",
		event.Segment.Start.UTC().Format(time.RFC3339), event.Segment.Camera, event.Segment.ID, event.Objects.Clip, event.Size); err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	if err := msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("acknowledge archived event of segment %s: %w", event.Segment.ID, err)
	}
	return nil
}
