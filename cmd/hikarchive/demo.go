package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/service"
)

// demoMarker marks a folder that the demo created, so that the demo only
// ever deletes its own previous run.
const demoMarker = ".hikarchive-demo"

// demoCamera is the id of the simulated camera.
const demoCamera = "demo-camera"

func demo(args []string) int {
	flags := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := flags.String("dir", "data/demo", "folder for the simulated card, the NATS store and the archive; deleted and recreated on every run")
	duration := flags.Duration("duration", 30*time.Second, "how long the simulated camera records, in real time")
	speed := flags.Float64("speed", 20, "camera seconds recorded per real second")
	verbose := flags.Bool("v", false, "log every step of scanner and archiver")
	if err := flags.Parse(args); err != nil {
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := runDemo(ctx, *dir, *duration, *speed, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "hikarchive demo: %v\n", err)
		return 1
	}
	return 0
}

func runDemo(ctx context.Context, dir string, duration time.Duration, speed float64, verbose bool) error {
	if err := prepareDemoDir(dir); err != nil {
		return err
	}
	cfg, err := demoConfig(dir, speed, verbose)
	if err != nil {
		return err
	}
	log := service.Logger(cfg.Log, os.Stderr)

	box, err := service.StartSingleBox(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer box.Close()

	fmt.Printf("Recording %s of a simulated camera at %gx speed into %s ...\n", duration, speed, cfg.Simulator.Path)
	if err := recordAndArchive(ctx, box, duration, speed); err != nil {
		return err
	}
	return printArchive(ctx, cfg)
}

// recordAndArchive runs the camera for duration, then lets the scanner and
// the archiver catch up before it stops them.
func recordAndArchive(ctx context.Context, box *service.SingleBox, duration time.Duration, speed float64) error {
	services, stopServices := context.WithCancel(ctx)
	defer stopServices()
	servicesDone := make(chan error, 1)
	go func() { servicesDone <- box.RunServices(services) }()

	recording, stopRecording := context.WithTimeout(ctx, duration)
	defer stopRecording()
	if err := box.Camera().Run(recording, speed, 100*time.Millisecond); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	fmt.Println("Camera stopped; waiting for the archiver to catch up ...")
	if err := waitDrained(ctx, box); err != nil {
		return err
	}

	stopServices()
	return <-servicesDone
}

// waitDrained waits for two scans and for the archiver to settle every event.
func waitDrained(ctx context.Context, box *service.SingleBox) error {
	deadline := time.Now().Add(2 * time.Minute)
	time.Sleep(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		drained, err := box.Drained(ctx)
		if err != nil {
			return err
		}
		if drained {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the archiver did not catch up within 2 minutes; run with -v to see why")
}

func prepareDemoDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("%s is not empty and was not created by the demo (no %s file): pass -dir with a new folder", dir, demoMarker)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("created by hikarchive demo; deleted by the next run\n"), 0o644)
}

func demoConfig(dir string, speed float64, verbose bool) (*config.Config, error) {
	cfg := config.Default()
	cfg.Log.Level = "warn"
	if verbose {
		cfg.Log.Level = "info"
	}

	cfg.NATS.Embedded = config.Embedded{StoreDir: filepath.Join(dir, "nats"), Host: "127.0.0.1", Port: 0}
	cfg.Store.Kind = "local"
	cfg.Store.Local.Root = filepath.Join(dir, "archive")

	cfg.Simulator = config.DefaultSimulator()
	cfg.Simulator.Path = filepath.Join(dir, "camera")
	cfg.Simulator.Speed = speed
	cfg.Simulator.TimeZone = "Europe/Berlin"
	cfg.Cameras = []config.Camera{{ID: demoCamera, Path: cfg.Simulator.Path, TimeZone: "Europe/Berlin"}}

	cfg.Scanner.Schedule = "@every 1s"
	cfg.Archiver.RetryMin = config.Duration(500 * time.Millisecond)

	if err := cfg.ValidateFor(config.RoleSingleBox); err != nil {
		return nil, err
	}
	return cfg, nil
}

// printArchive lists the archived segments from their metadata documents.
func printArchive(ctx context.Context, cfg *config.Config) error {
	store, err := service.OpenStore(ctx, cfg.Store)
	if err != nil {
		return err
	}

	var segments []archive.Metadata
	err = store.List(ctx, "", func(info objectstore.ObjectInfo) error {
		if !strings.HasSuffix(info.Key, ".json") {
			return nil
		}
		metadata, err := readMetadata(ctx, store, info.Key)
		if err != nil {
			return err
		}
		segments = append(segments, metadata)
		return nil
	})
	if err != nil {
		return err
	}

	root := cfg.Store.Local.Root
	fmt.Printf("\nArchived %d segments of camera %q into %s:\n\n", len(segments), demoCamera, root)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "START (UTC)\tDURATION\tSIZE\tSHA-256\tTHUMBNAIL\tCLIP")
	for _, m := range segments {
		fmt.Fprintf(w, "%s\t%.1fs\t%d KiB\t%s…\t%s\t%s\n",
			m.Segment.Start.Format("2006-01-02 15:04:05.000"), m.DurationSeconds, m.Size/1024, m.SHA256[:12], m.Thumbnail.Status, m.Objects.Clip)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	if len(segments) > 0 {
		last := segments[len(segments)-1]
		fmt.Printf("\nPlay a clip:   ffplay %s\n", filepath.Join(root, last.Objects.Clip))
		fmt.Printf("Its metadata:  %s\n", filepath.Join(root, last.Objects.Metadata))
		if last.Thumbnail.Status != "ok" {
			fmt.Printf("No thumbnails: %s\n", last.Thumbnail.Reason)
		}
	}
	return nil
}

func readMetadata(ctx context.Context, store objectstore.Store, key string) (archive.Metadata, error) {
	var metadata archive.Metadata
	body, err := store.Get(ctx, key)
	if err != nil {
		return metadata, err
	}
	defer body.Close()

	if err := json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&metadata); err != nil {
		return metadata, fmt.Errorf("metadata %s: %w", key, err)
	}
	return metadata, nil
}
