package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Limits on values, with the reason for each.
const (
	// MaxCameraIDBytes bounds camera ids so that object keys and NATS
	// subjects built from them stay short.
	MaxCameraIDBytes = 128

	// MaxConcurrency bounds archiver workers, because each one holds a
	// segment read, an upload and possibly an ffmpeg process at once.
	MaxConcurrency = 64

	// MaxReplicas is the largest JetStream stream replica count that NATS
	// accepts.
	MaxReplicas = 5

	// MinPartSize and MaxPartSize are the S3 multipart upload part limits.
	MinPartSize = 5 * MiB
	MaxPartSize = 5 * GiB

	// MaxThumbnailWidth catches a misplaced digit: thumbnails are small
	// previews, not full frames.
	MaxThumbnailWidth = 4096
	MinThumbnailWidth = 16

	// MaxSimulatorFileSize is the largest hiv file the index can describe,
	// because it stores byte offsets as unsigned 32-bit numbers.
	MaxSimulatorFileSize = ByteSize(math.MaxUint32)

	// MinSimulatorFileSize rejects hiv files too small to hold video.
	// NOTE: 64KiB is a guess, not derived from the simulator's bitrate.
	MinSimulatorFileSize = 64 * KiB
)

// scheduleParser accepts descriptors (@every 5s, @hourly) and cron specs of
// 5 fields or 6 with seconds first.
var scheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a scanner schedule with the parser Validate uses, so
// the scanner accepts exactly the specs that validation accepted.
func ParseSchedule(spec string) (schedule cron.Schedule, err error) {
	// cron v3.0.1 panics on some malformed specs, such as "TZ=UTC" with
	// nothing after it.
	defer func() {
		if recovered := recover(); recovered != nil {
			schedule, err = nil, fmt.Errorf("invalid schedule %q: %v", spec, recovered)
		}
	}()

	return scheduleParser.Parse(spec)
}

// Validate checks the values that do not depend on the role, sets empty
// time zones to "UTC" and loads the time zones of cameras and simulator.
// Load calls it.
func (c *Config) Validate() error {
	v := &validator{cfg: c}

	v.checkLog()
	v.checkNATS()
	v.checkStore()
	v.checkCameras()
	v.checkScanner()
	v.checkArchiver()
	v.checkSimulator()
	v.checkMetrics()
	v.checkRetention()
	v.checkRiskThreshold()

	return errors.Join(v.errs...)
}

// ValidateFor runs Validate, then checks what role needs: scanner and
// archiver need at least one camera and nats.url, archiver and single-box
// need a store.
func (c *Config) ValidateFor(role string) error {
	v := &validator{cfg: c}

	switch role {
	case RoleScanner:
		v.requireCameras(role)
		v.requireNATSURL(role)
	case RoleArchiver:
		v.requireCameras(role)
		v.requireNATSURL(role)
		v.requireStore(role)
	case RoleSingleBox:
		v.requireStore(role)
		v.checkEmbeddedReplicas()
	default:
		return fmt.Errorf("unknown role %q: use %q, %q or %q", role, RoleScanner, RoleArchiver, RoleSingleBox)
	}

	return errors.Join(append([]error{c.Validate()}, v.errs...)...)
}

// validator collects the problems of one Config.
type validator struct {
	cfg  *Config
	errs []error
}

func (v *validator) fail(path, value, problem, fix string) {
	v.errs = append(v.errs, &Error{
		File:    v.cfg.file,
		Line:    v.lineOf(path),
		Key:     path,
		Value:   value,
		Problem: problem,
		Fix:     fix,
	})
}

// lineOf returns the line of path, or of its nearest parent that the file
// contains, or 0.
func (v *validator) lineOf(path string) int {
	for path != "" {
		if line, ok := v.cfg.lines[path]; ok {
			return line
		}

		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			break
		}
		path = path[:cut]
	}

	return 0
}

func (v *validator) checkOneOf(path, value string, allowed ...string) {
	for _, candidate := range allowed {
		if value == candidate {
			return
		}
	}

	v.fail(path, value, "invalid value "+quote(value), "write one of: "+strings.Join(allowed, ", "))
}

func (v *validator) checkIntRange(path string, value, low, high int, fix string) {
	if value < low || value > high {
		v.fail(path, strconv.Itoa(value), fmt.Sprintf("%d is out of range", value), fix)
	}
}

func (v *validator) checkPositive(path string, value Duration) {
	if value <= 0 {
		v.fail(path, value.String(), fmt.Sprintf("duration %s must be positive", value), `write a duration such as "5s" or "2m"`)
	}
}

func (v *validator) checkRequired(path, value, fix string) bool {
	if strings.TrimSpace(value) == "" {
		v.fail(path, value, "missing value", fix)
		return false
	}

	return true
}

func (v *validator) checkFileExists(path, name string) {
	info, err := os.Stat(name)
	if err != nil {
		v.fail(path, name, fmt.Sprintf("cannot use file %s: %v", quote(name), err), "write the path of an existing readable file, or remove the key")
		return
	}
	if info.IsDir() {
		v.fail(path, name, quote(name)+" is a directory", "write the path of a file")
	}
}

func (v *validator) checkLocation(path, name string) *time.Location {
	location, err := time.LoadLocation(name)
	// "Local" is rejected because it means the zone of whichever machine
	// runs hikarchive, not the camera's.
	if err != nil || strings.EqualFold(name, "local") {
		v.fail(path, name, "unknown time zone "+quote(name),
			`write an IANA time zone name such as "Europe/Berlin", "America/New_York" or "UTC" (the one set on the camera)`)
		return nil
	}

	return location
}

func (v *validator) checkLog() {
	log := v.cfg.Log
	v.checkOneOf("log.level", log.Level, "debug", "info", "warn", "error")
	v.checkOneOf("log.format", log.Format, "console", "json")
}

func (v *validator) checkNATS() {
	nats := v.cfg.NATS

	if nats.URL != "" {
		v.checkNATSURL(nats.URL)
	} else {
		v.checkRequired("nats.embedded.store_dir", nats.Embedded.StoreDir, "write the directory where the embedded server keeps JetStream data")
		v.checkRequired("nats.embedded.host", nats.Embedded.Host, `write the address to listen on, such as "127.0.0.1"`)
		v.checkIntRange("nats.embedded.port", nats.Embedded.Port, -1, 65535,
			"write a TCP port (1 to 65535), -1 to pick a free port, or 0 for no TCP listener")
	}

	if nats.CredentialsFile != "" {
		v.checkFileExists("nats.credentials_file", nats.CredentialsFile)
	}

	v.checkIntRange("nats.replicas", nats.Replicas, 1, MaxReplicas,
		fmt.Sprintf("write 1 for a single server, or up to %d (at most the number of servers in the cluster)", MaxReplicas))
	v.checkPositive("nats.duplicate_window", nats.DuplicateWindow)
}

// checkNATSURL checks a comma-separated list of server URLs.
func (v *validator) checkNATSURL(list string) {
	const fix = `write a URL such as "nats://127.0.0.1:4222" (schemes: nats, tls, ws, wss), several separated by commas`

	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)

		parsed, err := url.Parse(raw)
		if err != nil || parsed.Host == "" {
			v.fail("nats.url", raw, "invalid NATS URL "+quote(raw), fix)
			continue
		}

		if parsed.User != nil {
			v.fail("nats.url", parsed.Redacted(), "the NATS URL "+quote(parsed.Redacted())+" contains a user name or password",
				"remove it from the URL and set the token in the environment variable "+EnvNATSToken+" or use nats.credentials_file")
			continue
		}

		switch parsed.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			v.fail("nats.url", raw, "unsupported scheme "+quote(parsed.Scheme)+" in NATS URL "+quote(raw), fix)
		}
	}
}

func (v *validator) checkStore() {
	store := v.cfg.Store

	if strings.HasPrefix(store.Prefix, "/") {
		v.fail("store.prefix", store.Prefix, "prefix "+quote(store.Prefix)+" starts with a slash",
			`remove the leading "/", as in "cameras/site-a"`)
	}

	switch store.Kind {
	case "":
		// The role decides whether a store is needed, see ValidateFor.
	case "local":
		v.checkRequired("store.local.root", store.Local.Root, "write the directory that archived segments are written to")
	case "s3":
		v.checkS3(store.S3)
	default:
		v.fail("store.kind", store.Kind, "unknown store kind "+quote(store.Kind),
			`write "local" for a directory or "s3" for an S3-compatible bucket`)
	}
}

// bucketName is the S3 bucket naming rule: 3 to 63 lowercase letters,
// digits, dots and hyphens, starting and ending with a letter or digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (v *validator) checkS3(s3 S3) {
	if v.checkRequired("store.s3.endpoint", s3.Endpoint, `write the S3 server as host:port, such as "127.0.0.1:9000" or "s3.amazonaws.com"`) {
		v.checkEndpoint(s3.Endpoint)
	}

	if v.checkRequired("store.s3.bucket", s3.Bucket, "write the name of the bucket to archive into") &&
		(!bucketName.MatchString(s3.Bucket) || strings.Contains(s3.Bucket, "..")) {
		v.fail("store.s3.bucket", s3.Bucket, "invalid bucket name "+quote(s3.Bucket),
			"write 3 to 63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit")
	}

	if s3.PartSize < MinPartSize || s3.PartSize > MaxPartSize {
		v.fail("store.s3.part_size", s3.PartSize.String(), "part size "+s3.PartSize.String()+" is outside the S3 limits",
			fmt.Sprintf("write a size from %s to %s, such as \"16MiB\"", MinPartSize, MaxPartSize))
	}

	if s3.CredentialsFile != "" {
		v.checkFileExists("store.s3.credentials_file", s3.CredentialsFile)
	}
}

func (v *validator) checkEndpoint(endpoint string) {
	if strings.Contains(endpoint, "://") {
		v.fail("store.s3.endpoint", endpoint, "endpoint "+quote(endpoint)+" contains a scheme",
			`write only host:port, such as "127.0.0.1:9000", and set store.s3.secure to false for plain HTTP`)
		return
	}
	if strings.Contains(endpoint, "/") {
		v.fail("store.s3.endpoint", endpoint, "endpoint "+quote(endpoint)+" contains a path",
			"write only host:port and put the bucket name in store.s3.bucket")
		return
	}

	if !strings.Contains(endpoint, ":") {
		return
	}

	host, port, err := net.SplitHostPort(endpoint)
	number, portErr := strconv.Atoi(port)
	if err != nil || host == "" || portErr != nil || number < 1 || number > 65535 {
		v.fail("store.s3.endpoint", endpoint, "invalid endpoint "+quote(endpoint),
			`write host:port with a port from 1 to 65535, such as "127.0.0.1:9000" ([::1]:9000 for IPv6)`)
	}
}

func (v *validator) checkCameras() {
	firstIndex := map[string]int{}

	for i := range v.cfg.Cameras {
		camera := &v.cfg.Cameras[i]
		prefix := fmt.Sprintf("cameras[%d]", i)

		v.checkCameraID(prefix+".id", camera.ID, i, firstIndex)
		v.checkRequired(prefix+".path", camera.Path,
			"write the camera's storage folder: an SD-card folder with index00.bin, or a NAS share with info.bin and datadirN folders")

		// A camera writes its local clock as if it were UTC, so a wrong
		// zone shifts every archived time: there is no safe default.
		if v.checkRequired(prefix+".timezone", camera.TimeZone,
			`write the IANA name of the zone set on the camera, such as "Europe/Berlin", or "UTC" if the camera's clock runs on UTC`) {
			camera.location = v.checkLocation(prefix+".timezone", camera.TimeZone)
		}
	}
}

func (v *validator) checkCameraID(path, id string, index int, firstIndex map[string]int) {
	if !v.checkRequired(path, id, `write a unique name for the camera, such as "front-door"`) {
		return
	}

	if len(id) > MaxCameraIDBytes {
		v.fail(path, id, fmt.Sprintf("camera id %s is %d bytes long", quote(id), len(id)),
			fmt.Sprintf("write an id of at most %d bytes", MaxCameraIDBytes))
	}

	if first, ok := firstIndex[id]; ok {
		v.fail(path, id, fmt.Sprintf("duplicate camera id %s (also cameras[%d].id)", quote(id), first),
			"give each camera a unique id")
		return
	}
	firstIndex[id] = index
}

func (v *validator) checkScanner() {
	scanner := v.cfg.Scanner

	if _, err := ParseSchedule(scanner.Schedule); err != nil {
		v.fail("scanner.schedule", scanner.Schedule, fmt.Sprintf("invalid schedule %s: %v", quote(scanner.Schedule), err),
			`write "@every 5s", a descriptor such as "@hourly", or a cron spec of 5 fields (minute hour day month weekday) or 6 with seconds first, such as "*/10 * * * * *"`)
	}

	v.checkOneOf("scanner.backfill", scanner.Backfill, BackfillAll, BackfillNew, BackfillSince)

	switch {
	case scanner.Backfill == BackfillSince && scanner.BackfillSince.IsZero():
		v.fail("scanner.backfill_since", "", `missing value: scanner.backfill is "since"`,
			"write the time to start from in RFC 3339 form, such as 2024-05-01T00:00:00Z")
	case scanner.Backfill != BackfillSince && !scanner.BackfillSince.IsZero():
		v.fail("scanner.backfill_since", scanner.BackfillSince.Format(time.RFC3339),
			fmt.Sprintf("backfill_since is set but scanner.backfill is %s", quote(scanner.Backfill)),
			`set scanner.backfill to "since" or remove backfill_since`)
	}
}

func (v *validator) checkArchiver() {
	archiver := v.cfg.Archiver

	v.checkIntRange("archiver.concurrency", archiver.Concurrency, 1, MaxConcurrency,
		fmt.Sprintf("write the number of segments to process at once, from 1 to %d", MaxConcurrency))
	v.checkConsumerName(archiver.Consumer)
	v.checkPositive("archiver.ack_wait", archiver.AckWait)
	v.checkPositive("archiver.retry_min", archiver.RetryMin)
	v.checkPositive("archiver.retry_max", archiver.RetryMax)

	if archiver.RetryMax < archiver.RetryMin {
		v.fail("archiver.retry_max", archiver.RetryMax.String(),
			fmt.Sprintf("retry_max %s is shorter than retry_min %s", archiver.RetryMax, archiver.RetryMin),
			"write a retry_max at least as long as retry_min")
	}

	if archiver.ThumbnailWidth != 0 {
		v.checkIntRange("archiver.thumbnail_width", archiver.ThumbnailWidth, MinThumbnailWidth, MaxThumbnailWidth,
			fmt.Sprintf("write a width in pixels from %d to %d, or 0 to disable thumbnails", MinThumbnailWidth, MaxThumbnailWidth))
	}

	if archiver.Clip != ClipMP4 && archiver.Clip != ClipPS {
		v.fail("archiver.clip", archiver.Clip, "unknown clip format "+quote(archiver.Clip), `write "mp4" or "ps"`)
	}

	v.checkRequired("archiver.ffmpeg", archiver.FFmpeg, `write "ffmpeg" to look it up in PATH, or the path of the executable`)

	if archiver.RateLimit < 0 {
		v.fail("archiver.rate_limit", archiver.RateLimit.String(), fmt.Sprintf("rate limit %d is negative", int64(archiver.RateLimit)),
			`write bytes per second such as "2MiB", or 0 for no limit`)
	}
}

func (v *validator) checkRiskThreshold() {
	if threshold := v.cfg.Scanner.RiskThreshold; threshold < 0 {
		v.fail("scanner.risk_threshold", threshold.String(), "risk threshold is negative", `write a duration such as "10m", or 0 to turn risk warnings off`)
	}
}

func (v *validator) checkMetrics() {
	listen := v.cfg.Metrics.Listen
	if listen == "" {
		return
	}
	if _, port, err := net.SplitHostPort(listen); err != nil || port == "" {
		v.fail("metrics.listen", listen, "invalid listen address "+quote(listen), `write host:port such as "127.0.0.1:9102", or leave it empty to serve no metrics`)
	}
}

func (v *validator) checkRetention() {
	retention := v.cfg.Retention
	if retention == nil {
		return
	}

	if _, err := ParseSchedule(retention.Schedule); err != nil {
		v.fail("retention.schedule", retention.Schedule, "invalid schedule: "+err.Error(), `write a cron spec or a descriptor such as "@every 1h"`)
	}
	v.checkPositive("retention.lease_ttl", retention.LeaseTTL)

	seen := map[string]bool{}
	for i, rule := range retention.Rules {
		path := fmt.Sprintf("retention.rules[%d]", i)
		if rule.Keep <= 0 {
			v.fail(path+".keep", rule.Keep.String(), "keep must be positive", `write how long to keep segments, such as "720h" for 30 days`)
		}
		if seen[rule.Camera] {
			v.fail(path+".camera", rule.Camera, "a second rule for camera "+quote(rule.Camera), "merge the two rules into one")
		}
		seen[rule.Camera] = true
	}
	v.checkLockMode(retention)
}

// checkLockMode checks retention.lock_mode against the store and the rules.
func (v *validator) checkLockMode(retention *Retention) {
	mode := retention.LockMode
	switch mode {
	case "":
		return
	case LockGovernance, LockCompliance:
	default:
		v.fail("retention.lock_mode", mode, "unknown object lock mode "+quote(mode), `write "governance", "compliance", or leave it empty for no lock`)
		return
	}

	if v.cfg.Store.Kind != "s3" {
		v.fail("retention.lock_mode", mode, "object lock needs an S3 store, but store.kind is "+quote(v.cfg.Store.Kind), "set store.kind to s3 with a bucket created with Object Lock, or remove lock_mode")
	}
	if len(retention.Rules) == 0 {
		v.fail("retention.lock_mode", mode, "object lock needs a retention rule to know how long to lock", "add retention.rules, or remove lock_mode")
	}
}

// checkConsumerName applies the JetStream naming rules for durable
// consumers: no whitespace, ".", "*", ">", "/" or "\".
func (v *validator) checkConsumerName(name string) {
	path := "archiver.consumer"

	if !v.checkRequired(path, name, `write a consumer name such as "archiver"`) {
		return
	}

	if strings.ContainsAny(name, ".*>/\\") || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		v.fail(path, name, "invalid JetStream consumer name "+quote(name),
			`use letters, digits, "-" and "_" only, such as "archiver"`)
	}
}

func (v *validator) checkSimulator() {
	simulator := v.cfg.Simulator
	if simulator == nil {
		return
	}

	v.checkRequired("simulator.path", simulator.Path, "write the folder the simulated SD card is written to")
	if simulator.Files < 1 {
		v.fail("simulator.files", strconv.Itoa(simulator.Files), fmt.Sprintf("%d is out of range", simulator.Files),
			"write the number of hiv files in the simulated ring, 1 or more")
	}
	if simulator.FileSize < MinSimulatorFileSize || simulator.FileSize > MaxSimulatorFileSize {
		v.fail("simulator.file_size", simulator.FileSize.String(), "file size "+simulator.FileSize.String()+" is out of range",
			fmt.Sprintf("write a size from %s to %d bytes (4GiB minus 1), such as \"4MiB\"", MinSimulatorFileSize, int64(MaxSimulatorFileSize)))
	}
	v.checkPositive("simulator.segment_duration", simulator.SegmentDuration)
	if simulator.TimeZone == "" {
		simulator.TimeZone = "UTC"
	}
	if !(simulator.Speed > 0) || math.IsInf(simulator.Speed, 0) {
		v.fail("simulator.speed", strconv.FormatFloat(simulator.Speed, 'g', -1, 64),
			fmt.Sprintf("speed %g must be a positive number", simulator.Speed),
			"write the camera seconds that pass per real second, such as 1 for real time or 20")
	}
	simulator.location = v.checkLocation("simulator.timezone", simulator.TimeZone)
}

func (v *validator) requireCameras(role string) {
	if len(v.cfg.Cameras) == 0 {
		v.fail("cameras", "", "no cameras configured; the "+role+" needs at least one",
			"add a list item with id, path and timezone for each camera")
	}
}

func (v *validator) requireNATSURL(role string) {
	if v.cfg.NATS.URL == "" {
		v.fail("nats.url", "", "missing value; the "+role+" connects to an external NATS server (only single-box embeds one)",
			`write the server URL, such as "nats://127.0.0.1:4222"`)
	}
}

func (v *validator) requireStore(role string) {
	if v.cfg.Store.Kind == "" {
		v.fail("store.kind", "", "missing value; the "+role+" needs a store to archive into",
			`write "local" for a directory or "s3" for an S3-compatible bucket`)
	}
}

// checkEmbeddedReplicas rejects replicas that the single embedded server
// cannot provide.
func (v *validator) checkEmbeddedReplicas() {
	if v.cfg.NATS.URL == "" && v.cfg.NATS.Replicas != 1 {
		v.fail("nats.replicas", strconv.Itoa(v.cfg.NATS.Replicas),
			fmt.Sprintf("%d replicas need a NATS cluster, but nats.url is empty so one embedded server runs", v.cfg.NATS.Replicas),
			"write 1, or set nats.url to a cluster")
	}
}
