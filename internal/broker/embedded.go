// Package broker runs the embedded NATS server of the single-box setup and
// opens client connections to NATS for every setup.
package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// DefaultReadyTimeout bounds StartEmbedded's wait for the server.
const DefaultReadyTimeout = 30 * time.Second

// EmbeddedOptions configure StartEmbedded.
type EmbeddedOptions struct {
	// StoreDir is the JetStream storage directory, created if missing.
	// NATS keeps its files in the "jetstream" subdirectory.
	StoreDir string

	// Host is the TCP listen address. Empty means 127.0.0.1, so the
	// server is reachable from this machine only.
	Host string
	// Port is the TCP client port. -1 picks a free port (see ClientURL);
	// 0 opens no TCP listener at all, so that only in-process clients
	// (Connect with ConnectOptions.Embedded) can connect.
	Port int

	// Token, when set, is required from every client, in-process ones
	// included. It is never logged.
	Token string

	// ServerName names the server in logs and monitoring. Empty means
	// "hikarchive".
	ServerName string

	// SyncAlways makes JetStream fsync every write before acknowledging
	// it. Without it JetStream fsyncs every 2 minutes (nats-server v2.15
	// default), so a power loss can lose acknowledged messages from that
	// window. A process crash cannot, because the writes already reached
	// the operating system.
	SyncAlways bool

	// ReadyTimeout bounds the wait for the server to accept clients,
	// including JetStream's recovery of its store. Zero means
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration

	// Logger receives the server's log lines. The zero value discards them.
	Logger zerolog.Logger
}

// Embedded is a NATS server with JetStream running inside this process.
type Embedded struct {
	server  *server.Server
	options EmbeddedOptions
	logger  zerolog.Logger
}

// StartEmbedded starts the server and waits until it accepts clients and
// JetStream is ready. It returns an error naming the cause (port in use,
// store not writable, timeout) and leaves no server running on error.
func StartEmbedded(options EmbeddedOptions) (*Embedded, error) {
	serverOptions, err := options.serverOptions()
	if err != nil {
		return nil, err
	}

	srv, err := server.NewServer(serverOptions)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: invalid configuration: %w", err)
	}
	logger := options.Logger.With().Str("component", "nats-server").Logger()
	adapter := newServerLogger(logger)
	srv.SetLoggerV2(adapter, logger.GetLevel() <= zerolog.DebugLevel, false, false)

	go srv.Start()
	if err := waitReady(srv, adapter, options.ReadyTimeout); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("embedded NATS server (store %s, %s): %w", options.StoreDir, describeListener(options), err)
	}

	embedded := &Embedded{server: srv, options: options, logger: logger}
	logger.Info().
		Str("store_dir", options.StoreDir).
		Str("client_url", embedded.ClientURL()).
		Bool("token_required", options.Token != "").
		Msg("embedded NATS server started")
	if options.Port != 0 && options.Token == "" && !isLoopback(options.Host) {
		logger.Warn().Str("host", options.Host).
			Msg("embedded NATS server listens beyond loopback without a token: any host that reaches the port can read and change the archive queue")
	}
	return embedded, nil
}

// serverOptions validates options, fills defaults in place and converts
// them to nats-server options.
func (options *EmbeddedOptions) serverOptions() (*server.Options, error) {
	if options.StoreDir == "" {
		return nil, errors.New("embedded NATS server: store directory is empty: set it to a directory for JetStream data")
	}
	if options.Port < -1 || options.Port > 65535 {
		return nil, fmt.Errorf("embedded NATS server: invalid port %d: use 1-65535, -1 for a free port or 0 for no TCP listener", options.Port)
	}
	storeDir, err := filepath.Abs(options.StoreDir)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: store directory %q: %w", options.StoreDir, err)
	}
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded NATS server: creating store directory: %w", err)
	}
	options.StoreDir = storeDir

	if options.Host == "" {
		options.Host = "127.0.0.1"
	}
	if options.ServerName == "" {
		options.ServerName = "hikarchive"
	}
	if options.ReadyTimeout <= 0 {
		options.ReadyTimeout = DefaultReadyTimeout
	}

	serverOptions := &server.Options{
		ServerName:    options.ServerName,
		Host:          options.Host,
		Port:          options.Port,
		DontListen:    options.Port == 0,
		JetStream:     true,
		StoreDir:      storeDir,
		SyncAlways:    options.SyncAlways,
		Authorization: options.Token,
		// The application owns signal handling and shutdown.
		NoSigs: true,
	}
	if options.Port == 0 {
		// nats-server replaces port 0 with its default 4222. DontListen
		// already keeps it from listening, and -1 keeps 4222 out of it.
		serverOptions.Port = server.RANDOM_PORT
	}
	return serverOptions, nil
}

// waitReady polls until the server accepts clients with JetStream enabled,
// or returns the first fatal log message, or times out.
func waitReady(srv *server.Server, adapter *serverLogger, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case message := <-adapter.fatal:
			return errors.New(message)
		default:
		}

		if srv.ReadyForConnections(50*time.Millisecond) && srv.JetStreamEnabled() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s: check the log lines of component nats-server", timeout)
		}
	}
}

// ClientURL returns the URL for TCP clients, or "" when the server has no
// TCP listener (Port 0). For an unspecified host such as 0.0.0.0 the URL
// names 127.0.0.1.
func (e *Embedded) ClientURL() string {
	if e.options.Port == 0 {
		return ""
	}
	address, ok := e.server.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := e.options.Host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(address.Port))
}

// StoreDir returns the absolute JetStream storage directory.
func (e *Embedded) StoreDir() string {
	return e.options.StoreDir
}

// Shutdown stops the server and waits until it has stopped, including
// JetStream, which closes its store files. If ctx ends first, Shutdown returns
// an error and the server finishes stopping in the background.
func (e *Embedded) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		e.server.Shutdown()
		e.server.WaitForShutdown()
		close(done)
	}()

	select {
	case <-done:
		e.logger.Info().Str("store_dir", e.options.StoreDir).Msg("embedded NATS server stopped")
		return nil
	case <-ctx.Done():
		e.logger.Error().Err(ctx.Err()).Msg("embedded NATS server still stopping after the shutdown deadline")
		return fmt.Errorf("embedded NATS server did not stop in time: %w", ctx.Err())
	}
}

func describeListener(options EmbeddedOptions) string {
	switch options.Port {
	case 0:
		return "no TCP listener"
	case -1:
		return "listening on " + options.Host + ", free port"
	default:
		return "listening on " + net.JoinHostPort(options.Host, strconv.Itoa(options.Port))
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
