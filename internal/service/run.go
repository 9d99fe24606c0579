package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/buildinfo"
	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/metrics"
	"github.com/hikarchive/hikarchive/internal/retention"
)

// Main runs one service command: it parses -config, loads and validates the
// file for role, and calls run until SIGINT or SIGTERM. It returns the exit
// code.
func Main(role string, args []string, run func(ctx context.Context, cfg *config.Config, log zerolog.Logger) error) int {
	flags := flag.NewFlagSet(role, flag.ContinueOnError)
	configPath := flags.String("config", "configs/"+role+".yaml", "path of the YAML configuration file")
	if err := flags.Parse(args); err != nil {
		return 2
	}

	cfg, err := LoadConfig(*configPath, role)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
		return 2
	}
	log := Logger(cfg.Log, os.Stderr).With().Str("service", role).Logger()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.Info().Str("config", *configPath).Str("version", buildinfo.Version()).Msg("starting")
	if err := run(ctx, cfg, log); err != nil {
		log.Error().Err(err).Msg("stopped with an error")
		return 1
	}
	log.Info().Msg("stopped")
	return 0
}

// RunScanner connects to NATS and runs the scanner until ctx ends.
func RunScanner(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	n, err := ConnectNATS(ctx, cfg, "hikarchive-scanner", log)
	if err != nil {
		return err
	}
	defer closeNATS(n)

	m := metrics.New()
	if err := serveMetrics(ctx, cfg, m, n, nil, log); err != nil {
		return err
	}

	s, err := NewScanner(ctx, cfg, n.JS, m, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// RunArchiver connects to NATS and the store and runs the archiver until
// ctx ends.
func RunArchiver(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	store, err := OpenStore(ctx, cfg.Store)
	if err != nil {
		return err
	}

	n, err := ConnectNATS(ctx, cfg, "hikarchive-archiver", log)
	if err != nil {
		return err
	}
	defer closeNATS(n)

	m := metrics.New()
	if err := serveMetrics(ctx, cfg, m, n, store, log); err != nil {
		return err
	}

	a, err := NewArchiver(ctx, cfg, n.JS, store, m, log)
	if err != nil {
		return err
	}
	sweeper, err := newSweeper(ctx, cfg, n.JS, store, log)
	if err != nil {
		return err
	}
	return runAll(ctx, a.Run, sweeperRun(sweeper))
}

// runAll runs each function until all return, and joins their errors.
func runAll(ctx context.Context, runs ...func(context.Context) error) error {
	errs := make(chan error, len(runs))
	for _, run := range runs {
		go func() { errs <- run(ctx) }()
	}

	var all []error
	for range runs {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// sweeperRun returns the sweeper's Run, or a function that waits for ctx
// when there is no sweeper.
func sweeperRun(sweeper *retention.Sweeper) func(context.Context) error {
	if sweeper == nil {
		return func(ctx context.Context) error {
			<-ctx.Done()
			return nil
		}
	}
	return sweeper.Run
}

func closeNATS(n *NATS) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	n.Close(ctx)
}

// shutdownTimeout bounds how long closing connections and servers may take.
const shutdownTimeout = 30 * time.Second
