package objectstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment variables read by CredentialsFromEnv, in order of preference.
const (
	EnvAccessKey    = "HIKARCHIVE_S3_ACCESS_KEY"
	EnvSecretKey    = "HIKARCHIVE_S3_SECRET_KEY"
	EnvAWSAccessKey = "AWS_ACCESS_KEY_ID"
	EnvAWSSecretKey = "AWS_SECRET_ACCESS_KEY"
)

// Credentials are an S3 access key pair. String and GoString redact the
// secret key, so a Credentials value can go into logs and error messages
// through fmt verbs.
type Credentials struct {
	AccessKey string
	SecretKey string

	// Source names where the pair came from, e.g. a file path or the
	// environment variable names.
	Source string
}

func (c Credentials) String() string {
	return fmt.Sprintf("access key %q (secret redacted) from %s", c.AccessKey, c.Source)
}

func (c Credentials) GoString() string { return c.String() }

// CredentialsFromEnv reads HIKARCHIVE_S3_ACCESS_KEY and
// HIKARCHIVE_S3_SECRET_KEY. If neither is set it falls back to
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. A pair with only one half
// set is an error, so that a typo does not silently select the other pair.
func CredentialsFromEnv() (Credentials, error) {
	pairs := [][2]string{{EnvAccessKey, EnvSecretKey}, {EnvAWSAccessKey, EnvAWSSecretKey}}
	for _, pair := range pairs {
		access, secret := os.Getenv(pair[0]), os.Getenv(pair[1])
		if access == "" && secret == "" {
			continue
		}
		if access == "" || secret == "" {
			missing := pair[0]
			if secret == "" {
				missing = pair[1]
			}
			return Credentials{}, fmt.Errorf("S3 credentials: %s is set but %s is empty: set both or neither",
				otherOf(pair, missing), missing)
		}
		return Credentials{AccessKey: access, SecretKey: secret, Source: "environment " + pair[0] + "/" + pair[1]}, nil
	}

	return Credentials{}, fmt.Errorf("S3 credentials: missing: set %s and %s (or %s and %s), or use a credentials file",
		EnvAccessKey, EnvSecretKey, EnvAWSAccessKey, EnvAWSSecretKey)
}

func otherOf(pair [2]string, name string) string {
	if pair[0] == name {
		return pair[1]
	}
	return pair[0]
}

// maxCredentialsFileSize bounds how much of a credentials file is read; a
// real one is well under 1 KiB.
const maxCredentialsFileSize = 64 << 10

// credentialsFile is the YAML layout of a credentials file:
//
//	access_key: AKIA...
//	secret_key: ...
type credentialsFile struct {
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
}

// CredentialsFromFile reads a YAML file with access_key and secret_key.
//
// It rejects a file that others (not owner, not group) may read, the way
// ssh rejects exposed private keys: the secret key grants write access to
// the archive. Group read access is allowed, because container platforms
// commonly mount secrets with a shared group (Kubernetes fsGroup with mode
// 0440, for example). The error names the chmod command that fixes it.
func CredentialsFromFile(path string) (Credentials, error) {
	file, err := os.Open(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("S3 credentials file: %w", err)
	}
	defer file.Close()

	info, err := file.Stat()
	if err != nil {
		return Credentials{}, fmt.Errorf("S3 credentials file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return Credentials{}, fmt.Errorf("S3 credentials file %s: not a regular file", path)
	}
	if mode := info.Mode().Perm(); mode&0o007 != 0 {
		return Credentials{}, fmt.Errorf("S3 credentials file %s: mode %04o lets other users read the secret key: "+
			"run chmod 600 %s (or 640 to share it with the group); for a Kubernetes Secret set defaultMode to 0440",
			path, mode, path)
	}

	data, err := io.ReadAll(io.LimitReader(file, maxCredentialsFileSize+1))
	if err != nil {
		return Credentials{}, fmt.Errorf("S3 credentials file %s: %w", path, err)
	}
	if len(data) > maxCredentialsFileSize {
		return Credentials{}, fmt.Errorf("S3 credentials file %s: larger than %d bytes: expected a short YAML file with access_key and secret_key",
			path, maxCredentialsFileSize)
	}
	return parseCredentials(path, data)
}

// describeYAMLError returns a YAML error without quoting the document: type
// errors quote the offending values and field names, which may be the
// secret itself, so only their line numbers are kept.
func describeYAMLError(err error) string {
	const expected = "expected a YAML mapping with only access_key and secret_key"

	var typeError *yaml.TypeError
	if !errors.As(err, &typeError) {
		// Syntax errors name a line and the grammar rule, not the content.
		return fmt.Sprintf("invalid YAML: %v", err)
	}

	var lines []string
	for _, message := range typeError.Errors {
		if match := yamlLinePattern.FindStringSubmatch(message); match != nil {
			lines = append(lines, match[1])
		}
	}
	if len(lines) == 0 {
		return "unexpected content: " + expected
	}
	return fmt.Sprintf("unexpected content on line %s: %s", strings.Join(lines, ", "), expected)
}

var yamlLinePattern = regexp.MustCompile(`^line (\d+):`)

func parseCredentials(path string, data []byte) (Credentials, error) {
	var parsed credentialsFile
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	if err := decoder.Decode(&parsed); err != nil {
		if errors.Is(err, io.EOF) {
			return Credentials{}, fmt.Errorf("S3 credentials file %s: file is empty: expected access_key and secret_key", path)
		}
		return Credentials{}, fmt.Errorf("S3 credentials file %s: %s", path, describeYAMLError(err))
	}

	access := strings.TrimSpace(parsed.AccessKey)
	secret := strings.TrimSpace(parsed.SecretKey)
	var missing []string
	if access == "" {
		missing = append(missing, "access_key")
	}
	if secret == "" {
		missing = append(missing, "secret_key")
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("S3 credentials file %s: missing %s", path, strings.Join(missing, " and "))
	}
	return Credentials{AccessKey: access, SecretKey: secret, Source: "file " + path}, nil
}
