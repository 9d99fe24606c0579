package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/testserver"
)

// fixture is an embedded NATS server with the hikarchive streams and a
// few published events.
type fixture struct {
	t   *testing.T
	ctx context.Context
	url string
	js  jetstream.JetStream
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)

	server := testserver.NATS(t)
	js, err := jetstream.New(server.Conn)
	require.NoError(t, err)
	require.NoError(t, pipeline.EnsureStreams(ctx, js, pipeline.StreamOptions{}))
	return &fixture{t: t, ctx: ctx, url: server.URL, js: js}
}

// publishArchived publishes an archived event for segment number n of a
// camera and returns its stream sequence.
func (f *fixture) publishArchived(camera string, n int) uint64 {
	f.t.Helper()
	event := pipeline.Archived{
		Version: pipeline.SchemaVersion,
		Segment: pipeline.Segment{
			Camera: camera, Datadir: "sd", ID: fmt.Sprintf("segment-%d", n),
			Start: time.Date(2025, 10, 26, 3, 0, n, 0, time.UTC),
		},
		Objects: pipeline.Objects{Clip: fmt.Sprintf("%s/clip-%d.ps", camera, n), Metadata: fmt.Sprintf("%s/clip-%d.json", camera, n)},
		Size:    int64(1000 + n),
	}
	subject := pipeline.Subject(pipeline.KindArchived, camera, "sd")
	ack, err := pipeline.Publish(f.ctx, f.js, subject, pipeline.MsgID(pipeline.KindArchived, camera, "sd", event.Segment.ID), event)
	require.NoError(f.t, err)
	return ack.Sequence
}

func (f *fixture) publishLost(camera string) {
	f.t.Helper()
	event := pipeline.Lost{Version: pipeline.SchemaVersion, Segment: pipeline.Segment{Camera: camera, Datadir: "sd", ID: "lost"}, Reason: pipeline.ReasonOverwritten}
	_, err := pipeline.Publish(f.ctx, f.js, pipeline.Subject(pipeline.KindLost, camera, "sd"), "lost", event)
	require.NoError(f.t, err)
}

// run runs the subscriber and returns the segment ids it printed.
func (f *fixture) run(opts options) []string {
	f.t.Helper()
	var out bytes.Buffer
	opts.URL = f.url
	require.NoError(f.t, run(f.ctx, opts, &out, zerolog.New(zerolog.NewTestWriter(f.t))))

	var ids []string
	for line := range strings.Lines(out.String()) {
		fields := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		require.Len(f.t, fields, 5, "line %q", line)
		ids = append(ids, fields[2])
	}
	return ids
}

func TestSubscriberDurableResumes(t *testing.T) {
	f := newFixture(t)
	for n := range 4 {
		f.publishArchived("cam", n)
	}
	f.publishLost("cam")

	require.Equal(t, []string{"segment-0", "segment-1"}, f.run(options{Durable: "follow", Max: 2}))
	require.Equal(t, []string{"segment-2", "segment-3"}, f.run(options{Durable: "follow", Max: 2}))

	// Nothing is left: the lost event is not on the consumer's subject.
	info, err := f.js.Stream(f.ctx, pipeline.EventsStream)
	require.NoError(t, err)
	consumer, err := info.Consumer(f.ctx, "follow")
	require.NoError(t, err)
	state, err := consumer.Info(f.ctx)
	require.NoError(t, err)
	require.Zero(t, state.NumPending)
	require.Zero(t, state.NumAckPending)
}

func TestSubscriberReplaysFromStartTime(t *testing.T) {
	f := newFixture(t)
	var sequences []uint64
	for n := range 4 {
		sequences = append(sequences, f.publishArchived("cam", n))
	}

	// The start time refers to when the stream stored a message, so it is
	// taken from the stored third message instead of from a local clock.
	stream, err := f.js.Stream(f.ctx, pipeline.EventsStream)
	require.NoError(t, err)
	third, err := stream.GetMsg(f.ctx, sequences[2])
	require.NoError(t, err)

	ids := f.run(options{Durable: "replay", Since: third.Time, Max: 2})
	require.Equal(t, []string{"segment-2", "segment-3"}, ids)
}

func TestSubscriberFiltersCamera(t *testing.T) {
	f := newFixture(t)
	f.publishArchived("front door", 0)
	f.publishArchived("yard", 1)
	f.publishArchived("front door", 2)

	require.Equal(t, []string{"segment-0", "segment-2"}, f.run(options{Durable: "door", Camera: "front door", Max: 2}))
}

func TestSubscriberRejectsSinceForExistingDurable(t *testing.T) {
	f := newFixture(t)
	f.publishArchived("cam", 0)
	f.run(options{Durable: "existing", Max: 1})

	var out bytes.Buffer
	err := run(f.ctx, options{URL: f.url, Durable: "existing", Since: time.Now(), Max: 1}, &out, zerolog.Nop())
	require.ErrorContains(t, err, "-since applies only when it is created")
}

func TestSubscriberStopsOnCancel(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{URL: f.url, Durable: "idle"}, &bytes.Buffer{}, zerolog.Nop())
	}()

	require.Eventually(t, func() bool {
		_, err := f.js.Consumer(f.ctx, pipeline.EventsStream, "idle")
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the subscriber did not create its consumer")
	cancel()
	require.NoError(t, <-done)
}

func TestParseFlags(t *testing.T) {
	opts, err := parseFlags([]string{"-nats", "nats://127.0.0.1:1", "-since", "2025-10-26T01:02:03Z", "-max", "3", "-camera", "yard"})
	require.NoError(t, err)
	require.Equal(t, "nats://127.0.0.1:1", opts.URL)
	require.Equal(t, time.Date(2025, 10, 26, 1, 2, 3, 0, time.UTC), opts.Since)
	require.Equal(t, 3, opts.Max)
	require.Equal(t, "yard", opts.Camera)

	_, err = parseFlags([]string{"-since", "yesterday"})
	require.ErrorContains(t, err, "RFC 3339")
	_, err = parseFlags([]string{"-max", "-1"})
	require.ErrorContains(t, err, "negative")
}
