package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hikarchive/hikarchive/internal/index"
)

// SchemaVersion is the version of the event documents below. A change that
// removes or renames a field increments it.
const SchemaVersion = 1

// Segment describes one recording segment in events: where it is and when it
// was recorded.
type Segment struct {
	Camera  string `json:"camera"`
	Datadir string `json:"datadir"`
	// ID identifies the recording for good (channel, hiv file, slot and
	// start time); see index.Key.
	ID string `json:"id"`
	// HivFile is the hiv file's path relative to the camera's storage root.
	HivFile     string `json:"hiv_file"`
	Channel     uint16 `json:"channel"`
	File        uint32 `json:"file"`
	Slot        uint16 `json:"slot"`
	StartOffset int64  `json:"start_offset"` // bytes into the hiv file
	EndOffset   int64  `json:"end_offset"`   // exclusive
	// Start and End are real instants in UTC, converted with the camera's
	// configured time zone.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// CameraStart and CameraEnd are the packed times as the camera wrote
	// them: its wall clock, seconds in the low 32 bits and microseconds in
	// the high 32 bits.
	CameraStart index.PackedTime `json:"camera_start"`
	CameraEnd   index.PackedTime `json:"camera_end"`
	TimeZone    string           `json:"time_zone"`
}

// NewSegment describes segment s of a camera's datadir for events. loc is the
// camera's time zone.
func NewSegment(camera, datadir string, loc *time.Location, s index.Segment) Segment {
	hivFile := s.HivName()
	if datadir != index.FlatDatadir {
		hivFile = datadir + "/" + hivFile
	}

	segment := Segment{
		Camera:      camera,
		Datadir:     datadir,
		ID:          s.Key().String(),
		HivFile:     hivFile,
		Channel:     s.Channel,
		File:        s.File,
		Slot:        s.Slot,
		StartOffset: int64(s.StartOffset),
		EndOffset:   int64(s.EndOffset),
		Start:       s.Start.In(loc),
		CameraStart: s.Start,
		CameraEnd:   s.End,
		TimeZone:    loc.String(),
	}
	if !s.End.IsZero() {
		segment.End = s.End.In(loc)
	}
	return segment
}

// Key returns the index identity of the segment.
func (s Segment) Key() index.Key {
	return index.Key{Channel: s.Channel, File: s.File, Slot: s.Slot, Start: s.CameraStart}
}

// Closed is published by the scanner once per segment that closed.
type Closed struct {
	Version int     `json:"version"`
	Segment Segment `json:"segment"`
	// IndexFile, IndexVersion and IndexModifyTimes identify the read of the
	// index that showed the segment closed.
	IndexFile        string    `json:"index_file"`
	IndexVersion     uint32    `json:"index_version"`
	IndexModifyTimes uint64    `json:"index_modify_times"`
	ObservedAt       time.Time `json:"observed_at"`
}

// Objects names the objects of one archived segment.
type Objects struct {
	Clip      string `json:"clip"`                // .mp4, or .ps when the clip is the original
	Original  string `json:"original,omitempty"`  // .ps beside an MP4 clip, when originals are kept
	Thumbnail string `json:"thumbnail,omitempty"` // empty when there is no thumbnail
	Metadata  string `json:"metadata"`
}

// Archived is published by the archiver once a segment's objects are all in
// the store, metadata last.
type Archived struct {
	Version    int       `json:"version"`
	Segment    Segment   `json:"segment"`
	Objects    Objects   `json:"objects"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	ArchivedAt time.Time `json:"archived_at"`
}

// Reasons a segment is lost.
const (
	// ReasonOverwritten: the index no longer lists the segment when the
	// archiver gets to it.
	ReasonOverwritten = "overwritten"
	// ReasonOverwrittenDuringCopy: the index stopped listing the segment
	// while its bytes were being copied, so the copy cannot be trusted.
	ReasonOverwrittenDuringCopy = "overwritten_during_copy"
	// ReasonNotProgramStream: the bytes at the segment's offset are not an
	// MPEG-2 Program Stream, so the camera wrote something else there.
	ReasonNotProgramStream = "not_program_stream"
	// ReasonInvalidRange: the segment's byte range lies outside its hiv file.
	ReasonInvalidRange = "invalid_byte_range"
	// ReasonOpenOverwritten: the scanner saw the segment open, and the next
	// read of the index no longer listed it.
	ReasonOpenOverwritten = "overwritten_while_open"
	// ReasonRingPassed: the camera went round its whole ring between two
	// scans; recordings between GapAfter and GapBefore were never seen.
	ReasonRingPassed = "ring_passed_unseen"
)

// Lost is published when footage was overwritten before it was archived.
type Lost struct {
	Version int `json:"version"`
	// Segment is the lost segment; for ReasonRingPassed it is the last
	// segment seen before the gap.
	Segment    Segment   `json:"segment"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail"`
	GapBefore  *Segment  `json:"gap_before,omitempty"` // oldest live segment after a gap
	DetectedBy string    `json:"detected_by"`          // "scanner" or "archiver"
	DetectedAt time.Time `json:"detected_at"`
}

// Publish sends one event as JSON with its message id set, and waits for
// the stream to acknowledge it. A duplicate within the stream's window is
// acknowledged without being stored again.
func Publish(ctx context.Context, js jetstream.JetStream, subject, msgID string, event any) (*jetstream.PubAck, error) {
	data, err := json.Marshal(event)
	if err != nil {
		return nil, fmt.Errorf("encode event for %s: %w", subject, err)
	}

	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(nats.MsgIdHdr, msgID)

	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publish %s (id %s): %w", subject, msgID, err)
	}
	return ack, nil
}

// Risk is published by the scanner when the camera will soon recycle the
// hiv file of a segment that was published as closed and is neither
// archived nor lost yet: the archivers are behind the camera.
type Risk struct {
	Version int `json:"version"`
	// Segment is the oldest segment of its channel that the scanner
	// published and that no archived or lost event has settled yet.
	Segment Segment `json:"segment"`
	// Pending counts the segments of that channel in the same state.
	Pending int `json:"pending"`
	// HeadroomSeconds estimates the time until the camera starts writing
	// the segment's hiv file again, from its recent write rate.
	HeadroomSeconds  float64 `json:"headroom_seconds"`
	ThresholdSeconds float64 `json:"threshold_seconds"`
	// WriteBytesPerSecond is the camera's write rate over all channels of
	// the datadir, and BytesUntilRecycle what it writes until then.
	WriteBytesPerSecond float64   `json:"write_bytes_per_second"`
	BytesUntilRecycle   int64     `json:"bytes_until_recycle"`
	DetectedAt          time.Time `json:"detected_at"`
}
