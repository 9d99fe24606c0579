package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binaries holds the scanner and archiver commands, built once per test
// binary so that the tests can kill them like an operator or the kernel
// would.
var binaries struct {
	once     sync.Once
	dir      string
	scanner  string
	archiver string
	err      error
}

func buildBinaries(t *testing.T) (scanner, archiver string) {
	t.Helper()
	binaries.once.Do(func() {
		binaries.dir, binaries.err = os.MkdirTemp("", "hikarchive-e2e-bin-")
		if binaries.err != nil {
			return
		}
		binaries.scanner = filepath.Join(binaries.dir, "scanner")
		binaries.archiver = filepath.Join(binaries.dir, "archiver")
		for _, target := range []struct{ out, pkg string }{
			{binaries.scanner, "github.com/hikarchive/hikarchive/cmd/scanner"},
			{binaries.archiver, "github.com/hikarchive/hikarchive/cmd/archiver"},
		} {
			output, err := exec.Command("go", "build", "-o", target.out, target.pkg).CombinedOutput()
			if err != nil {
				binaries.err = fmt.Errorf("go build %s: %v\n%s", target.pkg, err, output)
				return
			}
		}
	})
	require.NoError(t, binaries.err)
	return binaries.scanner, binaries.archiver
}

// writeConfig writes the YAML configuration both commands read.
func (e *env) writeConfig(rateLimit string) string {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), "hikarchive.yaml")
	config := fmt.Sprintf(`log:
  level: debug
  format: json
nats:
  url: %q
store:
  kind: s3
  s3:
    endpoint: %q
    bucket: %q
    secure: false
    create_bucket: true
    part_size: 5MiB
cameras:
  - id: %q
    path: %q
    timezone: Europe/Berlin
scanner:
  schedule: "@every 1s"
archiver:
  concurrency: 2
  ack_wait: 20s
  retry_min: 200ms
  retry_max: 1s
  thumbnail_width: %d
  rate_limit: %s
`, e.nats.URL, e.minio.Endpoint, e.bucket, cameraID, e.dir, thumbnailWidth, rateLimit)
	require.NoError(e.t, os.WriteFile(path, []byte(config), 0o600))
	return path
}

// process is a running scanner or archiver command with its JSON log lines.
type process struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []map[string]any
	seen  chan struct{} // receives after each log line
	done  chan struct{}
}

func (e *env) start(binary, configPath string) *process {
	e.t.Helper()
	cmd := exec.Command(binary, "-config", configPath)
	cmd.Env = append(os.Environ(),
		"HIKARCHIVE_S3_ACCESS_KEY="+e.minio.AccessKey,
		"HIKARCHIVE_S3_SECRET_KEY="+e.minio.SecretKey,
	)
	stderr, err := cmd.StderrPipe()
	require.NoError(e.t, err)
	require.NoError(e.t, cmd.Start())

	p := &process{cmd: cmd, seen: make(chan struct{}, 1), done: make(chan struct{})}
	go p.read(stderr, e.t)
	e.t.Cleanup(p.kill)
	return p
}

func (p *process) read(r io.Reader, t *testing.T) {
	defer close(p.done)
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var line map[string]any
		if json.Unmarshal(scanner.Bytes(), &line) != nil {
			t.Logf("non-JSON output: %s", scanner.Text())
			continue
		}
		p.mu.Lock()
		p.lines = append(p.lines, line)
		p.mu.Unlock()
		select {
		case p.seen <- struct{}{}:
		default:
		}
	}
}

// waitFor waits until a log line has the given message and returns it.
func (p *process) waitFor(t *testing.T, message string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if line := p.find(message); line != nil {
			return line
		}
		select {
		case <-p.seen:
		case <-p.done:
			if line := p.find(message); line != nil {
				return line
			}
			t.Fatalf("process exited before logging %q", message)
		case <-deadline:
			t.Fatalf("no log line %q within %s", message, timeout)
		}
	}
}

func (p *process) find(message string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range p.lines {
		if line["message"] == message {
			return line
		}
	}
	return nil
}

// segments returns the segment id of every log line with the given message.
func (p *process) segments(message string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for _, line := range p.lines {
		if line["message"] == message {
			ids = append(ids, fmt.Sprint(line["segment"]))
		}
	}
	return ids
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
	<-p.done
}

// stop ends the process with SIGTERM and waits for it to exit cleanly.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.cmd.Wait())
	<-p.done
}

func TestArchiverKilledMidUploadResumes(t *testing.T) {
	_, archiverBinary := buildBinaries(t)
	e := newEnv(t, 4, 2<<20)
	e.archiverVersion = ""
	e.record(e.scanner(), 8, 3*time.Second)
	closed := len(e.closedEvents())
	require.Greater(t, closed, 2)

	// At 64 KiB/s a segment takes a few seconds to upload, so the kill
	// lands in the middle of one.
	slow := e.writeConfig("64KiB")
	first := e.start(archiverBinary, slow)
	inFlight := first.waitFor(t, "uploading clip", time.Minute)["segment"]
	first.kill()

	archivedBefore := map[string]bool{}
	for id := range e.archivedEvents() {
		archivedBefore[id] = true
	}
	require.False(t, archivedBefore[fmt.Sprint(inFlight)], "the killed upload must not count as archived")

	second := e.start(archiverBinary, e.writeConfig("0"))
	e.waitDrained()
	second.stop(t)

	for _, id := range second.segments("uploading clip") {
		require.False(t, archivedBefore[id], "segment %s was uploaded again after it was archived", id)
	}
	archived, lost := e.checkEverySegment(e.store)
	require.Equal(t, closed, archived)
	require.Zero(t, lost)
	e.checkNoOrphans(e.store)
}

func TestScannerKilledRepeatedlyMissesNothing(t *testing.T) {
	scannerBinary, _ := buildBinaries(t)
	e := newEnv(t, 4, 2<<20)
	configPath := e.writeConfig("0")

	// The camera records 80 s of camera time in 40 steps, about ten times
	// real speed, while the scanner is killed and restarted. The amount
	// recorded is fixed, so a slow machine changes only how many kills
	// land during it.
	cameraDone := make(chan error, 1)
	go func() {
		for step := 0; step < 40; step++ {
			time.Sleep(200 * time.Millisecond)
			if err := e.camera.Advance(2 * time.Second); err != nil {
				cameraDone <- err
				return
			}
		}
		cameraDone <- nil
	}()

	var cameraErr error
	recording := true
	for round := 0; recording; round++ {
		p := e.start(scannerBinary, configPath)
		p.waitFor(t, "scanner started", 30*time.Second)
		select {
		case cameraErr = <-cameraDone:
			recording = false
		case <-time.After(time.Duration(1500+700*(round%3)) * time.Millisecond):
		}
		p.kill()
	}
	require.NoError(t, cameraErr)

	var want []string
	for _, r := range e.camera.Record() {
		if r.Open {
			continue
		}
		require.False(t, r.Overwritten, "the ring must not wrap in this test")
		want = append(want, recordID(r))
	}
	require.Greater(t, len(want), 10)

	// A last scanner runs until it has caught up.
	last := e.start(scannerBinary, configPath)
	last.waitFor(t, "scanner started", 30*time.Second)
	require.Eventually(t, func() bool { return len(e.closedEvents()) >= len(want) }, time.Minute, 200*time.Millisecond)
	last.stop(t)

	closed := e.closedEvents()
	require.Len(t, closed, len(want))
	for _, id := range want {
		require.Contains(t, closed, id, "segment %s was never published", id)
	}
	require.Empty(t, e.lostEvents())
}

func TestArchiverSIGTERMFinishesInFlight(t *testing.T) {
	_, archiverBinary := buildBinaries(t)
	e := newEnv(t, 4, 2<<20)
	e.archiverVersion = ""
	e.record(e.scanner(), 8, 3*time.Second)
	closed := len(e.closedEvents())

	// SIGTERM in the middle of a slow upload: the archiver stops fetching,
	// finishes the segments in flight and exits cleanly.
	first := e.start(archiverBinary, e.writeConfig("64KiB"))
	inFlight := fmt.Sprint(first.waitFor(t, "uploading clip", time.Minute)["segment"])
	first.stop(t)
	first.waitFor(t, "archiver stopped", time.Second)

	archivedBefore := e.archivedEvents()
	require.Contains(t, archivedBefore, inFlight, "the segment in flight at SIGTERM must be finished, not abandoned")
	require.Less(t, len(archivedBefore), closed, "the archiver must stop fetching after SIGTERM")

	second := e.start(archiverBinary, e.writeConfig("0"))
	e.waitDrained()
	second.stop(t)

	for _, id := range second.segments("uploading clip") {
		require.NotContains(t, archivedBefore, id, "segment %s was uploaded again after it was archived", id)
	}
	archived, lost := e.checkEverySegment(e.store)
	require.Equal(t, closed, archived)
	require.Zero(t, lost)
	e.checkNoOrphans(e.store)
}
