package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"
)

// ErrLocked matches (errors.Is) the error of DeleteVersions for an object
// that S3 Object Lock still protects.
var ErrLocked = errors.New("object is under retention")

// RetentionMode is an S3 Object Lock retention mode.
type RetentionMode string

// Retention modes, as defined by S3 Object Lock.
const (
	// Governance: users with the s3:BypassGovernanceRetention permission
	// can still delete the object or shorten its retention. hikarchive never
	// bypasses it.
	Governance RetentionMode = "GOVERNANCE"
	// Compliance: nobody, not even the root account, can delete the object
	// or shorten its retention until RetainUntil.
	Compliance RetentionMode = "COMPLIANCE"
)

// Retention is the Object Lock retention of one object version.
type Retention struct {
	Mode RetentionMode // empty when the object has no retention
	// RetainUntil is the instant until which the version cannot be deleted.
	// S3 stores it with second precision.
	RetainUntil time.Time
}

// Active reports whether the retention still protects the object at now.
func (r Retention) Active(now time.Time) bool {
	return r.Mode != "" && now.Before(r.RetainUntil)
}

// Locker is implemented by stores that support S3 Object Lock. S3 does
// (the bucket must have been created with Object Lock enabled); Local does
// not. It is separate from Store so that Store keeps its contract.
type Locker interface {
	// LockingEnabled reports whether the bucket has Object Lock enabled.
	LockingEnabled(ctx context.Context) (bool, error)

	// PutRetained is Put that also sets the retention of the new version,
	// so the object is never unprotected.
	PutRetained(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions, retention Retention) (ObjectInfo, error)

	// SetRetention sets the retention of the object's current version,
	// for an object stored without one. S3 rejects shortening a
	// compliance retention, or a governance one without the bypass
	// permission, which hikarchive never uses.
	SetRetention(ctx context.Context, key string, retention Retention) error

	// Retention returns the retention of the object's current version. It
	// returns a zero Retention for an object without one, and an error
	// matching ErrNotFound when key is absent.
	Retention(ctx context.Context, key string) (Retention, error)

	// DeleteVersions removes every version of the object for good. An
	// Object Lock bucket keeps versions, so Delete there only adds a delete
	// marker and frees no space. DeleteVersions fails with an error
	// matching ErrLocked when a version is under retention, and then may
	// have removed other versions. It never bypasses governance retention.
	DeleteVersions(ctx context.Context, key string) error
}

var _ Locker = (*S3)(nil)

// LockingEnabled reads the bucket's Object Lock configuration.
func (s *S3) LockingEnabled(ctx context.Context) (bool, error) {
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	if err != nil {
		var response minio.ErrorResponse
		if errors.As(err, &response) && response.Code == "ObjectLockConfigurationNotFoundError" {
			return false, nil
		}
		return false, fmt.Errorf("s3 read object lock configuration of %s: %w", s, s.classify(err))
	}
	return enabled == "Enabled", nil
}

// PutRetained uploads like Put, with the retention headers on the upload
// request itself.
func (s *S3) PutRetained(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions, retention Retention) (ObjectInfo, error) {
	if err := retention.validate(key); err != nil {
		return ObjectInfo{}, err
	}
	return s.put(ctx, "put with retention", key, r, size, opts, &retention)
}

func (r Retention) validate(key string) error {
	if r.Mode != Governance && r.Mode != Compliance {
		return permanent(fmt.Errorf("put %q: retention mode %q is invalid: use %s or %s", key, r.Mode, Governance, Compliance))
	}
	if r.RetainUntil.IsZero() {
		return permanent(fmt.Errorf("put %q: retention has no retain-until time", key))
	}
	return nil
}

// SetRetention puts the retention on the current version.
func (s *S3) SetRetention(ctx context.Context, key string, retention Retention) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := retention.validate(key); err != nil {
		return err
	}

	mode := minio.RetentionMode(retention.Mode)
	until := retention.RetainUntil
	if err := s.client.PutObjectRetention(ctx, s.bucket, key, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until}); err != nil {
		return s.wrapError("set retention of", key, s.classify(err))
	}
	return nil
}

// Retention reads the retention of the current version.
func (s *S3) Retention(ctx context.Context, key string) (Retention, error) {
	if err := ValidateKey(key); err != nil {
		return Retention{}, err
	}

	mode, until, err := s.client.GetObjectRetention(ctx, s.bucket, key, "")
	if err != nil {
		var response minio.ErrorResponse
		if errors.As(err, &response) && response.Code == "NoSuchObjectLockConfiguration" {
			return Retention{}, nil
		}
		return Retention{}, s.wrapError("get retention", key, err)
	}

	var retention Retention
	if mode != nil {
		retention.Mode = RetentionMode(*mode)
	}
	if until != nil {
		retention.RetainUntil = *until
	}
	return retention, nil
}

// DeleteVersions lists the versions and delete markers of exactly key and
// removes each by version id.
func (s *S3) DeleteVersions(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}

	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var versions []string
	for object := range s.client.ListObjects(listCtx, s.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if object.Err != nil {
			return fmt.Errorf("s3 list versions of %q in %s: %w", key, s, s.classify(object.Err))
		}
		if object.Key == key {
			versions = append(versions, object.VersionID)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3 list versions of %q in %s: %w", key, s, err)
	}

	for _, version := range versions {
		err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: version})
		if err == nil {
			continue
		}
		if s.versionLocked(ctx, key, version) {
			return fmt.Errorf("s3 delete %q version %s in %s: %w: %v", key, version, s, ErrLocked, err)
		}
		return s.wrapError("delete version "+version+" of", key, err)
	}
	return nil
}

// versionLocked reports whether a version is under active retention. S3
// rejects a delete of such a version with AccessDenied, the same code as a
// missing permission, so the retention is read to tell them apart.
func (s *S3) versionLocked(ctx context.Context, key, version string) bool {
	mode, until, err := s.client.GetObjectRetention(ctx, s.bucket, key, version)
	if err != nil || mode == nil || until == nil {
		return false
	}
	return Retention{Mode: RetentionMode(*mode), RetainUntil: *until}.Active(time.Now())
}
