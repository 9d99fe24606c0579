package retention

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/testserver"
)

func newJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	server := testserver.NATS(t)
	js, err := jetstream.New(server.Conn)
	require.NoError(t, err)
	return js
}

func TestLeaseExcludesSecondOwner(t *testing.T) {
	ctx := testContext(t)
	kv, err := EnsureLeaseBucket(ctx, newJetStream(t), "leases", time.Minute, 1)
	require.NoError(t, err)

	first, err := AcquireLease(ctx, kv, "sweep", "first")
	require.NoError(t, err)
	_, err = AcquireLease(ctx, kv, "sweep", "second")
	require.ErrorIs(t, err, ErrLeaseHeld)
	require.ErrorContains(t, err, "first holds sweep")

	require.NoError(t, first.Renew(ctx))
	require.NoError(t, first.Renew(ctx))
	_, err = AcquireLease(ctx, kv, "sweep", "second")
	require.ErrorIs(t, err, ErrLeaseHeld, "after renewals")

	require.NoError(t, first.Release(ctx))
	second, err := AcquireLease(ctx, kv, "sweep", "second")
	require.NoError(t, err, "after release")
	require.Equal(t, "second", second.Owner())

	require.ErrorIs(t, first.Renew(ctx), ErrLeaseLost, "renewing a released lease")
	require.ErrorIs(t, first.Release(ctx), ErrLeaseLost, "releasing another owner's lease")
}

func TestLeaseExpiresWithoutRenewal(t *testing.T) {
	ctx := testContext(t)
	kv, err := EnsureLeaseBucket(ctx, newJetStream(t), "leases", time.Second, 1)
	require.NoError(t, err)
	first, err := AcquireLease(ctx, kv, "sweep", "first")
	require.NoError(t, err)

	// A crashed owner renews no more; the entry expires after the TTL.
	var second *Lease
	require.Eventually(t, func() bool {
		second, err = AcquireLease(ctx, kv, "sweep", "second")
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "the lease did not expire: %v", err)

	require.ErrorIs(t, first.Renew(ctx), ErrLeaseLost)
	require.NoError(t, second.Renew(ctx))
}

func TestLeaseConcurrentAcquire(t *testing.T) {
	ctx := testContext(t)
	kv, err := EnsureLeaseBucket(ctx, newJetStream(t), "leases", time.Minute, 1)
	require.NoError(t, err)

	const owners = 8
	var wg sync.WaitGroup
	results := make(chan error, owners)
	for i := range owners {
		wg.Go(func() {
			_, err := AcquireLease(ctx, kv, "sweep", string(rune('a'+i)))
			results <- err
		})
	}
	wg.Wait()
	close(results)

	acquired := 0
	for err := range results {
		if err == nil {
			acquired++
			continue
		}
		require.ErrorIs(t, err, ErrLeaseHeld)
	}
	require.Equal(t, 1, acquired)
}

func newSweeper(t *testing.T, js jetstream.JetStream, store objectstore.Store, owner string) *Sweeper {
	t.Helper()
	sweeper, err := NewSweeper(testContext(t), js, SweeperOptions{
		Sweep:    sweepOptions(t, store, Policy{Rules: []Rule{{Keep: 7 * day}}}),
		Schedule: "@every 1s",
		Owner:    owner,
	})
	require.NoError(t, err)
	return sweeper
}

func TestSweeperSkipsWhileAnotherSweeps(t *testing.T) {
	ctx := testContext(t)
	js := newJetStream(t)
	store := newStore(t, false)
	old := putSegment(t, store, "yard", time.Now().Add(-8*day), objectstore.Retention{})
	sweeper := newSweeper(t, js, store, "second")

	// Another process holds the lease, as during its own sweep.
	kv, err := js.KeyValue(ctx, DefaultLeaseBucket)
	require.NoError(t, err)
	other, err := AcquireLease(ctx, kv, leaseKey, "first")
	require.NoError(t, err)

	_, err = sweeper.SweepOnce(ctx)
	require.ErrorIs(t, err, ErrLeaseHeld)
	requireSegment(t, store, old, true)

	require.NoError(t, other.Release(ctx))
	report, err := sweeper.SweepOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{stemOf(old)}, stems(report.Deleted))
	requireSegment(t, store, old, false)

	// The sweeper released the lease when it finished.
	again, err := AcquireLease(ctx, kv, leaseKey, "first")
	require.NoError(t, err)
	require.NoError(t, again.Release(ctx))
}

// TestSweepersCompeteDeleteOnce runs two sweepers at the same time many
// times: each run either sweeps or finds the lease held, and no segment is
// reported deleted twice.
func TestSweepersCompeteDeleteOnce(t *testing.T) {
	ctx := testContext(t)
	js := newJetStream(t)
	store := newStore(t, false)
	expired := map[string]bool{}
	for i := range 10 {
		keys := putSegment(t, store, "yard", time.Now().Add(-8*day-time.Duration(i)*time.Minute), objectstore.Retention{})
		expired[stemOf(keys)] = true
	}
	sweepers := []*Sweeper{newSweeper(t, js, store, "first"), newSweeper(t, js, store, "second")}

	deleted := map[string]int{}
	held := 0
	var mu sync.Mutex
	for range 5 {
		var wg sync.WaitGroup
		for _, sweeper := range sweepers {
			wg.Go(func() {
				report, err := sweeper.SweepOnce(ctx)
				mu.Lock()
				defer mu.Unlock()
				if errors.Is(err, ErrLeaseHeld) {
					held++
					return
				}
				require.NoError(t, err)
				require.Empty(t, report.Failed)
				for _, segment := range report.Deleted {
					deleted[segment.Stem]++
				}
			})
		}
		wg.Wait()
	}

	require.Len(t, deleted, len(expired))
	for stem, count := range deleted {
		require.True(t, expired[stem], "deleted %s, which had not expired", stem)
		require.Equal(t, 1, count, "segment %s deleted by %d sweeps", stem, count)
	}
	t.Logf("the lease was held by the other sweeper in %d of 10 runs", held)
}

func TestSweeperRunsOnSchedule(t *testing.T) {
	ctx := testContext(t)
	js := newJetStream(t)
	store := newStore(t, false)
	old := putSegment(t, store, "yard", time.Now().Add(-8*day), objectstore.Retention{})
	sweeper := newSweeper(t, js, store, "scheduled")

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sweeper.Run(runCtx) }()

	require.Eventually(t, func() bool { return !exists(t, store, old.Metadata) }, 20*time.Second, 100*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	requireSegment(t, store, old, false)
}

func TestNewSweeperRejectsBadSchedule(t *testing.T) {
	_, err := NewSweeper(testContext(t), newJetStream(t), SweeperOptions{
		Sweep:    Options{Store: newStore(t, false), Logger: zerolog.Nop()},
		Schedule: "every day",
	})
	require.ErrorContains(t, err, `"every day" is invalid`)
}
