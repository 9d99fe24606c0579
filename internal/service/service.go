// Package service assembles the scanner and the archiver from a loaded
// configuration: the logger, the NATS connection (with an embedded server in
// single-box mode), the object store, and the services themselves. The
// commands in cmd/ are thin wrappers around it.
package service

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/archiver"
	"github.com/hikarchive/hikarchive/internal/broker"
	"github.com/hikarchive/hikarchive/internal/buildinfo"
	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/metrics"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/scanner"
	"github.com/hikarchive/hikarchive/internal/thumbnail"
)

// Logger returns the zerolog logger that the configuration sets up, writing
// to w.
func Logger(cfg config.Log, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(cfg.Level)
	if err != nil || cfg.Level == "" {
		level = zerolog.InfoLevel
	}
	if cfg.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// NATS is a connection to JetStream, and the embedded server behind it in
// single-box mode.
type NATS struct {
	Conn     *nats.Conn
	JS       jetstream.JetStream
	Embedded *broker.Embedded // nil when connected to an external server
}

// ConnectNATS connects to nats.url, or starts an embedded server when it is
// empty, and makes sure the streams and the cursor bucket exist.
func ConnectNATS(ctx context.Context, cfg *config.Config, name string, log zerolog.Logger) (*NATS, error) {
	n := &NATS{}
	options := broker.ConnectOptions{
		URL:             cfg.NATS.URL,
		Name:            name,
		CredentialsFile: cfg.NATS.CredentialsFile,
		Token:           cfg.NATS.Token(),
		Logger:          log,
	}

	if cfg.NATS.URL == "" {
		embedded, err := broker.StartEmbedded(broker.EmbeddedOptions{
			StoreDir: cfg.NATS.Embedded.StoreDir,
			Host:     cfg.NATS.Embedded.Host,
			Port:     cfg.NATS.Embedded.Port,
			Logger:   log,
		})
		if err != nil {
			return nil, err
		}
		n.Embedded = embedded
		options.URL = ""
		options.Embedded = embedded
	}

	conn, err := broker.Connect(ctx, options)
	if err != nil {
		n.Close(ctx)
		return nil, err
	}
	n.Conn = conn

	n.JS, err = jetstream.New(conn)
	if err != nil {
		n.Close(ctx)
		return nil, fmt.Errorf("open JetStream: %w", err)
	}

	if err := pipeline.EnsureStreams(ctx, n.JS, pipeline.StreamOptions{
		Replicas:        cfg.NATS.Replicas,
		DuplicateWindow: time.Duration(cfg.NATS.DuplicateWindow),
	}); err != nil {
		n.Close(ctx)
		return nil, err
	}
	return n, nil
}

// Close drains the connection and stops the embedded server, if any.
func (n *NATS) Close(ctx context.Context) {
	if n.Conn != nil {
		_ = n.Conn.Drain()
		n.Conn.Close()
	}
	if n.Embedded != nil {
		n.Embedded.Shutdown(ctx)
	}
}

// OpenStore opens the configured object store.
func OpenStore(ctx context.Context, cfg config.Store) (objectstore.Store, error) {
	switch cfg.Kind {
	case "local":
		return objectstore.NewLocal(cfg.Local.Root)
	case "s3":
		credentials, err := cfg.S3.Credentials()
		if err != nil {
			return nil, err
		}
		return objectstore.NewS3(ctx, objectstore.S3Options{
			Endpoint:     cfg.S3.Endpoint,
			Region:       cfg.S3.Region,
			Bucket:       cfg.S3.Bucket,
			Secure:       cfg.S3.Secure,
			CreateBucket: cfg.S3.CreateBucket,
			AccessKey:    credentials.AccessKey,
			SecretKey:    credentials.SecretKey,
			PartSize:     int64(cfg.S3.PartSize),
		})
	default:
		return nil, fmt.Errorf("store.kind %q is not supported: use local or s3", cfg.Kind)
	}
}

// NewScanner returns the scanner the configuration describes.
func NewScanner(ctx context.Context, cfg *config.Config, js jetstream.JetStream, m *metrics.Metrics, log zerolog.Logger) (*scanner.Scanner, error) {
	cameras := make([]scanner.Camera, 0, len(cfg.Cameras))
	for _, c := range cfg.Cameras {
		cameras = append(cameras, scanner.Camera{ID: c.ID, Path: c.Path, Location: c.Location()})
	}

	schedule, err := config.ParseSchedule(cfg.Scanner.Schedule)
	if err != nil {
		return nil, err
	}

	return scanner.New(ctx, js, scanner.Options{
		Cameras:  cameras,
		Schedule: schedule,
		Backfill: scanner.BackfillMode(cfg.Scanner.Backfill),
		Since:    cfg.Scanner.BackfillSince,
		Logger:   log,

		RiskThreshold: time.Duration(cfg.Scanner.RiskThreshold),
		Metrics:       m,
	})
}

// NewArchiver returns the archiver the configuration describes.
func NewArchiver(ctx context.Context, cfg *config.Config, js jetstream.JetStream, store objectstore.Store, m *metrics.Metrics, log zerolog.Logger) (*archiver.Archiver, error) {
	cameras := make([]archiver.Camera, 0, len(cfg.Cameras))
	for _, c := range cfg.Cameras {
		cameras = append(cameras, archiver.Camera{ID: c.ID, Path: c.Path, Location: c.Location()})
	}

	return archiver.New(ctx, js, archiver.Options{
		Lock:          archiverLock(cfg.Retention),
		Cameras:       cameras,
		Store:         store,
		Prefix:        cfg.Store.Prefix,
		Consumer:      cfg.Archiver.Consumer,
		Concurrency:   cfg.Archiver.Concurrency,
		AckWait:       time.Duration(cfg.Archiver.AckWait),
		RetryMin:      time.Duration(cfg.Archiver.RetryMin),
		RetryMax:      time.Duration(cfg.Archiver.RetryMax),
		ShutdownGrace: 30 * time.Second,
		RateLimit:     int64(cfg.Archiver.RateLimit),
		Clip:          cfg.Archiver.Clip,
		KeepOriginal:  cfg.Archiver.KeepOriginal,
		Thumbnail:     thumbnail.Options{FFmpeg: cfg.Archiver.FFmpeg, Width: cfg.Archiver.ThumbnailWidth},
		Metrics:       m,
		Version:       buildinfo.Version(),
		Logger:        log,
	})
}

// archiverLock returns the Object Lock settings of the retention section,
// or nil when it sets no lock mode.
func archiverLock(cfg *config.Retention) *archiver.Lock {
	if cfg == nil || cfg.LockMode == "" {
		return nil
	}
	return &archiver.Lock{
		Mode:   objectstore.RetentionMode(strings.ToUpper(cfg.LockMode)),
		Policy: retentionPolicy(cfg),
	}
}

// LoadConfig loads and validates a configuration file for role.
func LoadConfig(path, role string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.ValidateFor(role); err != nil {
		return nil, err
	}
	return cfg, nil
}
