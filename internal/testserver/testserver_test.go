package testserver_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/testserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.Shutdown()
	os.Exit(code)
}

func TestMinIOSharedServerAnswers(t *testing.T) {
	first := testserver.MinIO(t)
	second := testserver.MinIO(t)

	assert.Same(t, first, second, "MinIO must share one server per test binary")
	assert.NotEmpty(t, first.AccessKey)
	assert.GreaterOrEqual(t, len(first.SecretKey), 8, "MinIO requires a root password of at least 8 characters")

	response, err := http.Get("http://" + first.Endpoint + "/minio/health/live")
	require.NoError(t, err)
	response.Body.Close()
	assert.Equal(t, http.StatusOK, response.StatusCode)
}

func TestMinIOBucketNamesAreFresh(t *testing.T) {
	server := testserver.MinIO(t)

	first, second := server.NewBucketName(), server.NewBucketName()
	assert.NotEqual(t, first, second)
	assert.Regexp(t, `^[a-z0-9][a-z0-9-]{2,62}$`, first, "bucket names must follow the S3 rules")
}

func TestNewMinIOStopsAtCleanup(t *testing.T) {
	var endpoint string
	t.Run("server", func(t *testing.T) {
		server := testserver.NewMinIO(t)
		endpoint = server.Endpoint
	})

	client := &http.Client{Timeout: 2 * time.Second}
	_, err := client.Get("http://" + endpoint + "/minio/health/live")
	assert.Error(t, err, "the dedicated server must be gone after its test ended")
}

func TestNATSJetStreamSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	server := testserver.NATS(t)

	js, err := jetstream.New(server.Conn)
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "RESTART", Subjects: []string{"restart.>"}})
	require.NoError(t, err)
	_, err = js.Publish(ctx, "restart.one", []byte("before"))
	require.NoError(t, err)

	server.Restart()

	// The connection reconnects on its own; wait for it instead of sleeping.
	require.Eventually(t, func() bool { return server.Conn.Status() == nats.CONNECTED },
		20*time.Second, 20*time.Millisecond, "connection did not reconnect after Restart")
	stream, err := js.Stream(ctx, "RESTART")
	require.NoError(t, err)
	message, err := stream.GetLastMsgForSubject(ctx, "restart.one")
	require.NoError(t, err)
	assert.Equal(t, "before", string(message.Data))
}

func TestNATSConnectionsCloseAtCleanup(t *testing.T) {
	var conn *nats.Conn
	t.Run("server", func(t *testing.T) {
		server := testserver.NATS(t)
		conn = server.Connect()
		require.True(t, conn.IsConnected())
	})

	assert.True(t, conn.IsClosed(), "connections made through the helper must be closed after the test")
}

// TestMinIOMissingBinary runs the test binary again in a directory whose
// repository root has no .tools/bin/minio and checks the outcome with and
// without HIKARCHIVE_REQUIRE_SERVERS.
func TestMinIOMissingBinary(t *testing.T) {
	if os.Getenv("TESTSERVER_CHILD") == "1" {
		testserver.MinIO(t)
		t.Fatal("MinIO returned without a binary")
	}

	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/empty\n"), 0o600))
	run := func(require string) (string, error) {
		command := exec.Command(os.Args[0], "-test.run", "^TestMinIOMissingBinary$", "-test.v")
		command.Dir = root
		command.Env = append(os.Environ(), "TESTSERVER_CHILD=1", "HIKARCHIVE_MINIO_BIN=", "HIKARCHIVE_REQUIRE_SERVERS="+require)
		output, err := command.CombinedOutput()
		return string(output), err
	}

	output, err := run("")
	assert.NoError(t, err, output)
	assert.Contains(t, output, "--- SKIP")
	assert.Contains(t, output, "run scripts/test.sh")

	output, err = run("1")
	assert.Error(t, err, "with HIKARCHIVE_REQUIRE_SERVERS=1 a missing binary must fail the test")
	assert.Contains(t, output, "--- FAIL")
	assert.Contains(t, output, "HIKARCHIVE_REQUIRE_SERVERS=1")
}
