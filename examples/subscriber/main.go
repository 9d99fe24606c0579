// Command subscriber is a small example of a service that follows the
// segments hikarchive archives. It reads archived events from the
// HIKARCHIVE_EVENTS stream through a durable JetStream consumer, prints one
// line per segment and acknowledges it, so a restart continues where the
// last run stopped.
//
//	go run ./examples/subscriber -nats nats://127.0.0.1:4222
//	go run ./examples/subscriber -durable replay -since 2025-10-26T00:00:00Z
//
// -since replays from an instant: the consumer is created with the
// DeliverByStartTime policy and starts at the first event stored at or
// after it. JetStream fixes the policy when it creates a consumer, so -since
// applies only to a durable name that does not exist yet.
//
// The scanner and archiver create the stream; this program only reads it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "subscriber: %v\n", err)
		os.Exit(2)
	}

	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.RFC3339}).With().Timestamp().Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, opts, os.Stdout, log); err != nil {
		log.Error().Err(err).Msg("subscriber stopped with an error")
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var opts options
	var since string
	flags := flag.NewFlagSet("subscriber", flag.ContinueOnError)
	flags.StringVar(&opts.URL, "nats", "nats://127.0.0.1:4222", "NATS server URL; several separated by commas")
	flags.StringVar(&opts.Durable, "durable", "example-subscriber", "durable consumer name; the server keeps its position between runs")
	flags.StringVar(&opts.Camera, "camera", "", "only events of this camera id (default all cameras)")
	flags.StringVar(&since, "since", "", "replay from this RFC 3339 instant, e.g. 2025-10-26T00:00:00Z (only when the durable consumer is new)")
	flags.IntVar(&opts.Max, "max", 0, "exit after this many events (0 runs until interrupted)")
	if err := flags.Parse(args); err != nil {
		return options{}, err
	}

	if since != "" {
		start, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return options{}, fmt.Errorf("-since %q is not an RFC 3339 instant such as 2025-10-26T00:00:00Z: %w", since, err)
		}
		opts.Since = start
	}
	if opts.Max < 0 {
		return options{}, fmt.Errorf("-max %d is negative: use 0 to run until interrupted", opts.Max)
	}
	return opts, nil
}
