package testserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// minioReadyTimeout bounds the wait for a started MinIO to pass its
// liveness check. Starting takes under a second to a few seconds, and the
// large margin covers a loaded CI runner.
const minioReadyTimeout = 90 * time.Second

// MinIOServer is a running MinIO server on 127.0.0.1.
type MinIOServer struct {
	Endpoint  string // host:port of the S3 API, plain HTTP
	AccessKey string // root user
	SecretKey string // root password

	cmd     *exec.Cmd
	output  *cappedBuffer
	baseDir string        // data and certs directories, removed on stop
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	stopOnce sync.Once
}

var sharedMinIO struct {
	once   sync.Once
	mu     sync.Mutex
	server *MinIOServer
	err    error
}

// MinIO returns the MinIO server shared by this test binary, starting it
// on first use. It skips the test when no minio binary is found, or fails
// it when HIKARCHIVE_REQUIRE_SERVERS=1. See the package documentation for
// stopping it in TestMain.
func MinIO(t testing.TB) *MinIOServer {
	t.Helper()
	binary := minioBinary(t)

	sharedMinIO.once.Do(func() {
		server, err := startMinIO(binary, "")
		sharedMinIO.mu.Lock()
		sharedMinIO.server, sharedMinIO.err = server, err
		sharedMinIO.mu.Unlock()
	})

	sharedMinIO.mu.Lock()
	server, err := sharedMinIO.server, sharedMinIO.err
	sharedMinIO.mu.Unlock()
	if err != nil {
		t.Fatalf("starting shared MinIO: %v", err)
	}
	if server == nil {
		t.Fatal("shared MinIO was stopped by testserver.Shutdown before this test")
	}
	if server.hasExited() {
		t.Fatalf("shared MinIO at %s exited: %v\noutput:\n%s", server.Endpoint, server.waitErr, server.output)
	}
	return server
}

// NewMinIO starts a MinIO server for this test alone and stops it when the
// test ends.
func NewMinIO(t testing.TB) *MinIOServer {
	t.Helper()
	binary := minioBinary(t)

	server, err := startMinIO(binary, t.TempDir())
	if err != nil {
		t.Fatalf("starting MinIO: %v", err)
	}
	t.Cleanup(server.Stop)
	return server
}

func stopSharedMinIO() {
	sharedMinIO.mu.Lock()
	server := sharedMinIO.server
	sharedMinIO.server = nil
	sharedMinIO.mu.Unlock()
	if server != nil {
		server.Stop()
	}
}

// NewBucketName returns a bucket name that no other test uses. It does
// not create the bucket.
func (s *MinIOServer) NewBucketName() string {
	return "test-" + randomHex(8)
}

// Output returns the last 64 KiB of the server's output.
func (s *MinIOServer) Output() string {
	return s.output.String()
}

// Stop kills the server, waits for it to exit and removes its data.
// Calling Stop again does nothing.
func (s *MinIOServer) Stop() {
	s.stopOnce.Do(func() {
		if !s.hasExited() {
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		_ = os.RemoveAll(s.baseDir)
	})
}

func (s *MinIOServer) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// minioBinary finds the minio binary or skips (or fails) the test.
func minioBinary(t testing.TB) string {
	t.Helper()
	if path := os.Getenv(EnvMinIOBinary); path != "" {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s=%s: %v", EnvMinIOBinary, path, err)
		}
		return path
	}

	root, err := repoRoot()
	if err != nil {
		skipOrFail(t, "MinIO binary not found (%v): run scripts/test.sh, which builds it, or set %s", err, EnvMinIOBinary)
		return ""
	}
	path := filepath.Join(root, ".tools", "bin", "minio")
	if _, err := os.Stat(path); err != nil {
		skipOrFail(t, "MinIO binary not found at %s: run scripts/test.sh, which builds it, or set %s", path, EnvMinIOBinary)
		return ""
	}
	return path
}

// startMinIO starts a server under baseDir, or under a new temporary
// directory when baseDir is empty. It retries with new ports when another
// process takes a port between picking and binding it.
func startMinIO(binary, baseDir string) (*MinIOServer, error) {
	if baseDir == "" {
		dir, err := os.MkdirTemp("", "hikarchive-minio-")
		if err != nil {
			return nil, err
		}
		baseDir = dir
	}

	var lastErr error
	for attempt := range 3 {
		attemptDir := filepath.Join(baseDir, "attempt-"+strconv.Itoa(attempt))
		server, err := startMinIOOnce(binary, attemptDir)
		if err == nil {
			server.baseDir = baseDir
			return server, nil
		}
		lastErr = err
		// Only an early exit can be a lost port race; a server that never
		// became ready would just time out again.
		if !errors.Is(err, errExitedEarly) {
			break
		}
	}
	_ = os.RemoveAll(baseDir)
	return nil, lastErr
}

var errExitedEarly = errors.New("process exited before it was ready")

func startMinIOOnce(binary, dir string) (*MinIOServer, error) {
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	consolePort, err := freePort()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	certsDir := filepath.Join(dir, "certs")
	for _, path := range []string{dataDir, certsDir} {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, err
		}
	}

	server := &MinIOServer{
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", apiPort),
		AccessKey: "hikarchive-" + randomHex(4),
		SecretKey: randomHex(16),
		output:    &cappedBuffer{max: 64 << 10},
		exited:    make(chan struct{}),
		baseDir:   dir,
	}
	server.cmd = exec.Command(binary, "server",
		"--address", server.Endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", consolePort),
		"--certs-dir", certsDir,
		dataDir)
	server.cmd.Env = minioEnvironment(server.AccessKey, server.SecretKey)
	server.cmd.Stdout = server.output
	server.cmd.Stderr = server.output
	server.cmd.SysProcAttr = childProcAttr()

	if err := server.start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", binary, err)
	}
	if err := server.waitReady(minioReadyTimeout); err != nil {
		server.Stop()
		return nil, fmt.Errorf("MinIO at %s: %w\noutput:\n%s", server.Endpoint, err, server.output)
	}
	return server, nil
}

// start runs the process from a goroutine locked to its OS thread for the
// lifetime of the child: Linux sends the parent-death signal when the
// thread that started the child exits, not the process.
func (s *MinIOServer) start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			close(s.exited)
			return
		}
		started <- nil
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return <-started
}

// waitReady waits until the server answers an authenticated S3 request.
// The health endpoint answers before the object layer is initialized, and
// requests in that window fail with "Server not initialized yet".
func (s *MinIOServer) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	client, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		return err
	}

	for {
		request, cancelRequest := context.WithTimeout(ctx, 2*time.Second)
		_, err = client.ListBuckets(request)
		cancelRequest()
		if err == nil {
			return nil
		}

		select {
		case <-s.exited:
			return fmt.Errorf("%w: %v", errExitedEarly, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("MinIO at %s did not list buckets within %s (last error: %v)", s.Endpoint, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// minioEnvironment returns this process's environment without MINIO_*
// variables, plus the root credentials, so that a developer's MinIO
// settings do not leak into the test server.
func minioEnvironment(user, password string) []string {
	var environment []string
	for _, entry := range os.Environ() {
		if !strings.HasPrefix(entry, "MINIO_") {
			environment = append(environment, entry)
		}
	}
	return append(environment,
		"MINIO_ROOT_USER="+user,
		"MINIO_ROOT_PASSWORD="+password,
		"MINIO_UPDATE=off",
	)
}

func randomHex(bytes int) string {
	random := make([]byte, bytes)
	// Since Go 1.24 crypto/rand.Read never returns an error.
	_, _ = rand.Read(random)
	return hex.EncodeToString(random)
}
