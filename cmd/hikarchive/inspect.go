package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hikarchive/hikarchive/internal/index"
)

// inspectReport is the JSON output of hikarchive inspect.
type inspectReport struct {
	Root     string          `json:"root"`
	TimeZone string          `json:"time_zone"`
	Datadirs []datadirReport `json:"datadirs"`
}

type datadirReport struct {
	Name        string          `json:"name"`
	Path        string          `json:"path"`
	Error       string          `json:"error,omitempty"`
	Index       string          `json:"index,omitempty"`
	Format      string          `json:"format,omitempty"`
	Files       int             `json:"files"`
	OldestFile  uint32          `json:"oldest_file"`
	CurrentFile uint32          `json:"current_file"`
	Ring        *ringEstimate   `json:"ring,omitempty"`
	Open        []segmentReport `json:"open,omitempty"` // one per channel that is recording
	Segments    []segmentReport `json:"segments"`
	Suspects    map[string]int  `json:"clock_suspects,omitempty"`
	Skipped     int             `json:"segments_outside_range"`
}

type segmentReport struct {
	Key         string    `json:"key"`
	Channel     uint16    `json:"channel"`
	File        string    `json:"file"`
	Slot        uint16    `json:"slot"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end,omitzero"`
	Seconds     float64   `json:"seconds"`
	StartOffset uint32    `json:"start_offset"`
	EndOffset   uint32    `json:"end_offset"`
	Bytes       int64     `json:"bytes"`
	Open        bool      `json:"open,omitempty"`
	Clock       string    `json:"clock_suspect,omitempty"`
}

// ringEstimate is the estimated time until the camera overwrites the oldest
// file, from the write rate of the newest closed segments. The rate changes
// with the scene, and event cameras stop writing between events.
type ringEstimate struct {
	BytesPerSecond   float64 `json:"bytes_per_second"`
	BytesUntilOldest int64   `json:"bytes_until_oldest_recycled"`
	SecondsUntil     float64 `json:"seconds_until_oldest_recycled"`
}

func inspect(args []string) int {
	flags := flag.NewFlagSet("inspect", flag.ContinueOnError)
	asJSON := flags.Bool("json", false, "print JSON in place of tables")
	from := flags.String("from", "", "list only segments that end at or after this camera time (RFC 3339, or 2006-01-02 15:04 in -tz)")
	to := flags.String("to", "", "list only segments that start before this camera time (same forms as -from)")
	tz := flags.String("tz", "UTC", "IANA time zone of the camera clock, such as Europe/Berlin; times are shown in it")
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: hikarchive inspect PATH [-json] [-from T] [-to T] [-tz ZONE]\n\nLists the live recordings of a camera storage (SD card folder or NAS share). It opens nothing for writing.")
		flags.PrintDefaults()
	}

	root, err := parseInspectArgs(flags, args)
	if err != nil {
		return 2
	}

	loc, err := time.LoadLocation(*tz)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hikarchive inspect: invalid -tz %q: %v\n", *tz, err)
		return 2
	}
	filter, err := timeFilter(*from, *to, loc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hikarchive inspect: %v\n", err)
		return 2
	}

	report, err := inspectStorage(root, loc, filter)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hikarchive inspect: %v\n", err)
		return 1
	}

	if *asJSON {
		encoder := json.NewEncoder(os.Stdout)
		encoder.SetIndent("", "  ")
		if err := encoder.Encode(report); err != nil {
			fmt.Fprintf(os.Stderr, "hikarchive inspect: write JSON: %v\n", err)
			return 1
		}
	} else {
		printInspectTables(os.Stdout, report)
	}

	for _, d := range report.Datadirs {
		if d.Error != "" {
			return 1
		}
	}
	return 0
}

// parseInspectArgs accepts PATH before or after the flags.
func parseInspectArgs(flags *flag.FlagSet, args []string) (string, error) {
	if err := flags.Parse(args); err != nil {
		return "", err
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return "", errors.New("missing PATH")
	}
	root := flags.Arg(0)
	if err := flags.Parse(flags.Args()[1:]); err != nil {
		return "", err
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(flags.Output(), "hikarchive inspect: unexpected argument %q after PATH\n", flags.Arg(0))
		return "", errors.New("too many arguments")
	}
	return root, nil
}

// timeFilter returns a function that reports whether a segment from start
// to end (real instants) lies in the requested range.
func timeFilter(from, to string, loc *time.Location) (func(start, end time.Time) bool, error) {
	fromTime, toTime, err := parseRange(from, to, loc)
	if err != nil {
		return nil, err
	}

	return func(start, end time.Time) bool {
		if !fromTime.IsZero() && end.Before(fromTime) {
			return false
		}
		if !toTime.IsZero() && !start.Before(toTime) {
			return false
		}
		return true
	}, nil
}

func inspectStorage(root string, loc *time.Location, filter func(start, end time.Time) bool) (*inspectReport, error) {
	storage, err := index.OpenStorageAny(root)
	if err != nil {
		return nil, err
	}

	report := &inspectReport{Root: root, TimeZone: loc.String()}
	var reader index.Reader
	now := time.Now()
	for _, datadir := range storage.Datadirs {
		d := datadirReport{Name: datadir.Name, Path: datadir.Path, Segments: []segmentReport{}}

		snapshot, err := reader.ReadDatadirAny(datadir.Path)
		if err != nil {
			d.Error = err.Error()
			report.Datadirs = append(report.Datadirs, d)
			continue
		}

		d.Index = snapshot.File
		d.Format = fmt.Sprintf("binary index version %d", snapshot.Version)
		if snapshot.Version == index.VersionSQLite {
			d.Format = "SQLite"
		}
		d.Files = snapshot.Files
		d.OldestFile = snapshot.OldestFile
		d.CurrentFile = snapshot.CurrentFile
		d.Ring = estimateRing(snapshot, datadir.Path)

		for _, seg := range snapshot.Closed {
			r := describeSegment(seg, loc, now)
			if !filter(r.Start, r.End) {
				d.Skipped++
				continue
			}
			if r.Clock != "" {
				if d.Suspects == nil {
					d.Suspects = make(map[string]int)
				}
				d.Suspects[r.Clock]++
			}
			d.Segments = append(d.Segments, r)
		}
		for _, view := range snapshot.ChannelViews() {
			if view.Open != nil {
				d.Open = append(d.Open, describeSegment(*view.Open, loc, now))
			}
		}
		report.Datadirs = append(report.Datadirs, d)
	}
	return report, nil
}

func describeSegment(seg index.Segment, loc *time.Location, now time.Time) segmentReport {
	r := segmentReport{
		Key:         seg.Key().String(),
		Channel:     seg.Channel,
		File:        seg.HivName(),
		Slot:        seg.Slot,
		Start:       realTime(seg.Start, loc),
		StartOffset: seg.StartOffset,
		EndOffset:   seg.EndOffset,
		Bytes:       seg.Size(),
		Open:        seg.Open,
		Clock:       string(index.ClockSuspect(seg.Start, now)),
	}
	if !seg.Open {
		r.End = realTime(seg.End, loc)
		r.Seconds = seg.Duration().Seconds()
	}
	return r
}

// realTime returns the real instant of camera reading p, shown in loc.
func realTime(p index.PackedTime, loc *time.Location) time.Time {
	return p.In(loc).In(loc)
}

// estimateRing estimates how long until the camera recycles the file that
// holds the oldest live segment, from each channel's recent write rate and
// the bytes a file really holds. It returns nil when there are too few
// segments to measure a rate. datadir is the folder of the hiv files.
func estimateRing(s *index.Snapshot, datadir string) *ringEstimate {
	if len(s.Closed) == 0 {
		return nil
	}

	oldest := s.Closed[0]
	hivSize := int64(index.HivFileSize)
	if info, err := os.Stat(filepath.Join(datadir, oldest.HivName())); err == nil && info.Size() > 0 {
		hivSize = info.Size()
	}

	headroom, ok := s.HeadroomFor(oldest, hivSize)
	if !ok {
		return nil
	}
	return &ringEstimate{
		BytesPerSecond:   headroom.BytesPerSecond,
		BytesUntilOldest: headroom.BytesUntilRecycle,
		SecondsUntil:     headroom.Time.Seconds(),
	}
}

func printInspectTables(w io.Writer, report *inspectReport) {
	fmt.Fprintf(w, "storage %s (times in %s)\n", report.Root, report.TimeZone)
	for _, d := range report.Datadirs {
		fmt.Fprintf(w, "\n%s: %s\n", d.Name, d.Path)
		if d.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", d.Error)
			continue
		}

		fmt.Fprintf(w, "  index: %s (%s)\n", d.Index, d.Format)
		fmt.Fprintf(w, "  ring: %d files, oldest %s, current %s\n", d.Files, index.HivName(d.OldestFile), index.HivName(d.CurrentFile))
		if d.Ring != nil {
			fmt.Fprintf(w, "  write rate: %.0f kbit/s over the newest segments; oldest file recycled in about %s (%d MiB left)\n",
				d.Ring.BytesPerSecond*8/1000, time.Duration(d.Ring.SecondsUntil*float64(time.Second)).Round(time.Minute), d.Ring.BytesUntilOldest>>20)
		}
		for _, open := range d.Open {
			fmt.Fprintf(w, "  open: channel %d, %s slot %d since %s at byte %d\n", open.Channel, open.File, open.Slot, open.Start.Format("2006-01-02 15:04:05"), open.StartOffset)
		}
		if len(d.Open) == 0 {
			fmt.Fprintln(w, "  open: none")
		}
		for clock, count := range d.Suspects {
			fmt.Fprintf(w, "  clock suspect: %d segments flagged %s\n", count, clock)
		}
		fmt.Fprintf(w, "  %d closed segments listed, %d outside the time range\n\n", len(d.Segments), d.Skipped)

		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  CHANNEL\tFILE\tSLOT\tSTART\tEND\tSECONDS\tBYTES\tCLOCK")
		for _, s := range d.Segments {
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\t%s\t%.1f\t%d\t%s\n", s.Channel, s.File, s.Slot, s.Start.Format("2006-01-02 15:04:05"), s.End.Format("15:04:05"), s.Seconds, s.Bytes, s.Clock)
		}
		tw.Flush()
	}
}
