package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Errors of Lease operations.
var (
	// ErrLeaseHeld matches the error of AcquireLease while another owner
	// holds the lease.
	ErrLeaseHeld = errors.New("lease is held by another owner")
	// ErrLeaseLost matches the error of Renew and Release when the lease
	// expired or another owner took it since the last renewal.
	ErrLeaseLost = errors.New("lease was lost")
)

// DefaultLeaseBucket is the key-value bucket of the sweep lease.
const DefaultLeaseBucket = "hikarchive_retention"

// EnsureLeaseBucket creates or updates the key-value bucket that holds
// leases. Its TTL is the lease duration: an entry that nobody renews within
// ttl expires, so a crashed owner frees the lease after at most ttl.
func EnsureLeaseBucket(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("lease TTL %s must be positive", ttl)
	}
	if replicas <= 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "hikarchive: leases, such as the one retention sweeper at a time",
		History:     1,
		TTL:         ttl,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("create or update JetStream key-value bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// Lease is one owner's hold on a key of a lease bucket. The revision of
// the owner's last write proves the hold: Renew and Release succeed only
// while the key is still at that revision.
type Lease struct {
	kv       jetstream.KeyValue
	key      string
	owner    string
	revision uint64
}

// AcquireLease takes the lease on key for owner. KV Create succeeds only
// when the key is absent, deleted or expired, so two owners never both
// succeed. It returns an error matching ErrLeaseHeld when another owner
// holds it.
func AcquireLease(ctx context.Context, kv jetstream.KeyValue, key, owner string) (*Lease, error) {
	revision, err := kv.Create(ctx, key, []byte(owner))
	if errors.Is(err, jetstream.ErrKeyExists) {
		holder := "unknown"
		if entry, getErr := kv.Get(ctx, key); getErr == nil {
			holder = string(entry.Value())
		}
		return nil, fmt.Errorf("%w: %s holds %s in bucket %s", ErrLeaseHeld, holder, key, kv.Bucket())
	}
	if err != nil {
		return nil, fmt.Errorf("acquire lease %s in bucket %s: %w", key, kv.Bucket(), err)
	}
	return &Lease{kv: kv, key: key, owner: owner, revision: revision}, nil
}

// Renew extends the lease by the bucket's TTL with an update that succeeds
// only at the revision of the owner's last write.
func (l *Lease) Renew(ctx context.Context) error {
	revision, err := l.kv.Update(ctx, l.key, []byte(l.owner), l.revision)
	if err != nil {
		if isWrongRevision(err) || errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("%w: renew %s in bucket %s at revision %d: %v", ErrLeaseLost, l.key, l.kv.Bucket(), l.revision, err)
		}
		return fmt.Errorf("renew lease %s in bucket %s: %w", l.key, l.kv.Bucket(), err)
	}
	l.revision = revision
	return nil
}

// Release deletes the key if the lease is still this owner's, so another
// owner can acquire it at once instead of after the TTL.
func (l *Lease) Release(ctx context.Context) error {
	err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(l.revision))
	if err != nil {
		if isWrongRevision(err) {
			return fmt.Errorf("%w: release %s in bucket %s at revision %d: %v", ErrLeaseLost, l.key, l.kv.Bucket(), l.revision, err)
		}
		return fmt.Errorf("release lease %s in bucket %s: %w", l.key, l.kv.Bucket(), err)
	}
	return nil
}

// Owner returns the owner name stored in the lease.
func (l *Lease) Owner() string { return l.owner }

// isWrongRevision reports whether JetStream rejected a write because the
// key is no longer at the expected revision.
func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
