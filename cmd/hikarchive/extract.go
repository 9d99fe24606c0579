package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/ps"
)

// packSearchWindow is how far into a segment the first pack header is looked
// for, because some firmware writes a vendor header of a few KB before it.
const packSearchWindow = 64 << 10

// progressInterval is the least time between two progress lines.
const progressInterval = time.Second

// errOverwritten marks a segment the camera overwrote before or while it
// was copied.
var errOverwritten = errors.New("overwritten by the camera")

// extractOptions configures one extraction.
type extractOptions struct {
	Root     string // camera storage: SD-card folder or NAS share
	Out      string // output folder
	Camera   string // camera id used in the file names, as in the archive keys
	Location *time.Location
	From, To time.Time // real instants, zero for open-ended
	Progress io.Writer // progress lines, nil for none

	// afterCopy, if set, runs after a segment's bytes are copied and before
	// they are checked again. Tests use it to overwrite the segment.
	afterCopy func(index.Segment)
}

// extractSummary counts what an extraction did.
type extractSummary struct {
	Written     int
	Skipped     int // already in the output folder with the right size
	Overwritten int // recycled by the camera before or while copying
	Bytes       int64
	Files       []string // paths written, in order
}

func extract(args []string) int {
	flags := flag.NewFlagSet("extract", flag.ContinueOnError)
	from := flags.String("from", "", "extract segments that end at or after this camera time (RFC 3339, or 2006-01-02 15:04 in -tz)")
	to := flags.String("to", "", "extract segments that start before this camera time (same forms as -from)")
	out := flags.String("out", "", "folder to write the segments to; created if missing (required)")
	tz := flags.String("tz", "UTC", "IANA time zone of the camera clock, such as Europe/Berlin")
	camera := flags.String("camera", "camera", "camera id used in the file names, as in the archive's object keys")
	quiet := flags.Bool("quiet", false, "print no progress lines on stderr")
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: hikarchive extract PATH --from T --to T --out DIR [--tz ZONE] [--camera ID]\n\nCopies the live recordings of a camera storage in a time range into DIR, one file per segment with the exact program stream bytes, named like the archive's .ps objects. It opens the camera storage read-only and checks after each copy that the camera has not recycled the segment meanwhile.")
		flags.PrintDefaults()
	}

	root, err := parseInspectArgs(flags, args)
	if err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "hikarchive extract: -out is required: give the folder to write the segments to")
		return 2
	}

	loc, err := time.LoadLocation(*tz)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hikarchive extract: invalid -tz %q: %v\n", *tz, err)
		return 2
	}
	fromTime, toTime, err := parseRange(*from, *to, loc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hikarchive extract: %v\n", err)
		return 2
	}

	opts := extractOptions{Root: root, Out: *out, Camera: *camera, Location: loc, From: fromTime, To: toTime, Progress: os.Stderr}
	if *quiet {
		opts.Progress = nil
	}
	summary, err := extractRange(opts)
	for _, path := range summary.Files {
		fmt.Println(path)
	}
	fmt.Fprintf(os.Stderr, "hikarchive extract: %d segments written (%d bytes), %d already present, %d overwritten by the camera\n",
		summary.Written, summary.Bytes, summary.Skipped, summary.Overwritten)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hikarchive extract: %v\n", err)
		return 1
	}
	if summary.Overwritten > 0 {
		return 1
	}
	return 0
}

// parseRange parses -from and -to in the forms timeFilter accepts.
func parseRange(from, to string, loc *time.Location) (time.Time, time.Time, error) {
	parse := func(name, value string) (time.Time, error) {
		if value == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, value); err == nil {
			return t, nil
		}
		for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, value, loc); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("invalid -%s %q: use RFC 3339 (2025-05-25T16:00:00+02:00) or 2025-05-25 16:00 in the -tz zone", name, value)
	}

	fromTime, err := parse("from", from)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	toTime, err := parse("to", to)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !fromTime.IsZero() && !toTime.IsZero() && !fromTime.Before(toTime) {
		return time.Time{}, time.Time{}, fmt.Errorf("-from %s is not before -to %s", from, to)
	}
	return fromTime, toTime, nil
}

// wanted is one segment to extract and the datadir it lives in.
type wanted struct {
	datadir index.Datadir
	segment index.Segment
}

// extractRange copies every live closed segment of every channel that
// overlaps [From, To). A segment the camera overwrote is counted and
// skipped, and any other failure stops the extraction.
func extractRange(opts extractOptions) (extractSummary, error) {
	var summary extractSummary
	storage, err := index.OpenStorageAny(opts.Root)
	if err != nil {
		return summary, err
	}

	var reader index.Reader
	var segments []wanted
	var total int64
	for _, datadir := range storage.Datadirs {
		snapshot, err := reader.ReadDatadirAny(datadir.Path)
		if err != nil {
			return summary, fmt.Errorf("datadir %s: %w", datadir.Name, err)
		}
		for _, view := range snapshot.ChannelViews() {
			for _, seg := range view.Closed {
				if inRange(seg, opts) {
					segments = append(segments, wanted{datadir: datadir, segment: seg})
					total += seg.Size()
				}
			}
		}
	}

	progress := newProgress(opts.Progress, len(segments), total)
	for _, w := range segments {
		err := extractSegment(&reader, w, opts, &summary)
		if errors.Is(err, errOverwritten) {
			summary.Overwritten++
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "hikarchive extract: skipped %s: %v\n", w.segment.Key(), err)
			}
		} else if err != nil {
			return summary, err
		}
		progress.add(w.segment.Size())
	}
	progress.done()
	return summary, nil
}

// inRange reports whether a segment overlaps [From, To), in real time.
func inRange(seg index.Segment, opts extractOptions) bool {
	start, end := seg.Start.In(opts.Location), seg.End.In(opts.Location)
	if !opts.From.IsZero() && end.Before(opts.From) {
		return false
	}
	if !opts.To.IsZero() && !start.Before(opts.To) {
		return false
	}
	return true
}

// extractSegment copies one segment to its file. The bytes go to a
// temporary file first, which is renamed only once the index still lists
// the segment unchanged and its data still starts with a pack header: the
// camera rewrites the index before it writes new video into a file, so
// then the copy is intact.
func extractSegment(reader *index.Reader, w wanted, opts extractOptions, summary *extractSummary) error {
	seg := w.segment
	key := archive.KeysFor("", pipeline.NewSegment(opts.Camera, w.datadir.Name, opts.Location, seg)).Original
	target := filepath.Join(opts.Out, filepath.FromSlash(key))
	if info, err := os.Stat(target); err == nil && info.Size() == seg.Size() {
		summary.Skipped++
		return nil
	}

	hivPath := filepath.Join(w.datadir.Path, seg.HivName())
	hiv, err := os.Open(hivPath)
	if err != nil {
		return fmt.Errorf("open hiv file of segment %s: %w", seg.Key(), err)
	}
	defer hiv.Close()

	if err := checkProgramStream(hiv, hivPath, seg); err != nil {
		return err
	}

	temporary, err := copyToTemporary(hiv, seg, target)
	if err != nil {
		return err
	}
	defer os.Remove(temporary) // no-op once renamed

	if opts.afterCopy != nil {
		opts.afterCopy(seg)
	}
	if err := checkStillLive(reader, w, hiv, hivPath); err != nil {
		return err
	}

	if err := os.Rename(temporary, target); err != nil {
		return fmt.Errorf("move segment %s into place: %w", seg.Key(), err)
	}
	summary.Written++
	summary.Bytes += seg.Size()
	summary.Files = append(summary.Files, target)
	return nil
}

// copyToTemporary writes the segment's bytes to a temporary file beside
// target and returns its path.
func copyToTemporary(hiv *os.File, seg index.Segment, target string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", fmt.Errorf("create output folder: %w", err)
	}
	file, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("create output file for segment %s: %w", seg.Key(), err)
	}

	_, err = io.Copy(file, io.NewSectionReader(hiv, int64(seg.StartOffset), seg.Size()))
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(file.Name())
		return "", fmt.Errorf("copy segment %s from %s to %s: %w", seg.Key(), hiv.Name(), file.Name(), err)
	}
	return file.Name(), nil
}

// checkStillLive reads the index again and checks that it lists the
// segment unchanged and that its data still starts with a pack header.
func checkStillLive(reader *index.Reader, w wanted, hiv *os.File, hivPath string) error {
	snapshot, err := reader.ReadDatadirAny(w.datadir.Path)
	if err != nil {
		return fmt.Errorf("read index of %s after copying segment %s: %w", w.datadir.Path, w.segment.Key(), err)
	}
	if now, found := snapshot.Find(w.segment.Key()); !found || now != w.segment {
		return fmt.Errorf("segment %s: the index stopped listing it while it was copied from %s: %w", w.segment.Key(), hivPath, errOverwritten)
	}
	return checkProgramStream(hiv, hivPath, w.segment)
}

// checkProgramStream checks that a segment's data starts with an MPEG-2
// pack header, possibly after a vendor header. Anything else means the
// camera wrote other data there.
func checkProgramStream(hiv *os.File, hivPath string, seg index.Segment) error {
	info, err := hiv.Stat()
	if err != nil {
		return fmt.Errorf("stat hiv file %s: %w", hivPath, err)
	}
	if int64(seg.EndOffset) > info.Size() {
		return fmt.Errorf("segment %s claims bytes [%d, %d) but %s has %d bytes: the index is corrupt or the storage is not fully mounted", seg.Key(), seg.StartOffset, seg.EndOffset, hivPath, info.Size())
	}

	head := make([]byte, min(seg.Size(), packSearchWindow))
	if _, err := hiv.ReadAt(head, int64(seg.StartOffset)); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s at byte %d: %w", hivPath, seg.StartOffset, err)
	}

	startCode := []byte{0x00, 0x00, 0x01, 0xBA}
	for offset := 0; offset < len(head); {
		next := bytes.Index(head[offset:], startCode)
		if next < 0 {
			break
		}
		offset += next
		if ps.CheckPackHeader(head[offset:]) == nil {
			return nil
		}
		offset++
	}
	return fmt.Errorf("segment %s at byte %d of %s does not start with an MPEG-2 pack header: %w", seg.Key(), seg.StartOffset, hivPath, errOverwritten)
}

// progress prints a line on stderr at most once per progressInterval, and a
// last one when done if it printed any.
type progress struct {
	w            io.Writer
	segments     int
	total        int64
	doneSegments int
	doneBytes    int64
	started      time.Time
	printed      time.Time
}

func newProgress(w io.Writer, segments int, total int64) *progress {
	now := time.Now()
	return &progress{w: w, segments: segments, total: total, started: now, printed: now}
}

func (p *progress) add(bytes int64) {
	p.doneSegments++
	p.doneBytes += bytes
	if p.w == nil || time.Since(p.printed) < progressInterval {
		return
	}
	p.printed = time.Now()
	p.print()
}

func (p *progress) done() {
	if p.w != nil && p.printed != p.started {
		p.print()
	}
}

func (p *progress) print() {
	fmt.Fprintf(p.w, "hikarchive extract: %d/%d segments, %.1f/%.1f MiB, %s elapsed\n",
		p.doneSegments, p.segments, float64(p.doneBytes)/(1<<20), float64(p.total)/(1<<20), time.Since(p.started).Round(time.Second))
}
