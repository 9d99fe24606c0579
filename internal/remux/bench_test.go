package remux

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hikarchive/hikarchive/internal/camsim"
)

// BenchmarkRemux remuxes one simulated segment of H.264 with G.711 A-law
// audio from a file to io.Discard, and reports throughput (MB/s) and the
// peak heap in use during the remux.
//
// HIKARCHIVE_BENCH_SEGMENT_MB sets the segment size (default 16; a real
// hiv file is 256). HIKARCHIVE_BENCH_SEGMENT names the segment file, which
// is written only when missing, so scripts/bench-remux.sh can give ffmpeg
// the same input.
func BenchmarkRemux(b *testing.B) {
	path := segmentFile(b)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ReportAllocs()

	var peak atomic.Uint64
	stop := sampleHeap(&peak)
	defer stop()

	b.ResetTimer()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Remux(context.Background(), f, info.Size(), io.Discard, Options{})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Frames), "frames")
		b.ReportMetric(float64(res.Size)/(1<<20), "mp4-MiB")
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakRSS())/(1<<10), "process-peak-RSS-MiB")
}

// segmentFile returns the benchmark segment, writing it if missing.
func segmentFile(b *testing.B) string {
	b.Helper()
	path := os.Getenv("HIKARCHIVE_BENCH_SEGMENT")
	if path == "" {
		path = filepath.Join(b.TempDir(), "segment.ps")
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}

	mb := 16
	if v := os.Getenv("HIKARCHIVE_BENCH_SEGMENT_MB"); v != "" {
		var err error
		if mb, err = strconv.Atoi(v); err != nil || mb < 1 {
			b.Fatalf("HIKARCHIVE_BENCH_SEGMENT_MB=%q is not a positive number of MiB", v)
		}
	}

	// The simulator writes about 1.5 KB per frame with audio; write frames
	// in batches until the file reaches the size, on key frame boundaries.
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var written int64
	var pts uint64
	for written < int64(mb)<<20 {
		info, err := camsim.WriteStream(w, camsim.StreamConfig{Frames: 250, Audio: camsim.G711A, StartPTS: pts})
		if err != nil {
			b.Fatal(err)
		}
		written += info.Bytes
		pts = (pts + 250*3600) % (1 << 33)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// sampleHeap records the largest heap object bytes seen every 5 ms until
// the returned function is called.
func sampleHeap(peak *atomic.Uint64) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	}()
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			close(done)
			<-finished
		}
	}
}

// peakRSS returns the process's peak resident set size in KiB (VmHWM), or
// 0 where /proc is missing.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
