package objectstore

import (
	"context"
	"errors"
	"io/fs"
	"net/http"

	"github.com/minio/minio-go/v7"
)

var (
	// ErrNotFound matches (errors.Is) the error of Stat and Get for an
	// absent key.
	ErrNotFound = errors.New("object not found")

	// ErrInvalidKey matches errors for keys that ValidateKey rejects or that
	// the store cannot represent.
	ErrInvalidKey = errors.New("invalid object key")

	// ErrInvalidMetadata matches errors for PutOptions.Metadata that
	// ValidateMetadata rejects.
	ErrInvalidMetadata = errors.New("invalid object metadata")

	// ErrSizeMismatch matches the error of Put when the reader yields a
	// different number of bytes than the size argument.
	ErrSizeMismatch = errors.New("object size mismatch")
)

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanent wraps err so that IsPermanent reports true for it.
func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// S3 error codes that repeat on every retry until someone changes the
// request or the server configuration. Codes as listed in the Amazon S3 API
// reference, "Error responses".
var permanentS3Codes = map[string]bool{
	"AccessDenied":                 true,
	"AccountProblem":               true,
	"AllAccessDisabled":            true,
	"InvalidAccessKeyId":           true,
	"SignatureDoesNotMatch":        true,
	"NoSuchBucket":                 true,
	"NoSuchKey":                    true,
	"InvalidBucketName":            true,
	"InvalidObjectName":            true,
	"XMinioInvalidObjectName":      true,
	"KeyTooLongError":              true,
	"MetadataTooLarge":             true,
	"EntityTooLarge":               true,
	"EntityTooSmall":               true,
	"InvalidArgument":              true,
	"InvalidRequest":               true,
	"InvalidStorageClass":          true,
	"InvalidBucketState":           true,
	"MethodNotAllowed":             true,
	"NotImplemented":               true,
	"AuthorizationHeaderMalformed": true,
}

// IsPermanent reports whether err is an error that retrying the same call
// cannot fix. Permanent are: an invalid key or metadata, a size mismatch,
// ErrNotFound, a permission error, access denied, invalid credentials, a
// missing bucket, and S3 4xx responses other than 408 (timeout), 409
// (conflict) and 429 (slow down). IsPermanent returns false for nil,
// network errors, timeouts, context errors and 5xx responses. A clock skew
// error (RequestTimeTooSkewed) also counts as retryable, because it goes
// away once the host clock is synchronized.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}

	var marked *permanentError
	if errors.As(err, &marked) {
		return true
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidKey) ||
		errors.Is(err, ErrInvalidMetadata) || errors.Is(err, ErrSizeMismatch) {
		return true
	}
	if errors.Is(err, fs.ErrPermission) {
		return true
	}

	var response minio.ErrorResponse
	if errors.As(err, &response) {
		return isPermanentS3Response(response)
	}
	return false
}

func isPermanentS3Response(response minio.ErrorResponse) bool {
	if permanentS3Codes[response.Code] {
		return true
	}
	switch response.StatusCode {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return false
	}
	if response.Code == "RequestTimeTooSkewed" || response.Code == "SlowDown" ||
		response.Code == "RequestTimeout" {
		return false
	}
	return response.StatusCode >= 400 && response.StatusCode < 500
}
