package broker

import (
	"fmt"

	"github.com/rs/zerolog"
)

// serverLogger routes nats-server's log calls to zerolog. nats-server's
// own logger exits the process on Fatalf. This one logs the message at
// error level and passes it to StartEmbedded, which returns it as an error.
type serverLogger struct {
	logger zerolog.Logger
	fatal  chan string // first fatal message, buffered
}

func newServerLogger(logger zerolog.Logger) *serverLogger {
	return &serverLogger{logger: logger, fatal: make(chan string, 1)}
}

func (l *serverLogger) Noticef(format string, v ...any) {
	l.logger.Info().Msgf(format, v...)
}

func (l *serverLogger) Warnf(format string, v ...any) {
	l.logger.Warn().Msgf(format, v...)
}

func (l *serverLogger) Errorf(format string, v ...any) {
	l.logger.Error().Msgf(format, v...)
}

func (l *serverLogger) Fatalf(format string, v ...any) {
	message := fmt.Sprintf(format, v...)
	l.logger.Error().Bool("fatal", true).Msg(message)
	select {
	case l.fatal <- message:
	default: // an earlier fatal message is already waiting
	}
}

func (l *serverLogger) Debugf(format string, v ...any) {
	l.logger.Debug().Msgf(format, v...)
}

func (l *serverLogger) Tracef(format string, v ...any) {
	l.logger.Trace().Msgf(format, v...)
}
