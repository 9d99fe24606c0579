package retention

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/robfig/cron/v3"
)

// Defaults of SweeperOptions.
const (
	DefaultSchedule = "@daily"
	DefaultLeaseTTL = time.Minute
	leaseKey        = "sweep"
)

// SweeperOptions configure a Sweeper.
type SweeperOptions struct {
	Sweep Options
	// Schedule is a robfig/cron/v3 spec: five fields ("30 3 * * *") or a
	// descriptor ("@daily", "@every 6h"). Empty means DefaultSchedule.
	Schedule string
	// Bucket is the key-value bucket of the lease. Empty means
	// DefaultLeaseBucket.
	Bucket string
	// LeaseTTL is how long the lease lasts without renewal; the sweeper
	// renews it every third of that. Zero means DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Replicas of the lease bucket, as for the streams. Zero means 1.
	Replicas int
	// Owner names this process in the lease. Empty means host name and
	// process id.
	Owner string
}

// Sweeper runs Sweep on a schedule, with a lease so that among processes
// sharing a JetStream server only one sweeps at a time.
type Sweeper struct {
	opts     SweeperOptions
	schedule cron.Schedule
	kv       jetstream.KeyValue
}

// NewSweeper checks the options and creates the lease bucket.
func NewSweeper(ctx context.Context, js jetstream.JetStream, opts SweeperOptions) (*Sweeper, error) {
	if opts.Schedule == "" {
		opts.Schedule = DefaultSchedule
	}
	if opts.Bucket == "" {
		opts.Bucket = DefaultLeaseBucket
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.Owner == "" {
		host, _ := os.Hostname()
		opts.Owner = host + ":" + strconv.Itoa(os.Getpid())
	}
	if opts.Sweep.Store == nil {
		return nil, errors.New("retention sweeper has no object store")
	}
	if err := opts.Sweep.Policy.Validate(); err != nil {
		return nil, err
	}

	schedule, err := cron.ParseStandard(opts.Schedule)
	if err != nil {
		return nil, fmt.Errorf("retention schedule %q is invalid: %w: use five cron fields or a descriptor such as @daily or \"@every 6h\"", opts.Schedule, err)
	}
	kv, err := EnsureLeaseBucket(ctx, js, opts.Bucket, opts.LeaseTTL, opts.Replicas)
	if err != nil {
		return nil, err
	}
	return &Sweeper{opts: opts, schedule: schedule, kv: kv}, nil
}

// Run sweeps at every scheduled time until ctx ends, then returns nil. A
// sweep that finds the lease held by another process is skipped; errors
// are logged and the next scheduled sweep runs as usual.
func (s *Sweeper) Run(ctx context.Context) error {
	log := s.opts.Sweep.Logger
	log.Info().Str("schedule", s.opts.Schedule).Bool("dry_run", s.opts.Sweep.DryRun).Str("owner", s.opts.Owner).
		Msg("retention sweeper started")

	for {
		next := s.schedule.Next(time.Now())
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			log.Info().Msg("retention sweeper stopped")
			return nil
		case <-timer.C:
		}

		_, err := s.SweepOnce(ctx)
		switch {
		case err == nil, ctx.Err() != nil:
		case errors.Is(err, ErrLeaseHeld):
			log.Info().Err(err).Msg("another process is sweeping; skipping this sweep")
		default:
			log.Error().Err(err).Msg("retention sweep failed; retrying at the next scheduled time")
		}
	}
}

// SweepOnce takes the lease, sweeps and releases the lease. It returns an
// error matching ErrLeaseHeld, without sweeping, while another process
// holds the lease, and one matching ErrLeaseLost when the lease could not
// be renewed during the sweep, which then stops early.
func (s *Sweeper) SweepOnce(ctx context.Context) (Report, error) {
	lease, err := AcquireLease(ctx, s.kv, leaseKey, s.opts.Owner)
	if err != nil {
		return Report{}, err
	}

	sweepCtx, cancel := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		s.keepRenewing(sweepCtx, lease, cancel)
	}()

	report, sweepErr := Sweep(sweepCtx, s.opts.Sweep)
	lost := context.Cause(sweepCtx)
	cancel(nil)
	<-renewed

	if errors.Is(lost, ErrLeaseLost) {
		return report, lost
	}
	releaseCtx, cancelRelease := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelRelease()
	if err := lease.Release(releaseCtx); err != nil {
		s.opts.Sweep.Logger.Warn().Err(err).Msg("could not release the retention lease; it expires after its TTL")
	}
	return report, sweepErr
}

// keepRenewing renews the lease every third of its TTL until ctx ends, and
// cancels the sweep with the cause when a renewal fails: past the TTL
// another process may sweep.
func (s *Sweeper) keepRenewing(ctx context.Context, lease *Lease, cancel context.CancelCauseFunc) {
	ticker := time.NewTicker(s.opts.LeaseTTL / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := lease.Renew(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, ErrLeaseLost) {
				err = fmt.Errorf("%w: %v", ErrLeaseLost, err)
			}
			s.opts.Sweep.Logger.Error().Err(err).Msg("retention lease renewal failed; stopping the sweep")
			cancel(err)
			return
		}
	}
}
