package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// EnvToken is the environment variable from which callers read
// ConnectOptions.Token.
const EnvToken = "HIKARCHIVE_NATS_TOKEN"

// Reconnect backoff bounds: the delay doubles from the minimum up to the
// maximum, with up to 20% random jitter so that many clients do not
// reconnect in lockstep.
const (
	minReconnectDelay = 100 * time.Millisecond
	maxReconnectDelay = 10 * time.Second
)

// ConnectOptions configure Connect. Exactly one of URL and Embedded is set.
type ConnectOptions struct {
	// URL of the server, e.g. "nats://nats.example:4222", or several
	// separated by commas. Credentials in the URL are never logged.
	URL string
	// Embedded connects in-process to this server, without TCP. Its token,
	// if any, is used unless Token is set.
	Embedded *Embedded

	// Name identifies the client in the server's monitoring, e.g.
	// "hikarchive-archiver".
	Name string
	// CredentialsFile is a NATS .creds file (user JWT and NKey seed).
	CredentialsFile string
	// Token authenticates with a server token. The caller reads it from
	// HIKARCHIVE_NATS_TOKEN. It is never logged.
	Token string

	// Logger receives connection events. The zero value discards them.
	Logger zerolog.Logger
}

// Connect opens a connection and keeps it open: after the first connect it
// reconnects forever with backoff, buffering publishes meanwhile (nats.go
// v1.56 keeps up to 8 MiB by default). Until the first connect succeeds,
// Connect retries with the same backoff while ctx allows. An authorization
// error ends the retries at once, because a retry sends the same
// credentials.
// Connection events (disconnect, reconnect, close) are logged with the
// server URL without credentials.
func Connect(ctx context.Context, options ConnectOptions) (*nats.Conn, error) {
	target, err := options.validate()
	if err != nil {
		return nil, err
	}
	logger := options.Logger.With().Str("component", "nats-client").Str("nats_url", target).Logger()
	events := &connectionEvents{logger: logger, fallbackURL: target}
	natsOptions := options.natsOptions(events)

	for attempt := 1; ; attempt++ {
		conn, err := nats.Connect(options.URL, natsOptions...)
		if err == nil {
			return conn, nil
		}
		if isAuthError(err) {
			return nil, fmt.Errorf("NATS server %s rejected the credentials: %w: check the token or credentials file", target, err)
		}

		delay := reconnectDelay(attempt)
		logger.Warn().Err(err).Int("attempt", attempt).Dur("retry_in", delay).Msg("NATS connect failed, retrying")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connecting to NATS server %s: gave up after %d attempts: %w (last error: %v): "+
				"check that the server runs and that the URL is right", target, attempt, ctx.Err(), err)
		case <-time.After(delay):
		}
	}
}

// validate checks the options and returns the redacted target for logs.
func (options ConnectOptions) validate() (string, error) {
	switch {
	case options.URL == "" && options.Embedded == nil:
		return "", errors.New("NATS connect: no server: set a URL or the embedded server")
	case options.URL != "" && options.Embedded != nil:
		return "", errors.New("NATS connect: both a URL and the embedded server are set: choose one")
	case options.Token != "" && options.CredentialsFile != "":
		return "", errors.New("NATS connect: both a token and a credentials file are set: choose one")
	}
	if options.CredentialsFile != "" {
		if _, err := os.Stat(options.CredentialsFile); err != nil {
			return "", fmt.Errorf("NATS credentials file: %w", err)
		}
	}

	if options.Embedded != nil {
		return "in-process", nil
	}
	return redactURLs(options.URL), nil
}

func (options ConnectOptions) natsOptions(events *connectionEvents) []nats.Option {
	natsOptions := []nats.Option{
		nats.Name(options.Name),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.ConnectHandler(events.connected),
		nats.DisconnectErrHandler(events.disconnected),
		nats.ReconnectErrHandler(events.reconnectFailed),
		nats.ReconnectHandler(events.reconnected),
		nats.ClosedHandler(events.closed),
		nats.ErrorHandler(events.asyncError),
	}

	token := options.Token
	if options.Embedded != nil {
		natsOptions = append(natsOptions, nats.InProcessServer(options.Embedded.server))
		if token == "" {
			token = options.Embedded.options.Token
		}
	}
	if token != "" {
		natsOptions = append(natsOptions, nats.Token(token))
	}
	if options.CredentialsFile != "" {
		natsOptions = append(natsOptions, nats.UserCredentials(options.CredentialsFile))
	}
	return natsOptions
}

// reconnectDelay returns the wait before reconnect attempt number attempt
// (counting from 1).
func reconnectDelay(attempt int) time.Duration {
	delay := minReconnectDelay
	for range min(attempt-1, 20) {
		delay *= 2
		if delay >= maxReconnectDelay {
			delay = maxReconnectDelay
			break
		}
	}
	jitter := time.Duration(rand.Int64N(int64(delay)/5 + 1))
	return delay + jitter
}

func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired)
}

// redactURLs removes user information (user, password or token) from a
// comma-separated list of NATS URLs.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, part := range parts {
		parts[i] = redactURL(strings.TrimSpace(part))
	}
	return strings.Join(parts, ",")
}

func redactURL(raw string) string {
	parsed, err := url.Parse(raw)
	if err != nil || parsed.Host == "" {
		// Not a URL with an authority, such as "host:4222". Keep what follows
		// the last '@' in case user information is in there.
		if at := strings.LastIndex(raw, "@"); at >= 0 {
			return "[redacted]@" + raw[at+1:]
		}
		return raw
	}
	if parsed.User == nil {
		return parsed.String()
	}
	parsed.User = nil
	return parsed.Scheme + "://[redacted]@" + parsed.Host + parsed.Path
}

// connectionEvents logs the life cycle of one connection.
type connectionEvents struct {
	logger      zerolog.Logger
	fallbackURL string

	// serverURL is the redacted URL of the server last connected to.
	serverURL atomic.Value
	// failedAttempts counts reconnect attempts since the last success.
	failedAttempts atomic.Int64
}

func (e *connectionEvents) currentURL(conn *nats.Conn) string {
	if connected := conn.ConnectedUrl(); connected != "" {
		redacted := redactURL(connected)
		e.serverURL.Store(redacted)
		return redacted
	}
	if last, ok := e.serverURL.Load().(string); ok {
		return last
	}
	return e.fallbackURL
}

func (e *connectionEvents) connected(conn *nats.Conn) {
	e.logger.Info().Str("server_url", e.currentURL(conn)).Msg("NATS connected")
}

func (e *connectionEvents) disconnected(conn *nats.Conn, err error) {
	if err == nil {
		// nats.go reports a nil error when the connection is closed on purpose.
		return
	}
	e.logger.Warn().Err(err).Str("server_url", e.currentURL(conn)).Msg("NATS disconnected, reconnecting")
}

// reconnectFailed logs attempts 1, 2, 4, 8, ... so that a long outage
// does not flood the log.
func (e *connectionEvents) reconnectFailed(conn *nats.Conn, err error) {
	attempt := e.failedAttempts.Add(1)
	if attempt&(attempt-1) != 0 {
		return
	}
	e.logger.Warn().Err(err).Int64("attempt", attempt).Str("server_url", e.currentURL(conn)).
		Msg("NATS reconnect attempt failed, still retrying")
}

func (e *connectionEvents) reconnected(conn *nats.Conn) {
	attempts := e.failedAttempts.Swap(0)
	e.logger.Info().Int64("failed_attempts", attempts).Str("server_url", e.currentURL(conn)).Msg("NATS reconnected")
}

func (e *connectionEvents) closed(conn *nats.Conn) {
	event := e.logger.Info()
	if err := conn.LastError(); err != nil {
		event = e.logger.Warn().Err(err)
	}
	event.Str("server_url", e.currentURL(conn)).Msg("NATS connection closed")
}

func (e *connectionEvents) asyncError(conn *nats.Conn, subscription *nats.Subscription, err error) {
	event := e.logger.Error().Err(err).Str("server_url", e.currentURL(conn))
	if subscription != nil {
		event = event.Str("subject", subscription.Subject)
	}
	event.Msg("NATS asynchronous error")
}
