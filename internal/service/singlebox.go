package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/metrics"
	"github.com/hikarchive/hikarchive/internal/pipeline"
)

// SingleBox is the scanner, the archiver, an embedded NATS server and
// optionally a simulated camera in one process.
type SingleBox struct {
	cfg    *config.Config
	log    zerolog.Logger
	nats   *NATS
	camera *camsim.Camera // nil without a simulator section
}

// StartSingleBox starts the embedded NATS server (or connects to nats.url)
// and creates the simulated camera if the configuration has one.
func StartSingleBox(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*SingleBox, error) {
	box := &SingleBox{cfg: cfg, log: log}

	n, err := ConnectNATS(ctx, cfg, "hikarchive-single-box", log)
	if err != nil {
		return nil, err
	}
	box.nats = n

	if cfg.Simulator != nil {
		if err := box.startCamera(ctx); err != nil {
			box.Close()
			return nil, err
		}
	}
	return box, nil
}

// JetStream returns the JetStream context of the box's connection.
func (b *SingleBox) JetStream() jetstream.JetStream { return b.nats.JS }

// Camera returns the simulated camera, nil without a simulator section.
func (b *SingleBox) Camera() *camsim.Camera { return b.camera }

// startCamera creates the simulated camera on a fresh card. The card is new
// on every start, so the cursors and pending events of the cameras that
// watch it are deleted: they describe the previous card's ring.
func (b *SingleBox) startCamera(ctx context.Context) error {
	sim := b.cfg.Simulator
	if err := removeSimulatedCard(sim.Path); err != nil {
		return err
	}

	camera, err := camsim.New(camsim.Config{
		Dir:             sim.Path,
		Files:           sim.Files,
		FileSize:        int64(sim.FileSize),
		SegmentDuration: time.Duration(sim.SegmentDuration),
		Start:           time.Now().In(sim.Location()),
	})
	if err != nil {
		return fmt.Errorf("start the camera simulator in %s: %w", sim.Path, err)
	}
	b.camera = camera

	cursors, err := b.nats.JS.KeyValue(ctx, pipeline.CursorBucket)
	if err != nil {
		return fmt.Errorf("open cursor bucket: %w", err)
	}
	segments, err := b.nats.JS.Stream(ctx, pipeline.SegmentsStream)
	if err != nil {
		return fmt.Errorf("open stream %s: %w", pipeline.SegmentsStream, err)
	}
	for _, c := range b.cfg.Cameras {
		if filepath.Clean(c.Path) != filepath.Clean(sim.Path) {
			continue
		}
		key := pipeline.CursorKey(c.ID, index.FlatDatadir)
		if err := cursors.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("reset cursor %s of the simulated camera: %w", key, err)
		}

		// Events of the previous card that were not archived yet would be
		// reported lost against the new card, so they go too.
		subject := pipeline.Subject(pipeline.KindClosed, c.ID, index.FlatDatadir)
		if err := segments.Purge(ctx, jetstream.WithPurgeSubject(subject)); err != nil {
			return fmt.Errorf("purge events of the previous simulated card (%s): %w", subject, err)
		}
	}

	b.log.Info().Str("path", sim.Path).Int("files", sim.Files).Str("file_size", sim.FileSize.String()).
		Float64("speed", sim.Speed).Msg("camera simulator started on a fresh card")
	return nil
}

// simulatorMarker marks a folder that the simulator wrote, so that it is the
// only kind of folder a restart deletes.
const simulatorMarker = ".hikarchive-simulator"

// removeSimulatedCard deletes the simulator's previous card. It refuses a
// folder that the simulator did not create, so that a misconfigured path
// can never delete real camera storage.
func removeSimulatedCard(path string) error {
	entries, err := os.ReadDir(path)
	if errors.Is(err, os.ErrNotExist) {
		return createSimulatedCard(path)
	}
	if err != nil {
		return fmt.Errorf("read simulator folder: %w", err)
	}

	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(path, simulatorMarker)); err != nil {
			return fmt.Errorf("simulator.path %s is not empty and was not written by the simulator (no %s file): choose an empty or new folder", path, simulatorMarker)
		}
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("remove the previous simulated card: %w", err)
		}
	}
	return createSimulatedCard(path)
}

func createSimulatedCard(path string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return fmt.Errorf("create simulator folder: %w", err)
	}
	return os.WriteFile(filepath.Join(path, simulatorMarker), []byte("written by the hikarchive camera simulator\n"), 0o644)
}

// Run runs the simulated camera, the scanner and the archiver until ctx
// ends, then stops them all.
func (b *SingleBox) Run(ctx context.Context) error {
	if b.camera == nil {
		return b.RunServices(ctx)
	}

	cameraDone := make(chan error, 1)
	go func() { cameraDone <- b.camera.Run(ctx, b.cfg.Simulator.Speed, 100*time.Millisecond) }()

	err := b.RunServices(ctx)
	if cameraErr := <-cameraDone; cameraErr != nil {
		err = errors.Join(err, fmt.Errorf("camera simulator: %w", cameraErr))
	}
	return err
}

// RunServices runs the scanner and the archiver, without the simulated
// camera, until ctx ends.
func (b *SingleBox) RunServices(ctx context.Context) error {
	store, err := OpenStore(ctx, b.cfg.Store)
	if err != nil {
		return err
	}
	m := metrics.New()
	if err := serveMetrics(ctx, b.cfg, m, b.nats, store, b.log); err != nil {
		return err
	}
	s, err := NewScanner(ctx, b.cfg, b.nats.JS, m, b.log)
	if err != nil {
		return err
	}
	a, err := NewArchiver(ctx, b.cfg, b.nats.JS, store, m, b.log)
	if err != nil {
		return err
	}
	sweeper, err := newSweeper(ctx, b.cfg, b.nats.JS, store, b.log)
	if err != nil {
		return err
	}

	return runAll(ctx, s.Run, a.Run, sweeperRun(sweeper))
}

// Drained reports whether the archivers have settled every closed event.
func (b *SingleBox) Drained(ctx context.Context) (bool, error) {
	consumer, err := b.nats.JS.Consumer(ctx, pipeline.SegmentsStream, b.cfg.Archiver.Consumer)
	if err != nil {
		return false, err
	}
	info, err := consumer.Info(ctx)
	if err != nil {
		return false, err
	}
	return info.NumPending == 0 && info.NumAckPending == 0, nil
}

// Close stops the simulator and the NATS connection and server.
func (b *SingleBox) Close() {
	if b.camera != nil {
		if err := b.camera.Close(); err != nil {
			b.log.Warn().Err(err).Msg("closing the camera simulator failed")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	b.nats.Close(ctx)
}

// RunSingleBox runs everything in one process until ctx ends.
func RunSingleBox(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	box, err := StartSingleBox(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer box.Close()
	return box.Run(ctx)
}
