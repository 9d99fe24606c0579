package broker_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/broker"
)

// logBuffer collects zerolog output from several goroutines.
type logBuffer struct {
	mu   sync.Mutex
	data bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data.String()
}

func newLogger() (zerolog.Logger, *logBuffer) {
	buffer := &logBuffer{}
	return zerolog.New(buffer).Level(zerolog.InfoLevel), buffer
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func startEmbedded(t *testing.T, options broker.EmbeddedOptions) *broker.Embedded {
	t.Helper()
	if options.StoreDir == "" {
		options.StoreDir = t.TempDir()
	}
	embedded, err := broker.StartEmbedded(options)
	require.NoError(t, err)
	t.Cleanup(func() { _ = embedded.Shutdown(context.Background()) })
	return embedded
}

func connect(t *testing.T, options broker.ConnectOptions) *nats.Conn {
	t.Helper()
	conn, err := broker.Connect(testContext(t), options)
	require.NoError(t, err)
	t.Cleanup(conn.Close)
	return conn
}

// publishAndRead stores one message in a new stream and reads it back.
func publishAndRead(t *testing.T, conn *nats.Conn, stream, data string) {
	t.Helper()
	ctx := testContext(t)
	js, err := jetstream.New(conn)
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}})
	require.NoError(t, err)
	_, err = js.Publish(ctx, stream+".test", []byte(data))
	require.NoError(t, err)

	readLast(t, conn, stream, data)
}

func readLast(t *testing.T, conn *nats.Conn, stream, expected string) {
	t.Helper()
	ctx := testContext(t)
	js, err := jetstream.New(conn)
	require.NoError(t, err)
	handle, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	message, err := handle.GetLastMsgForSubject(ctx, stream+".test")
	require.NoError(t, err)
	assert.Equal(t, expected, string(message.Data))
}

func TestEmbeddedTCPWithJetStream(t *testing.T) {
	logger, logs := newLogger()
	embedded := startEmbedded(t, broker.EmbeddedOptions{Port: -1, Logger: logger})

	assert.Regexp(t, `^nats://127\.0\.0\.1:[0-9]+$`, embedded.ClientURL())
	conn := connect(t, broker.ConnectOptions{URL: embedded.ClientURL(), Name: "test"})
	publishAndRead(t, conn, "TCP", "over tcp")

	assert.Contains(t, logs.String(), `"component":"nats-server"`, "server logs must go to zerolog")
	assert.Contains(t, logs.String(), "embedded NATS server started")
}

func TestEmbeddedInProcessOnly(t *testing.T) {
	embedded := startEmbedded(t, broker.EmbeddedOptions{Port: 0})

	assert.Empty(t, embedded.ClientURL(), "port 0 means no TCP listener")
	conn := connect(t, broker.ConnectOptions{Embedded: embedded})
	publishAndRead(t, conn, "INPROCESS", "in process")
}

func TestEmbeddedPersistsAcrossRestart(t *testing.T) {
	storeDir := t.TempDir()
	first, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: storeDir, Port: 0})
	require.NoError(t, err)
	conn, err := broker.Connect(testContext(t), broker.ConnectOptions{Embedded: first})
	require.NoError(t, err)
	publishAndRead(t, conn, "PERSIST", "kept")
	conn.Close()
	require.NoError(t, first.Shutdown(testContext(t)))

	second := startEmbedded(t, broker.EmbeddedOptions{StoreDir: storeDir, Port: 0})
	readLast(t, connect(t, broker.ConnectOptions{Embedded: second}), "PERSIST", "kept")
}

func TestEmbeddedShutdownReleasesPort(t *testing.T) {
	embedded, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: t.TempDir(), Port: -1})
	require.NoError(t, err)
	address := strings.TrimPrefix(embedded.ClientURL(), "nats://")

	require.NoError(t, embedded.Shutdown(testContext(t)))

	listener, err := net.Listen("tcp", address)
	require.NoError(t, err, "the port must be free once Shutdown returns")
	listener.Close()
}

func TestEmbeddedShutdownDeadline(t *testing.T) {
	embedded, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: t.TempDir(), Port: 0})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	err = embedded.Shutdown(ctx)
	if err != nil {
		// The server may stop before the canceled context is noticed. When
		// it does not, the error must report the cancellation.
		assert.ErrorIs(t, err, context.Canceled)
	}
	require.NoError(t, embedded.Shutdown(testContext(t)), "a second Shutdown waits for the first")
}

func TestEmbeddedTokenRequired(t *testing.T) {
	const token = "token-value-1234"
	logger, logs := newLogger()
	embedded := startEmbedded(t, broker.EmbeddedOptions{Port: -1, Token: token, Logger: logger})

	_, err := broker.Connect(testContext(t), broker.ConnectOptions{URL: embedded.ClientURL(), Logger: logger})
	require.Error(t, err, "a client without the token must be rejected")
	assert.Contains(t, err.Error(), "rejected the credentials")
	assert.ErrorIs(t, err, nats.ErrAuthorization)

	_, err = broker.Connect(testContext(t), broker.ConnectOptions{URL: embedded.ClientURL(), Token: "wrong-token"})
	assert.ErrorIs(t, err, nats.ErrAuthorization)

	conn := connect(t, broker.ConnectOptions{URL: embedded.ClientURL(), Token: token, Logger: logger})
	publishAndRead(t, conn, "TOKEN", "authorized")
	inProcess := connect(t, broker.ConnectOptions{Embedded: embedded, Logger: logger})
	assert.True(t, inProcess.IsConnected(), "in-process clients use the embedded server's token")

	assert.NotContains(t, logs.String(), token)
}

func TestEmbeddedStoreDirNotUsable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))

	_, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: filepath.Join(file, "store"), Port: 0})
	require.Error(t, err)
	assert.Contains(t, err.Error(), file)

	_, err = broker.StartEmbedded(broker.EmbeddedOptions{Port: 0})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "store directory is empty")
}

func TestEmbeddedPortInUse(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer listener.Close()
	port := listener.Addr().(*net.TCPAddr).Port

	_, err = broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: t.TempDir(), Port: port, ReadyTimeout: 20 * time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), listener.Addr().String())
	assert.Contains(t, err.Error(), "address already in use")
}

func TestEmbeddedInvalidPort(t *testing.T) {
	for _, port := range []int{-2, 65536} {
		_, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: t.TempDir(), Port: port})
		require.Error(t, err, "port %d", port)
		assert.Contains(t, err.Error(), "invalid port")
	}
}

func TestConnectLogsDisconnectAndReconnect(t *testing.T) {
	const token = "token-value-5678"
	storeDir := t.TempDir()
	logger, logs := newLogger()
	first, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: storeDir, Port: -1, Token: token})
	require.NoError(t, err)
	serverURL := first.ClientURL()
	port := first.ClientURL()[strings.LastIndex(serverURL, ":")+1:]

	// The token also sits in the URL, to check that logs strip it there too.
	urlWithToken := strings.Replace(serverURL, "nats://", "nats://"+token+"@", 1)
	conn := connect(t, broker.ConnectOptions{URL: urlWithToken, Logger: logger})

	require.NoError(t, first.Shutdown(testContext(t)))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "NATS disconnected") },
		20*time.Second, 10*time.Millisecond, "no disconnect line in the log:\n%s", logs)

	portNumber, err := net.LookupPort("tcp", port)
	require.NoError(t, err)
	startEmbedded(t, broker.EmbeddedOptions{StoreDir: storeDir, Port: portNumber, Token: token})
	require.Eventually(t, conn.IsConnected, 30*time.Second, 10*time.Millisecond, "client did not reconnect")
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "NATS reconnected") },
		5*time.Second, 10*time.Millisecond, "no reconnect line in the log:\n%s", logs)

	conn.Close()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "NATS connection closed") },
		5*time.Second, 10*time.Millisecond, "no close line in the log:\n%s", logs)

	output := logs.String()
	assert.Contains(t, output, strings.TrimPrefix(serverURL, "nats://"), "log lines must name the server")
	assert.NotContains(t, output, token, "log lines must not contain the token")
}

func TestConnectGivesUpAtDeadline(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	address := listener.Addr().String()
	require.NoError(t, listener.Close())
	logger, logs := newLogger()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = broker.Connect(ctx, broker.ConnectOptions{URL: "nats://user:password-value@" + address, Logger: logger})

	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), address)
	assert.Contains(t, err.Error(), "check that the server runs")
	assert.NotContains(t, err.Error(), "password-value")
	assert.Contains(t, logs.String(), "NATS connect failed, retrying")
	assert.NotContains(t, logs.String(), "password-value")
}

func TestConnectRetriesUntilServerStarts(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := listener.Addr().(*net.TCPAddr).Port
	require.NoError(t, listener.Close())

	type result struct {
		conn *nats.Conn
		err  error
	}
	results := make(chan result, 1)
	go func() {
		conn, err := broker.Connect(testContext(t), broker.ConnectOptions{URL: listener.Addr().String()})
		results <- result{conn, err}
	}()

	// The client is retrying by now or soon; either way it must connect.
	startEmbedded(t, broker.EmbeddedOptions{Port: port})
	connected := <-results
	require.NoError(t, connected.err)
	defer connected.conn.Close()
	assert.True(t, connected.conn.IsConnected())
}

func TestConnectInvalidOptions(t *testing.T) {
	embedded := startEmbedded(t, broker.EmbeddedOptions{Port: 0})
	cases := map[string]broker.ConnectOptions{
		"no server":             {},
		"URL and embedded":      {URL: "nats://127.0.0.1:4222", Embedded: embedded},
		"token and credentials": {Embedded: embedded, Token: "t", CredentialsFile: "/dev/null"},
		"missing credentials":   {Embedded: embedded, CredentialsFile: filepath.Join(t.TempDir(), "absent.creds")},
	}
	for name, options := range cases {
		_, err := broker.Connect(testContext(t), options)
		assert.Error(t, err, name)
	}
}
