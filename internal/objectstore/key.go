package objectstore

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxKeyLength is the maximum key length in bytes, the S3 limit.
const MaxKeyLength = 1024

// MaxMetadataSize is the maximum total size of user metadata keys and
// values in bytes, the S3 limit for user-defined metadata (2 KB).
const MaxMetadataSize = 2048

// ValidateKey checks that key is a relative slash-separated path that every
// implementation can store under the same name. A valid key is non-empty
// and at most MaxKeyLength bytes of valid UTF-8. It has no leading slash,
// no empty, "." or ".." components, and no backslash, NUL or other ASCII
// control character. The error matches ErrInvalidKey and is permanent.
func ValidateKey(key string) error {
	reason := keyProblem(key)
	if reason == "" {
		return nil
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, reason)
}

func keyProblem(key string) string {
	if key == "" {
		return "key is empty"
	}
	if len(key) > MaxKeyLength {
		return fmt.Sprintf("key is %d bytes long, the maximum is %d", len(key), MaxKeyLength)
	}
	if !utf8.ValidString(key) {
		return "key is not valid UTF-8"
	}
	if strings.HasPrefix(key, "/") {
		return "key must be relative, without a leading slash"
	}

	for _, r := range key {
		switch {
		case r == '\\':
			return "key contains a backslash; use slashes to separate components"
		case r == 0:
			return "key contains a NUL byte"
		case r < 0x20 || r == 0x7f:
			return fmt.Sprintf("key contains the control character %U", r)
		}
	}

	for component := range strings.SplitSeq(key, "/") {
		switch component {
		case "":
			return "key contains an empty component (double or trailing slash)"
		case ".", "..":
			return fmt.Sprintf("key contains a %q component", component)
		}
	}
	return ""
}

// canMatchValidKey reports whether some valid key starts with prefix. List
// returns nothing for a prefix that cannot, without asking the store:
// servers reject some of them (MinIO rejects "../"), and the local store
// must not join them to its root.
func canMatchValidKey(prefix string) bool {
	if prefix == "" {
		return true
	}
	slash := strings.LastIndex(prefix, "/")
	if slash >= 0 && ValidateKey(prefix[:slash]) != nil {
		return false
	}
	if len(prefix) > MaxKeyLength {
		return false
	}

	// The last component may be cut anywhere, even inside a UTF-8 sequence,
	// and "." or ".." may begin a valid component such as ".hidden", so
	// only its bytes are checked.
	for _, b := range []byte(prefix[slash+1:]) {
		if b < 0x20 || b == 0x7f || b == '\\' {
			return false
		}
	}
	return true
}

// ValidateMetadata checks user metadata so that every implementation stores
// and returns it unchanged. Keys consist of lower-case ASCII letters,
// digits and inner hyphens, because S3 sends them as case-insensitive
// "x-amz-meta-<key>" HTTP headers. Values are printable ASCII without
// leading or trailing spaces, which HTTP would trim. Keys and values take
// at most MaxMetadataSize bytes in total. The error matches
// ErrInvalidMetadata and is permanent.
func ValidateMetadata(metadata map[string]string) error {
	total := 0
	for key, value := range metadata {
		if reason := metadataKeyProblem(key); reason != "" {
			return fmt.Errorf("%w: key %q: %s", ErrInvalidMetadata, key, reason)
		}
		if reason := metadataValueProblem(value); reason != "" {
			return fmt.Errorf("%w: value of %q: %s", ErrInvalidMetadata, key, reason)
		}
		total += len(key) + len(value)
	}

	if total > MaxMetadataSize {
		return fmt.Errorf("%w: keys and values take %d bytes, the maximum is %d",
			ErrInvalidMetadata, total, MaxMetadataSize)
	}
	return nil
}

func metadataKeyProblem(key string) string {
	if key == "" {
		return "key is empty"
	}
	for _, r := range key {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return "use only lower-case ASCII letters, digits and hyphens"
		}
	}
	if strings.HasPrefix(key, "-") || strings.HasSuffix(key, "-") {
		return "key must not start or end with a hyphen"
	}
	return ""
}

func metadataValueProblem(value string) string {
	for _, r := range value {
		if r < 0x20 || r > 0x7e {
			return fmt.Sprintf("value contains %U; use printable ASCII only", r)
		}
	}
	if strings.TrimSpace(value) != value {
		return "value has leading or trailing spaces"
	}
	return ""
}

// validatePut checks the arguments shared by every Put implementation.
func validatePut(key string, size int64, opts PutOptions) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ValidateMetadata(opts.Metadata); err != nil {
		return err
	}
	if size < -1 {
		return permanent(fmt.Errorf("put %q: invalid size %d: use -1 for an unknown size", key, size))
	}
	return nil
}
