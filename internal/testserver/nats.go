package testserver

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// natsReadyTimeout bounds the wait for an in-process NATS server to accept
// clients. It usually takes milliseconds.
const natsReadyTimeout = 10 * time.Second

// NATSServer is an in-process NATS server with JetStream on 127.0.0.1.
// Its store survives Restart, so tests can check what persists across a
// server crash.
type NATSServer struct {
	URL      string     // nats://127.0.0.1:<port>
	Conn     *nats.Conn // reconnects forever, closed at the end of the test
	StoreDir string     // JetStream store, removed at the end of the test

	t       testing.TB
	mu      sync.Mutex
	options server.Options
	server  *server.Server
	conns   []*nats.Conn
}

// NATS starts a NATS server with JetStream for this test and connects to
// it. The server and all connections made through it stop when the test
// ends.
func NATS(t testing.TB) *NATSServer {
	t.Helper()

	s := &NATSServer{t: t, StoreDir: t.TempDir()}
	s.options = server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  s.StoreDir,
		NoSigs:    true,
		NoLog:     true,
	}
	s.Start()
	t.Cleanup(s.cleanup)

	// Keep the port of the first start, so that clients find the server
	// again after Restart.
	s.options.Port = s.server.Addr().(*net.TCPAddr).Port
	s.URL = s.server.ClientURL()
	s.Conn = s.Connect()
	return s
}

// Connect opens another connection that reconnects forever and is closed
// at the end of the test.
func (s *NATSServer) Connect(options ...nats.Option) *nats.Conn {
	s.t.Helper()

	defaults := []nats.Option{
		nats.Name(s.t.Name()),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
	}
	conn, err := nats.Connect(s.server.ClientURL(), append(defaults, options...)...)
	if err != nil {
		s.t.Fatalf("connecting to NATS at %s: %v", s.server.ClientURL(), err)
	}

	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.mu.Unlock()
	return conn
}

// Server returns the running server, for example to inspect JetStream
// state.
func (s *NATSServer) Server() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.server
}

// Start starts the server, on the same port and store as before when it
// was stopped. It fails the test if the server is not ready in time.
func (s *NATSServer) Start() {
	s.t.Helper()

	options := s.options
	srv, err := server.NewServer(&options)
	if err != nil {
		s.t.Fatalf("configuring NATS server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(natsReadyTimeout) {
		srv.Shutdown()
		s.t.Fatalf("NATS server on %s:%d not ready within %s", options.Host, options.Port, natsReadyTimeout)
	}

	s.mu.Lock()
	s.server = srv
	s.mu.Unlock()
}

// Stop shuts the server down and waits until it has stopped. Connections
// stay open and reconnect after Start.
func (s *NATSServer) Stop() {
	s.mu.Lock()
	srv := s.server
	s.mu.Unlock()

	srv.Shutdown()
	srv.WaitForShutdown()
}

// Restart stops and starts the server on the same port and store.
func (s *NATSServer) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

func (s *NATSServer) cleanup() {
	s.mu.Lock()
	conns := s.conns
	srv := s.server
	s.mu.Unlock()

	for _, conn := range conns {
		conn.Close()
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}
