package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/metrics"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/retention"
)

// readinessProbeKey is a key that is never written, so a reachable store
// returns ErrNotFound for it.
const readinessProbeKey = ".hikarchive-readiness-probe"

// serveMetrics serves /metrics, /healthz and /readyz when metrics.listen is
// set. The readiness checks cover NATS and, when store is not nil, the store.
func serveMetrics(ctx context.Context, cfg *config.Config, m *metrics.Metrics, n *NATS, store objectstore.Store, log zerolog.Logger) error {
	if cfg.Metrics.Listen == "" {
		return nil
	}

	checks := map[string]metrics.Check{
		"nats": func(ctx context.Context) error {
			if !n.Conn.IsConnected() {
				return fmt.Errorf("not connected (status %s)", n.Conn.Status())
			}
			_, err := n.JS.AccountInfo(ctx)
			return err
		},
	}
	if store != nil {
		checks["store"] = func(ctx context.Context) error {
			_, err := store.Stat(ctx, readinessProbeKey)
			if err == nil || errors.Is(err, objectstore.ErrNotFound) {
				return nil
			}
			return err
		}
	}

	_, _, err := m.Serve(ctx, cfg.Metrics.Listen, checks, log)
	return err
}

// newSweeper returns the retention sweeper that the configuration sets up,
// or nil when it has no retention section.
func newSweeper(ctx context.Context, cfg *config.Config, js jetstream.JetStream, store objectstore.Store, log zerolog.Logger) (*retention.Sweeper, error) {
	if cfg.Retention == nil {
		return nil, nil
	}

	return retention.NewSweeper(ctx, js, retention.SweeperOptions{
		Sweep: retention.Options{
			Store:  store,
			Prefix: cfg.Store.Prefix,
			Policy: retentionPolicy(cfg.Retention),
			DryRun: cfg.Retention.DryRun,
			Logger: log.With().Str("component", "retention").Logger(),
		},
		Schedule: cfg.Retention.Schedule,
		LeaseTTL: time.Duration(cfg.Retention.LeaseTTL),
		Replicas: cfg.NATS.Replicas,
	})
}

// retentionPolicy returns the rules of the retention section as a policy.
func retentionPolicy(cfg *config.Retention) retention.Policy {
	var rules []retention.Rule
	for _, rule := range cfg.Rules {
		rules = append(rules, retention.Rule{Camera: rule.Camera, Keep: time.Duration(rule.Keep)})
	}
	return retention.Policy{Rules: rules}
}
