// Command camsim simulates the storage folder of a Hikvision camera. It
// pre-allocates hiv files and records a looped test clip into them as MPEG-2
// program stream segments, keeping index00.bin and index01.bin up to date.
// Camera time runs speed times faster than real time. It runs until SIGINT
// or SIGTERM and logs every closed segment.
//
//	camsim -dir /tmp/sd -files 8 -file-size 8MiB -segment 30s -speed 60
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/index"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// options are the parsed command line flags.
type options struct {
	cfg       camsim.Config
	speed     float64
	tick      time.Duration
	logFormat string
}

func run(args []string, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "camsim: %v\n", err)
		return 2
	}

	log := newLogger(opts.logFormat, stderr)
	opts.cfg.OnSegmentClosed = func(r camsim.Recorded) {
		log.Info().
			Str("file", index.HivName(r.File)).
			Int("slot", r.Slot).
			Time("start", r.Start.Wall()).
			Time("end", r.End.Wall()).
			Uint32("start_offset", r.StartOffset).
			Uint32("end_offset", r.EndOffset).
			Int("frames", r.Frames).
			Str("sha256", r.SHA256).
			Msg("segment closed")
	}

	cam, err := camsim.New(opts.cfg)
	if err != nil {
		log.Error().Err(err).Msg("cannot create the simulated camera")
		return 1
	}
	defer cam.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := cam.Config()
	log.Info().
		Str("dir", cfg.Dir).
		Int("files", cfg.Files).
		Int64("file_size", cfg.FileSize).
		Stringer("segment", cfg.SegmentDuration).
		Float64("speed", opts.speed).
		Time("camera_start", cfg.Start).
		Msg("recording")

	if err := cam.Run(ctx, opts.speed, opts.tick); err != nil {
		log.Error().Err(err).Stringer("camera_time", cam.Elapsed()).Msg("recording failed")
		return 1
	}
	log.Info().Stringer("camera_time", cam.Elapsed()).Int("segments", len(cam.Record())).Msg("stopped")
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	flags := flag.NewFlagSet("camsim", flag.ContinueOnError)
	flags.SetOutput(stderr)

	var opts options
	flags.StringVar(&opts.cfg.Dir, "dir", "", "storage folder to create and record into (required; must not hold an index yet)")
	flags.IntVar(&opts.cfg.Files, "files", 8, "number of hiv files in the ring")
	fileSize := flags.String("file-size", "8MiB", "size of each hiv file, such as 8MiB or 256MiB")
	flags.DurationVar(&opts.cfg.SegmentDuration, "segment", 30*time.Second, "camera time per segment")
	flags.Float64Var(&opts.speed, "speed", 60, "camera seconds recorded per real second")
	flags.DurationVar(&opts.tick, "tick", 100*time.Millisecond, "real time between two writes")
	start := flags.String("start", "", "camera clock at start, RFC 3339 such as 2025-05-01T08:00:00-03:00 (default: now, in the local time zone)")
	channel := flags.Uint("channel", camsim.DefaultChannel, "camera channel, 1..48")
	flags.StringVar(&opts.logFormat, "log-format", "console", "log format: console or json")
	if err := flags.Parse(args); err != nil {
		return opts, err
	}
	if flags.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q; all options are flags, see -h", flags.Arg(0))
	}

	if opts.cfg.Dir == "" {
		return opts, errors.New("-dir is required")
	}
	size, err := config.ParseByteSize(*fileSize)
	if err != nil {
		return opts, fmt.Errorf("-file-size: %w", err)
	}
	opts.cfg.FileSize = int64(size)
	if *channel == 0 || *channel >= index.CurrentRecordCount {
		return opts, fmt.Errorf("-channel %d out of range 1..%d", *channel, index.CurrentRecordCount-1)
	}
	opts.cfg.Channel = uint16(*channel)

	opts.cfg.Start = time.Now()
	if *start != "" {
		if opts.cfg.Start, err = time.Parse(time.RFC3339, *start); err != nil {
			return opts, fmt.Errorf("-start %q is not an RFC 3339 time such as 2025-05-01T08:00:00Z", *start)
		}
	}
	if opts.logFormat != "console" && opts.logFormat != "json" {
		return opts, fmt.Errorf("-log-format %q is not console or json", opts.logFormat)
	}
	return opts, nil
}

func newLogger(format string, w io.Writer) zerolog.Logger {
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).With().Timestamp().Str("service", "camsim").Logger()
}
