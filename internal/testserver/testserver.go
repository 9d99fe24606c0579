// Package testserver starts real servers for tests: MinIO as a child
// process and NATS with JetStream in-process. Import it only from _test.go
// files.
//
// Starting MinIO takes from under a second to several seconds on a loaded
// machine, so MinIO shares one server per test binary. A package that uses
// it stops the server in TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		testserver.Shutdown()
//		os.Exit(code)
//	}
//
// Without that, Linux still kills the server when the test binary exits,
// through the parent-death signal set on the child process, but its data
// directory stays behind in $TMPDIR (hikarchive-minio-*). Other systems
// leave the server running. Tests isolate themselves with a fresh bucket from
// MinIOServer.NewBucketName. A test that needs a server of its own, for
// example to stop it, uses NewMinIO.
package testserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Environment variables that tell the helpers where servers are and how
// strict to be.
const (
	// EnvMinIOBinary is the path of the minio binary. Without it the
	// helpers look for .tools/bin/minio in the repository root.
	EnvMinIOBinary = "HIKARCHIVE_MINIO_BIN"
	// EnvRequireServers set to 1 turns a missing server binary from a
	// skipped test into a failed one. scripts/test.sh sets it.
	EnvRequireServers = "HIKARCHIVE_REQUIRE_SERVERS"
)

// skipOrFail skips the test, or fails it when EnvRequireServers is 1.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	message := fmt.Sprintf(format, args...)
	if os.Getenv(EnvRequireServers) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure)", message, EnvRequireServers)
	}
	t.Skip(message)
}

// repoRoot returns the nearest directory at or above the working directory
// that contains go.mod. go test runs each package in its own directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory")
		}
		dir = parent
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process can take it before the server binds it, so callers retry
// a failed start with a new port.
func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// cappedBuffer keeps the last max bytes written to it, safe for
// concurrent use. It collects a server's output for failure messages.
type cappedBuffer struct {
	mu   sync.Mutex
	data []byte
	max  int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = append(b.data, p...)
	if excess := len(b.data) - b.max; excess > 0 {
		b.data = append(b.data[:0], b.data[excess:]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.data)
}

// Shutdown stops the servers shared by this test binary. Call it from
// TestMain after m.Run. It is safe to call when no server was started.
func Shutdown() {
	stopSharedMinIO()
}
