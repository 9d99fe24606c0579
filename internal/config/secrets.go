package config

import (
	"fmt"
	"os"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Environment variables that carry secrets, which are never read from the
// configuration file.
const (
	EnvNATSToken    = "HIKARCHIVE_NATS_TOKEN"
	EnvS3AccessKey  = "HIKARCHIVE_S3_ACCESS_KEY"
	EnvS3SecretKey  = "HIKARCHIVE_S3_SECRET_KEY"
	EnvAWSAccessKey = "AWS_ACCESS_KEY_ID"
	EnvAWSSecretKey = "AWS_SECRET_ACCESS_KEY"
	EnvAWSSession   = "AWS_SESSION_TOKEN"
)

// Token returns the NATS token from HIKARCHIVE_NATS_TOKEN, or "" when it is
// unset.
func (n NATS) Token() string {
	return os.Getenv(EnvNATSToken)
}

// S3Credentials are the keys for the S3 store. String and the fmt verbs
// print them with the secret hidden.
type S3Credentials struct {
	AccessKey    string
	SecretKey    string
	SessionToken string // empty unless the source provides one
	Source       string // description of the key source, safe to log
}

// String describes the credentials without the secret key or session token.
func (c S3Credentials) String() string {
	return fmt.Sprintf("access key %s from %s", c.AccessKey, c.Source)
}

// GoString keeps %#v from printing the secret.
func (c S3Credentials) GoString() string {
	return "config.S3Credentials{" + c.String() + "}"
}

// Credentials returns the S3 keys from the first source that has them:
// HIKARCHIVE_S3_ACCESS_KEY and HIKARCHIVE_S3_SECRET_KEY, then
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN), then
// the [default] profile of the AWS shared credentials file CredentialsFile.
// Setting only one variable of a pair is an error, so a half-configured
// source is not silently skipped.
func (s S3) Credentials() (S3Credentials, error) {
	if keys, found, err := credentialsFromEnv(EnvS3AccessKey, EnvS3SecretKey, ""); found || err != nil {
		return keys, err
	}

	if keys, found, err := credentialsFromEnv(EnvAWSAccessKey, EnvAWSSecretKey, EnvAWSSession); found || err != nil {
		return keys, err
	}

	if s.CredentialsFile != "" {
		return credentialsFromFile(s.CredentialsFile)
	}

	return S3Credentials{}, fmt.Errorf("no S3 credentials: set %s and %s (or %s and %s), or set store.s3.credentials_file to an AWS credentials file",
		EnvS3AccessKey, EnvS3SecretKey, EnvAWSAccessKey, EnvAWSSecretKey)
}

func credentialsFromEnv(accessVar, secretVar, sessionVar string) (keys S3Credentials, found bool, err error) {
	access, secret := os.Getenv(accessVar), os.Getenv(secretVar)

	switch {
	case access == "" && secret == "":
		return S3Credentials{}, false, nil
	case access == "":
		return S3Credentials{}, true, fmt.Errorf("%s is set but %s is empty: set both, or neither", secretVar, accessVar)
	case secret == "":
		return S3Credentials{}, true, fmt.Errorf("%s is set but %s is empty: set both, or neither", accessVar, secretVar)
	}

	keys = S3Credentials{
		AccessKey: access,
		SecretKey: secret,
		Source:    "environment variables " + accessVar + " and " + secretVar,
	}
	if sessionVar != "" {
		keys.SessionToken = os.Getenv(sessionVar)
	}

	return keys, true, nil
}

func credentialsFromFile(path string) (S3Credentials, error) {
	value, err := credentials.NewFileAWSCredentials(path, "default").Get()
	if err != nil {
		return S3Credentials{}, fmt.Errorf("read S3 credentials from %s (store.s3.credentials_file): %w; the file must be in AWS shared credentials format with aws_access_key_id and aws_secret_access_key under [default]", path, err)
	}
	if value.AccessKeyID == "" || value.SecretAccessKey == "" {
		return S3Credentials{}, fmt.Errorf("S3 credentials file %s (store.s3.credentials_file) has no aws_access_key_id or aws_secret_access_key under [default]", path)
	}

	return S3Credentials{
		AccessKey:    value.AccessKeyID,
		SecretKey:    value.SecretAccessKey,
		SessionToken: value.SessionToken,
		Source:       "file " + path,
	}, nil
}
