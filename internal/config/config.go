// Package config loads the YAML configuration shared by the hikarchive
// commands (scanner, archiver and the single-box quick start).
//
// Load reads a file, fills in defaults, checks every value and returns
// errors that name the file, the line, the key path (such as
// cameras[1].timezone), the bad value and what to write instead. Unknown keys
// are errors, so a misspelt key cannot silently fall back to a default.
//
// Secrets are never read from the file. They come from these environment
// variables:
//
//   - HIKARCHIVE_NATS_TOKEN: NATS authentication token (optional). A NATS
//     credentials file (nats.credentials_file) is the other way to log in.
//   - HIKARCHIVE_S3_ACCESS_KEY and HIKARCHIVE_S3_SECRET_KEY: S3 keys. When
//     they are unset, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
//     AWS_SESSION_TOKEN) are used, then the [default] profile of the AWS
//     shared credentials file named by store.s3.credentials_file.
package config

import (
	"time"

	// Embeds the IANA time zone database so camera time zones resolve in
	// minimal container images that have no /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Roles that ValidateFor accepts.
const (
	RoleScanner   = "scanner"
	RoleArchiver  = "archiver"
	RoleSingleBox = "single-box"
)

// Config is the whole configuration file.
type Config struct {
	Log       Log        `yaml:"log"`
	NATS      NATS       `yaml:"nats"`
	Store     Store      `yaml:"store"`
	Cameras   []Camera   `yaml:"cameras"`
	Scanner   Scanner    `yaml:"scanner"`
	Archiver  Archiver   `yaml:"archiver"`
	Simulator *Simulator `yaml:"simulator"` // nil unless the file has a simulator section
	Metrics   Metrics    `yaml:"metrics"`
	Retention *Retention `yaml:"retention"` // nil unless the file has a retention section

	// file is the path given to Load, and lines maps key paths to the line
	// of their value, so that validation errors can point into the file.
	file  string
	lines map[string]int
}

// Log sets up the zerolog logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // console (human-readable) or json
}

// NATS is the connection to the NATS JetStream server.
type NATS struct {
	// URL is a NATS server URL such as nats://127.0.0.1:4222, or several
	// separated by commas. Empty runs an embedded server, which only the
	// single-box role allows.
	URL string `yaml:"url"`

	// CredentialsFile is an optional NATS .creds file (JWT and NKey seed).
	CredentialsFile string `yaml:"credentials_file"`

	Embedded Embedded `yaml:"embedded"`

	// Replicas is the number of JetStream stream replicas, 1 to 5.
	Replicas int `yaml:"replicas"`

	// DuplicateWindow is how long JetStream remembers message ids to drop
	// republished segment events.
	DuplicateWindow Duration `yaml:"duplicate_window"`
}

// Embedded configures the NATS server that single-box runs in-process when
// nats.url is empty.
type Embedded struct {
	StoreDir string `yaml:"store_dir"` // JetStream storage directory
	Host     string `yaml:"host"`      // listen address

	// Port is the client port: -1 picks a free port, 0 opens no TCP
	// listener (in-process connections only).
	Port int `yaml:"port"`
}

// Store is the destination of archived segments.
type Store struct {
	Kind   string `yaml:"kind"`   // "local" or "s3"
	Prefix string `yaml:"prefix"` // object key prefix, no leading slash
	Local  Local  `yaml:"local"`
	S3     S3     `yaml:"s3"`
}

// Local is a store in a local directory.
type Local struct {
	Root string `yaml:"root"`
}

// S3 is a store in an S3-compatible bucket. The keys come from the
// environment or CredentialsFile, see Credentials.
type S3 struct {
	Endpoint        string   `yaml:"endpoint"` // host or host:port, no scheme
	Region          string   `yaml:"region"`   // optional
	Bucket          string   `yaml:"bucket"`
	Secure          bool     `yaml:"secure"`        // HTTPS when true
	CreateBucket    bool     `yaml:"create_bucket"` // create Bucket when it is missing
	CredentialsFile string   `yaml:"credentials_file"`
	PartSize        ByteSize `yaml:"part_size"` // multipart upload part size, 5MiB to 5GiB
}

// Camera is a camera whose storage hikarchive reads.
type Camera struct {
	// ID names the camera in events and object keys. Any characters are
	// allowed (object keys encode it), up to 128 bytes.
	ID string `yaml:"id"`

	// Path is the camera's storage root: an SD-card folder with
	// index00.bin, or a NAS share with info.bin and datadirN folders.
	Path string `yaml:"path"`

	// TimeZone is the IANA name of the camera's clock setting. Cameras
	// record local wall-clock time, so this turns it into real instants.
	TimeZone string `yaml:"timezone"`

	location *time.Location
}

// Location returns the camera's time zone. Validate loads it. On a camera
// that was never validated it loads TimeZone now and falls back to UTC if
// the name is empty or unknown.
func (c Camera) Location() *time.Location {
	return locationOf(c.location, c.TimeZone)
}

// Scanner configures how often camera indexes are read and where a new
// scanner starts.
type Scanner struct {
	// Schedule is a robfig/cron/v3 spec: a descriptor such as "@every 5s"
	// or 5 or 6 fields (seconds first and optional). See ParseSchedule.
	Schedule string `yaml:"schedule"`

	// Backfill is "all" (publish every segment still on the camera), "new"
	// (only segments that close after the scanner's first run) or "since"
	// (segments that start at or after BackfillSince).
	Backfill string `yaml:"backfill"`

	// BackfillSince is an RFC 3339 time, required when Backfill is "since".
	BackfillSince time.Time `yaml:"backfill_since"`

	// RiskThreshold turns on overwrite-risk events: when the estimated time
	// until the camera overwrites a published segment that is not archived
	// yet drops below it, the scanner warns. 0 turns the warnings off.
	RiskThreshold Duration `yaml:"risk_threshold"`
}

// Clip formats.
const (
	ClipMP4 = "mp4"
	ClipPS  = "ps"
)

// Backfill modes.
const (
	BackfillAll   = "all"
	BackfillNew   = "new"
	BackfillSince = "since"
)

// Archiver configures the workers that cut and upload segments.
type Archiver struct {
	Concurrency int      `yaml:"concurrency"` // segments processed at once, 1 to 64
	Consumer    string   `yaml:"consumer"`    // JetStream durable consumer name
	AckWait     Duration `yaml:"ack_wait"`    // JetStream redelivers after this long without an ack
	RetryMin    Duration `yaml:"retry_min"`   // first retry delay for transient errors
	RetryMax    Duration `yaml:"retry_max"`   // cap of the exponential backoff

	// Clip is the format of the archived clip: "mp4" (remuxed in-process,
	// playable in browsers) or "ps" (the segment's bytes as the camera wrote
	// them).
	Clip string `yaml:"clip"`

	// KeepOriginal also stores the segment's original Program Stream beside
	// an MP4 clip, for users who need the untouched evidence.
	KeepOriginal bool `yaml:"keep_original"`

	// ThumbnailWidth is the JPEG thumbnail width in pixels. 0 disables
	// thumbnails.
	ThumbnailWidth int `yaml:"thumbnail_width"`

	// FFmpeg is the ffmpeg executable, a name looked up in PATH when
	// thumbnails are made, or a path.
	FFmpeg string `yaml:"ffmpeg"`

	// RateLimit caps the upload speed of this archiver process in bytes
	// per second, for sites with a thin uplink. 0 means no limit.
	RateLimit ByteSize `yaml:"rate_limit"`
}

// Metrics configures the HTTP endpoint with /metrics, /healthz and /readyz.
type Metrics struct {
	// Listen is the address to serve on, such as "127.0.0.1:9102"; empty
	// serves nothing.
	Listen string `yaml:"listen"`
}

// Retention configures the sweep that deletes archived segments once they
// are older than their rule allows.
type Retention struct {
	Schedule string          `yaml:"schedule"`  // robfig/cron spec, default "@every 1h"
	DryRun   bool            `yaml:"dry_run"`   // log what would be deleted, delete nothing
	LeaseTTL Duration        `yaml:"lease_ttl"` // how long one sweeper holds the lock without renewing it
	Rules    []RetentionRule `yaml:"rules"`

	// LockMode, "governance" or "compliance", makes the archiver lock each
	// segment's objects with S3 Object Lock until its rule lets the sweep
	// delete them. Empty sets no lock. It needs an S3 bucket created with
	// Object Lock enabled, which the archiver checks at start.
	LockMode string `yaml:"lock_mode"`
}

// Object Lock modes for Retention.LockMode.
const (
	LockGovernance = "governance"
	LockCompliance = "compliance"
)

// RetentionRule keeps a camera's segments for a duration. An empty camera
// applies to every camera without a rule of its own.
type RetentionRule struct {
	Camera string   `yaml:"camera"`
	Keep   Duration `yaml:"keep"`
}

// Simulator configures the simulated camera of the single-box quick start.
type Simulator struct {
	Path            string   `yaml:"path"`             // folder the simulated SD card is written to
	Files           int      `yaml:"files"`            // hiv files in the ring
	FileSize        ByteSize `yaml:"file_size"`        // size of each hiv file
	SegmentDuration Duration `yaml:"segment_duration"` // camera time per segment
	Speed           float64  `yaml:"speed"`            // camera seconds per real second
	TimeZone        string   `yaml:"timezone"`         // IANA name of the simulated camera clock

	location *time.Location
}

// Location returns the simulated camera's time zone, loaded as
// Camera.Location does.
func (s Simulator) Location() *time.Location {
	return locationOf(s.location, s.TimeZone)
}

// Default returns a configuration with every default filled in, no
// cameras, no store kind and no simulator.
func Default() *Config {
	return &Config{
		Log: Log{Level: "info", Format: "console"},
		NATS: NATS{
			Embedded: Embedded{
				StoreDir: "data/nats",
				Host:     "127.0.0.1",
				Port:     4222,
			},
			Replicas:        1,
			DuplicateWindow: Duration(time.Hour),
		},
		Store: Store{
			Local: Local{Root: "data/archive"},
			S3: S3{
				Secure:   true,
				PartSize: 16 * MiB,
			},
		},
		Scanner: Scanner{
			Schedule: "@every 5s",
			Backfill: BackfillAll,
		},
		Archiver: Archiver{
			Concurrency:    2,
			Consumer:       "archiver",
			AckWait:        Duration(2 * time.Minute),
			RetryMin:       Duration(2 * time.Second),
			RetryMax:       Duration(time.Minute),
			Clip:           ClipMP4,
			ThumbnailWidth: 320,
			FFmpeg:         "ffmpeg",
		},
	}
}

// DefaultSimulator returns the simulator settings used for every key that a
// simulator section leaves out.
func DefaultSimulator() *Simulator {
	return &Simulator{
		Path:            "data/camera",
		Files:           8,
		FileSize:        4 * MiB,
		SegmentDuration: Duration(20 * time.Second),
		Speed:           20,
		TimeZone:        "UTC",
	}
}

// File returns the path the configuration was loaded from, or "" if it was
// built in code.
func (c *Config) File() string {
	return c.file
}

func locationOf(loaded *time.Location, name string) *time.Location {
	if loaded != nil {
		return loaded
	}

	location, err := time.LoadLocation(name)
	if err != nil || name == "" {
		return time.UTC
	}

	return location
}
