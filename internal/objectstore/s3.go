package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Part sizes for multipart uploads, in bytes.
const (
	DefaultPartSize = 16 << 20 // minio-go's own default
	MinPartSize     = 5 << 20  // S3 minimum for every part but the last
	MaxPartSize     = 5 << 30  // S3 maximum
	maxParts        = 10000    // S3 maximum parts per upload
)

// Default timeouts of S3Options.
const (
	DefaultDialTimeout     = 10 * time.Second
	DefaultResponseTimeout = 2 * time.Minute
	DefaultProbeTimeout    = 15 * time.Second
)

// S3Options configure NewS3.
type S3Options struct {
	// Endpoint is the server's host:port, without a scheme,
	// e.g. "s3.eu-central-1.amazonaws.com" or "127.0.0.1:9000".
	Endpoint string
	// Region of the bucket. Empty lets minio-go look it up.
	Region string
	Bucket string
	// Secure selects HTTPS. It must match the server.
	Secure bool
	// CreateBucket creates Bucket when it does not exist. Without it a
	// missing bucket is a permanent error from NewS3.
	CreateBucket bool

	AccessKey string
	SecretKey string

	// PartSize is the multipart part size in bytes, and the size of the one
	// buffer an upload of unknown size holds in memory. Zero means
	// DefaultPartSize. It must lie between MinPartSize and MaxPartSize.
	// An upload of unknown size can grow to maxParts (10000) parts, so
	// PartSize also caps such an object: 16 MiB parts allow about 156 GiB.
	PartSize int64

	// DialTimeout bounds TCP connect and TLS handshake. Zero means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// ResponseTimeout bounds the wait for response headers after a request
	// has been sent in full. Zero means DefaultResponseTimeout.
	ResponseTimeout time.Duration
	// ProbeTimeout bounds the reachability and bucket check in NewS3. Zero
	// means DefaultProbeTimeout.
	ProbeTimeout time.Duration
}

// S3 is a Store in one bucket of an S3-compatible server.
type S3 struct {
	client   *minio.Client
	bucket   string
	endpoint string // scheme://host:port, for messages
	partSize int64
}

var _ Store = (*S3)(nil)

// NewS3 connects to the server, checks that it is reachable and that the
// credentials can see the bucket, and creates the bucket if it is missing
// and opts.CreateBucket is set. It returns within about opts.ProbeTimeout
// unless ctx ends first.
func NewS3(ctx context.Context, opts S3Options) (*S3, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}

	store, probeClient, err := newS3Clients(opts)
	if err != nil {
		return nil, err
	}

	probeCtx, cancel := context.WithTimeout(ctx, opts.ProbeTimeout)
	defer cancel()
	if err := store.checkBucket(probeCtx, probeClient, opts); err != nil {
		return nil, err
	}
	return store, nil
}

func (opts *S3Options) setDefaults() error {
	switch {
	case opts.Endpoint == "":
		return permanent(errors.New("S3 endpoint is empty: set it to the server's host:port"))
	case strings.Contains(opts.Endpoint, "://"):
		return permanent(fmt.Errorf("S3 endpoint %q must be host:port without a scheme: use Secure to select HTTPS", opts.Endpoint))
	case strings.ContainsAny(opts.Endpoint, "/?#"):
		return permanent(fmt.Errorf("S3 endpoint %q must be host:port without a path", opts.Endpoint))
	}
	if err := s3utils.CheckValidBucketNameStrict(opts.Bucket); err != nil {
		return permanent(fmt.Errorf("S3 bucket %q: %w", opts.Bucket, err))
	}
	if opts.AccessKey == "" || opts.SecretKey == "" {
		return permanent(fmt.Errorf("S3 credentials for %s are missing: set the access key and the secret key", opts.Endpoint))
	}

	if opts.PartSize == 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.PartSize < MinPartSize || opts.PartSize > MaxPartSize {
		return permanent(fmt.Errorf("S3 part size %d bytes is out of range: use %d (5 MiB) to %d (5 GiB)",
			opts.PartSize, MinPartSize, MaxPartSize))
	}

	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.ResponseTimeout <= 0 {
		opts.ResponseTimeout = DefaultResponseTimeout
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = DefaultProbeTimeout
	}
	return nil
}

// newS3Clients builds the store's client and a probe client that shares its
// transport but does not retry, so that NewS3 reports an unreachable
// endpoint at once instead of after minio-go's 10 retries.
func newS3Clients(opts S3Options) (*S3, *minio.Client, error) {
	transport, err := minio.DefaultTransport(opts.Secure)
	if err != nil {
		return nil, nil, fmt.Errorf("S3 endpoint %s: building HTTP transport: %w", opts.Endpoint, err)
	}
	dialer := &net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}
	transport.DialContext = dialer.DialContext
	transport.TLSHandshakeTimeout = opts.DialTimeout
	transport.ResponseHeaderTimeout = opts.ResponseTimeout
	// NOTE: no timeout covers a server that stalls in the middle of a
	// response body; the caller's context is the only bound there.

	clientOptions := &minio.Options{
		Creds:     credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:    opts.Secure,
		Transport: transport,
		Region:    opts.Region,
	}
	client, err := minio.New(opts.Endpoint, clientOptions)
	if err != nil {
		return nil, nil, permanent(fmt.Errorf("S3 endpoint %q: %w", opts.Endpoint, err))
	}

	probeOptions := *clientOptions
	probeOptions.MaxRetries = 1
	probeClient, err := minio.New(opts.Endpoint, &probeOptions)
	if err != nil {
		return nil, nil, permanent(fmt.Errorf("S3 endpoint %q: %w", opts.Endpoint, err))
	}

	store := &S3{
		client:   client,
		bucket:   opts.Bucket,
		endpoint: client.EndpointURL().String(),
		partSize: opts.PartSize,
	}
	return store, probeClient, nil
}

// checkBucket verifies that the endpoint responds, that the credentials are
// accepted and that the bucket exists, creating it when configured to.
func (s *S3) checkBucket(ctx context.Context, probeClient *minio.Client, opts S3Options) error {
	exists, err := probeClient.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.describeProbeError(err, opts)
	}
	if exists {
		return nil
	}

	if !opts.CreateBucket {
		return permanent(fmt.Errorf("S3 bucket %q does not exist at %s: create it, or enable bucket creation in the configuration",
			s.bucket, s.endpoint))
	}
	err = probeClient.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: opts.Region})
	if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
		return fmt.Errorf("S3 bucket %q at %s: creating it failed: %w", s.bucket, s.endpoint, s.classify(err))
	}
	return nil
}

func (s *S3) describeProbeError(err error, opts S3Options) error {
	var response minio.ErrorResponse
	if errors.As(err, &response) {
		if response.StatusCode == 401 || response.StatusCode == 403 {
			return permanent(fmt.Errorf("S3 endpoint %s rejected the credentials (access key %q) for bucket %q: %w: "+
				"check the access key, the secret key and the bucket policy", s.endpoint, opts.AccessKey, s.bucket, err))
		}
		return fmt.Errorf("S3 endpoint %s, bucket %q: %w", s.endpoint, s.bucket, s.classify(err))
	}

	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("S3 endpoint %s: check canceled: %w", s.endpoint, err)
	}
	return fmt.Errorf("S3 endpoint %s is unreachable: %w: "+
		"check that the endpoint host:port is right, that the server is running and reachable from this host, "+
		"and that Secure (HTTPS) matches the server", s.endpoint, err)
}

// classify marks err permanent when IsPermanent recognizes it.
func (s *S3) classify(err error) error {
	if IsPermanent(err) {
		return permanent(err)
	}
	return err
}

// wrapError adds the operation, key and store to err and maps a missing
// key to ErrNotFound.
func (s *S3) wrapError(operation, key string, err error) error {
	var response minio.ErrorResponse
	if errors.As(err, &response) && response.Code == minio.NoSuchKey {
		return fmt.Errorf("s3 %s %q in %s: %w", operation, key, s, ErrNotFound)
	}
	return fmt.Errorf("s3 %s %q in %s: %w", operation, key, s, err)
}

func (s *S3) String() string {
	return fmt.Sprintf("s3 bucket %q at %s", s.bucket, s.endpoint)
}

// Put uploads r. Memory stays bounded by one part buffer whatever the
// object size, because of how minio-go v7.4.1 picks its upload path
// (api-put-object.go and api-put-object-streaming.go):
//
//   - A known size of at most the part size goes out as a single PUT that
//     streams the reader into the request body without buffering.
//   - A larger known size goes to putObjectMultipartStream. With
//     ConcurrentStreamParts and NumThreads > 1 it would allocate NumThreads
//     part buffers; for an io.ReaderAt it would read concurrently from
//     offset 0 with NumThreads workers, ignoring the reader's position.
//     Otherwise putObjectMultipartStreamOptionalChecksum allocates one part
//     buffer and uploads the parts one after another.
//   - An unknown size (-1) goes to putObjectMultipartStreamNoLength, which
//     also allocates one part buffer, unless ConcurrentStreamParts is set.
//     Without an explicit PartSize that buffer would be about 537 MiB
//     (5 TiB / 10000 parts), so PartSize is always set.
//
// putReader hides io.ReaderAt, ConcurrentStreamParts stays off and
// NumThreads is 1, so every upload takes a single-buffer path.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	return s.put(ctx, "put", key, r, size, opts, nil)
}

// put uploads r on the single-buffer path described at Put, with Object
// Lock retention on the upload request when retention is not nil.
func (s *S3) put(ctx context.Context, operation, key string, r io.Reader, size int64, opts PutOptions, retention *Retention) (ObjectInfo, error) {
	if err := validatePut(key, size, opts); err != nil {
		return ObjectInfo{}, err
	}
	partSize, err := s.partSizeFor(key, size)
	if err != nil {
		return ObjectInfo{}, err
	}

	contentType := opts.ContentType
	if contentType == "" {
		contentType = defaultContentType
	}
	putOptions := minio.PutObjectOptions{
		ContentType:           contentType,
		UserMetadata:          opts.Metadata,
		PartSize:              uint64(partSize),
		NumThreads:            1,
		ConcurrentStreamParts: false,
	}
	if retention != nil {
		putOptions.Mode = minio.RetentionMode(retention.Mode)
		putOptions.RetainUntilDate = retention.RetainUntil
	}

	// minio-go aborts a failed multipart upload itself, also after a
	// canceled context, so no parts are left behind on the server.
	body := newPutReader(ctx, key, r, size)
	if _, err := s.client.PutObject(ctx, s.bucket, key, body, size, putOptions); err != nil {
		return ObjectInfo{}, s.wrapError(operation, key, s.classify(err))
	}

	return s.Stat(ctx, key)
}

// partSizeFor returns the configured part size, raised for a known size
// that would need more than maxParts parts. The raised size is rounded up
// to whole MiB.
func (s *S3) partSizeFor(key string, size int64) (int64, error) {
	if size <= s.partSize*maxParts {
		return s.partSize, nil
	}

	const mebibyte = 1 << 20
	needed := (size + maxParts - 1) / maxParts
	needed = (needed + mebibyte - 1) / mebibyte * mebibyte
	if needed > MaxPartSize {
		return 0, permanent(fmt.Errorf("s3 put %q: object of %d bytes exceeds the S3 maximum of %d parts of %d bytes",
			key, size, maxParts, int64(MaxPartSize)))
	}
	return needed, nil
}

func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, err
	}

	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, s.wrapError("stat", key, err)
	}
	return objectInfoFromMinio(info, true), nil
}

// Get opens the object. It sends the GET request at once, so that a missing
// key is reported here and not on the first Read.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}

	object, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.wrapError("get", key, err)
	}
	if _, err := object.Stat(); err != nil {
		object.Close()
		return nil, s.wrapError("get", key, err)
	}
	return object, nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}

	// S3 returns success for a DELETE of an absent key.
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.wrapError("delete", key, err)
	}
	return nil
}

// List relies on S3 ListObjectsV2 returning keys in UTF-8 binary order,
// which is byte-wise lexical order.
func (s *S3) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	if !canMatchValidKey(prefix) {
		return nil
	}

	// Canceling stops minio-go's listing goroutine when fn ends early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	objects := s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
	for object := range objects {
		if object.Err != nil {
			return fmt.Errorf("s3 list prefix %q in %s: %w", prefix, s, object.Err)
		}
		if err := fn(objectInfoFromMinio(object, false)); err != nil {
			return err
		}
	}

	// minio-go closes the channel without an error when ctx ends.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3 list prefix %q in %s: %w", prefix, s, err)
	}
	return nil
}

// objectInfoFromMinio converts minio-go's description. Listings carry no
// content type or user metadata, so withAttributes is false for them.
func objectInfoFromMinio(info minio.ObjectInfo, withAttributes bool) ObjectInfo {
	result := ObjectInfo{
		Key:     info.Key,
		Size:    info.Size,
		ETag:    strings.Trim(info.ETag, `"`),
		ModTime: info.LastModified,
	}
	if !withAttributes {
		return result
	}

	result.ContentType = info.ContentType
	if len(info.UserMetadata) > 0 {
		// minio-go returns header-style keys ("Camera-Id"); the interface
		// promises the lower-case keys that Put accepted.
		result.Metadata = make(map[string]string, len(info.UserMetadata))
		for name, value := range info.UserMetadata {
			result.Metadata[strings.ToLower(name)] = value
		}
	}
	return result
}
