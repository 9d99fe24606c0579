// Package archive defines how archived segments are laid out in the object
// store: deterministic object keys and the JSON metadata document that is
// written last, so that its presence means the segment is complete.
package archive

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hikarchive/hikarchive/internal/pipeline"
)

// MetadataVersion is the version of the Metadata document.
const MetadataVersion = 1

// Content types of the objects.
const (
	MP4ContentType       = "video/mp4"
	PSContentType        = "video/MP2P" // MPEG-2 Program Stream, RFC 3555
	ThumbnailContentType = "image/jpeg"
	MetadataContentType  = "application/json"
)

// Keys names the objects of one segment.
type Keys struct {
	MP4       string // the clip remuxed to MP4
	Original  string // the segment's bytes as the camera wrote them
	Thumbnail string
	Metadata  string
}

// KeysFor returns the object keys of a segment:
//
//	[prefix/]<camera>/<YYYY>/<MM>/<DD>/<YYYYMMDDTHHMMSS.ffffffZ>_<datadir>_ch<NN>-hiv<NNNNN>-slot<NNN>.<ext>
//
// with the extension .mp4, .ps, .jpg or .json.
//
// The date and time are the segment's real start in UTC, so keys sort by
// camera and then by time. The camera id and datadir are encoded with
// KeyToken, so any id gives a valid key of exactly one camera.
func KeysFor(prefix string, s pipeline.Segment) Keys {
	start := s.Start.UTC()
	dir := path.Join(KeyToken(s.Camera), start.Format("2006"), start.Format("01"), start.Format("02"))
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		dir = prefix + "/" + dir
	}

	base := fmt.Sprintf("%s_%s_ch%02d-hiv%05d-slot%03d",
		start.Format("20060102T150405.000000Z"), KeyToken(s.Datadir), s.Channel, s.File, s.Slot)
	stem := dir + "/" + base
	return Keys{
		MP4:       stem + ".mp4",
		Original:  stem + ".ps",
		Thumbnail: stem + ".jpg",
		Metadata:  stem + ".json",
	}
}

// KeyToken encodes s for one path component of an object key. Letters,
// digits, '-' and '_' stay, and so does '.' except at the start; every other
// byte becomes '!' and two upper-case hex digits. Those are the characters
// that S3 documents as safe, the mapping is injective, and no result is "."
// or "..", so the local-folder store can use it as a file name.
func KeyToken(s string) string {
	if s == "" {
		return "!"
	}

	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "!%02X", c)
		}
	}
	return b.String()
}

// Thumbnail is the thumbnail status of a segment: whether it has one and
// its source.
type Thumbnail struct {
	Status string `json:"status"` // "ok" or "none"
	// Source is "camera" for the camera's own event picture from its
	// hivNNNNN.pic files, or "ffmpeg" for the first key frame decoded.
	Source string `json:"source,omitempty"`
	Width  int    `json:"width,omitempty"`  // pixels
	Reason string `json:"reason,omitempty"` // cause of a missing thumbnail
	// CameraPicture is the reason the camera's own picture was not used,
	// when the thumbnail is not from the camera.
	CameraPicture string `json:"camera_picture,omitempty"`
}

// Metadata is the JSON document stored beside each archived clip.
type Metadata struct {
	Version int              `json:"version"`
	Segment pipeline.Segment `json:"segment"`
	// DurationSeconds is End minus Start as the camera wrote them.
	DurationSeconds float64 `json:"duration_seconds"`
	Size            int64   `json:"size"`        // bytes of the clip
	SHA256          string  `json:"sha256"`      // hex digest of the clip's bytes
	ClipFormat      string  `json:"clip_format"` // "mp4" or "mpeg-ps"
	// SourceSize and SourceSHA256 describe the segment's bytes in the hiv
	// file, whatever the clip's format, so the copy can be checked against
	// the camera's data.
	SourceSize   int64  `json:"source_size"`
	SourceSHA256 string `json:"source_sha256"`
	// RemuxError is the reason the clip is the original Program Stream
	// although MP4 was configured; empty otherwise.
	RemuxError string  `json:"remux_error,omitempty"`
	Stream     *Stream `json:"stream,omitempty"` // video and audio found by the remuxer
	// CameraStartWall and CameraEndWall are the camera's wall-clock readings
	// as it wrote them, without a zone.
	CameraStartWall string `json:"camera_start_wall"`
	CameraEndWall   string `json:"camera_end_wall"`
	// ClockSuspect flags a segment whose camera clock looks wrong: reset to
	// 1970 or 2000, before 2005, or in the future. The segment is archived
	// all the same, but its times and object keys do not show when it was
	// really recorded.
	ClockSuspect     string           `json:"clock_suspect,omitempty"`
	Objects          pipeline.Objects `json:"objects"`
	Thumbnail        Thumbnail        `json:"thumbnail"`
	IndexFile        string           `json:"index_file"`
	IndexVersion     uint32           `json:"index_version"`
	IndexModifyTimes uint64           `json:"index_modify_times"`
	ArchiverVersion  string           `json:"archiver_version"`
	ArchivedAt       time.Time        `json:"archived_at"`
}

// Stream describes the video and audio of a remuxed segment.
type Stream struct {
	VideoCodec      string  `json:"video_codec"` // "h264" or "h265"
	Profile         string  `json:"profile,omitempty"`
	Width           int     `json:"width"`  // pixels
	Height          int     `json:"height"` // pixels
	FrameRate       float64 `json:"frame_rate"`
	Frames          int     `json:"frames"`
	AudioCodec      string  `json:"audio_codec,omitempty"`
	AudioFormat     string  `json:"audio_format,omitempty"` // how the MP4 stores the audio
	AudioSkipped    string  `json:"audio_skipped,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"` // from the stream's PTS, not the index's times
	DroppedFrames   int     `json:"dropped_frames,omitempty"`
}

// WallFormat formats camera wall-clock readings in metadata.
const WallFormat = "2006-01-02T15:04:05.000000"
