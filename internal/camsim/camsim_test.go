package camsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/ps"
)

// smallConfig is a ring of 4 files of 512 KiB. At the clip's bit rate of
// about 31 KB/s a file holds about 16 s, so it takes five 3 s segments and a
// shorter one, and the ring wraps about once per minute of camera time.
func smallConfig(t *testing.T) Config {
	return Config{
		Dir:             filepath.Join(t.TempDir(), "sd"),
		Files:           4,
		FileSize:        512 << 10,
		SegmentDuration: 3 * time.Second,
	}
}

func TestNewCreatesEmptyStorage(t *testing.T) {
	cfg := smallConfig(t)
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	for i := range cfg.Files {
		info, err := os.Stat(filepath.Join(cfg.Dir, index.HivName(uint32(i))))
		require.NoError(t, err)
		assert.Equal(t, cfg.FileSize, info.Size(), "hiv file %d size", i)
	}

	b, tb := readIndexes(t, cfg.Dir)
	assert.Len(t, b, index.RegionSize(cfg.Files))
	assert.Equal(t, uint64(1), tb.Header.ModifyTimes)
	assert.Equal(t, uint32(2), tb.Header.Version)
	assert.Equal(t, uint32(4), tb.Header.AVFiles)
	assert.Equal(t, uint32(0), tb.Header.NextFileRecNo)
	assert.Equal(t, uint32(0), tb.Header.LastFileRecNo)
	for i, c := range tb.Header.Current {
		assert.False(t, c.Used, "current-file record %d", i)
	}
	for i, f := range tb.Files {
		assert.Equal(t, uint16(index.UnusedChannel), f.Channel, "file %d", i)
		assert.Equal(t, uint32(i), f.FileNo, "file %d", i)
	}
	assert.Empty(t, cam.Record())
	assert.Nil(t, cam.Open())

	_, err = New(cfg)
	require.Error(t, err, "a second camera on the same folder")
	assert.Contains(t, err.Error(), "already contains index00.bin")
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no dir", func(c *Config) { c.Dir = "" }, "Dir is empty"},
		{"no files", func(c *Config) { c.Files = 0 }, "Files is 0"},
		{"too many files", func(c *Config) { c.Files = 1 << 16 }, "Files is 65536"},
		{"file size over 32 bits", func(c *Config) { c.FileSize = 1 << 32 }, "32-bit offsets"},
		{"file size too small", func(c *Config) { c.FileSize = 4096 }, "too small"},
		{"segment shorter than a frame", func(c *Config) { c.SegmentDuration = 39 * time.Millisecond }, "shorter than one frame"},
		{"channel 49", func(c *Config) { c.Channel = 49 }, "Channel 49"},
		{"version 4", func(c *Config) { c.Version = 4 }, "Version 4"},
		{"index too small", func(c *Config) { c.IndexSize = 100 }, "IndexSize 100"},
		{"start before 1970", func(c *Config) { c.Start = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }, "32-bit Unix seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := smallConfig(t)
			tt.edit(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestAdvanceOpenSegmentInIndex(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Start = time.Date(2025, 5, 1, 8, 0, 0, 250_000_000, time.UTC)
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	require.NoError(t, cam.Advance(time.Second))

	open := cam.Open()
	require.NotNil(t, open)
	assert.Equal(t, 25, open.Frames)
	assert.True(t, open.Open)
	assert.Equal(t, uint32(0), open.File)
	assert.Equal(t, 0, open.Slot)
	assert.Equal(t, index.PackWall(cfg.Start), open.Start)
	assert.Equal(t, hashFile(t, cfg.Dir, 0, 0, open.Size), open.SHA256, "hash of the bytes written so far")

	_, tb := readIndexes(t, cfg.Dir)
	cur := tb.Header.Current[1]
	assert.True(t, cur.Used)
	assert.Equal(t, uint16(0), cur.FileNo)
	assert.Equal(t, uint16(0), cur.Slot)
	assert.Equal(t, open.Start.Seconds(), cur.StartTime)
	assert.Equal(t, uint32(0), cur.LastClosedTime, "no closed slot in the file yet")
	assert.Equal(t, uint32(1), cur.Channel)
	assert.False(t, tb.Header.Current[0].Used, "record 0 is not the channel's")

	slot := tb.Slots[0][0]
	assert.Equal(t, index.PackTime(open.Start.Seconds(), 0), slot.Start, "an open slot has no microseconds")
	assert.True(t, slot.End.IsZero(), "open slot end time")
	assert.Equal(t, uint32(0), slot.EndOffset, "open slot end offset")
	assert.Equal(t, uint8(13), slot.Type)
	assert.Equal(t, uint32(cfg.FileSize), slot.InfoStartOffset)
	assert.Equal(t, slot.InfoStartOffset, slot.InfoEndOffset)
}

func TestAdvanceBetweenCloseAndOpen(t *testing.T) {
	cfg := smallConfig(t)
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	// Exactly one segment of camera time: the segment closes after its last
	// frame, and the next opens only when its first frame is due.
	require.NoError(t, cam.Advance(cfg.SegmentDuration))
	assert.Nil(t, cam.Open())

	recs := cam.Record()
	require.Len(t, recs, 1)
	assert.False(t, recs[0].Open)
	assert.Equal(t, 75, recs[0].Frames)

	_, tb := readIndexes(t, cfg.Dir)
	assert.Equal(t, uint64(3), tb.Header.ModifyTimes, "empty, open, close")
	cur := tb.Header.Current[1]
	assert.Equal(t, uint16(0), cur.Slot, "the record still names the closed slot")
	assert.Equal(t, recs[0].End.Seconds(), cur.LastClosedTime)
	assert.Equal(t, recs[0].End, tb.Slots[0][0].End)
	assert.Equal(t, recs[0].Start, tb.Slots[0][0].Start, "a closed slot has microseconds")

	require.NoError(t, cam.Advance(time.Millisecond))
	require.NotNil(t, cam.Open())
	assert.Equal(t, 1, cam.Open().Slot)
	_, tb = readIndexes(t, cfg.Dir)
	assert.Equal(t, uint64(4), tb.Header.ModifyTimes)
	assert.Equal(t, uint16(1), tb.Header.Current[1].Slot)
	assert.Equal(t, tb.Slots[0][0].KeyFrame, tb.Slots[0][1].KeyFrame, "an open slot copies the previous key-frame time")
	assert.Equal(t, tb.Slots[0][0].KeyFrameStreamTime, tb.Slots[0][1].KeyFrameStreamTime)
	assert.Equal(t, tb.Slots[0][0].LastFrameStreamTime, tb.Slots[0][1].LastFrameStreamTime)
}

func TestAdvanceManyRingWraps(t *testing.T) {
	cfg := smallConfig(t)
	var closedSeen []Recorded
	cfg.OnSegmentClosed = func(r Recorded) { closedSeen = append(closedSeen, r) }
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	var lastModify uint64
	sawStale := false
	// Steps of odd length so that checks land in every state: open, just
	// closed, at a file change.
	for step := range 80 {
		require.NoError(t, cam.Advance(13*time.Second+170*time.Millisecond))

		b, tb := readIndexes(t, cfg.Dir)
		require.Greater(t, tb.Header.ModifyTimes, lastModify, "step %d: modifyTimes must grow", step)
		lastModify = tb.Header.ModifyTimes
		assert.Len(t, b, index.RegionSize(cfg.Files))

		recs := cam.Record()
		checkHeader(t, cfg, tb, recs)
		checkLiveSlots(t, cfg, tb, recs)
		checkFileTable(t, cfg, tb, recs)
		if countStaleSlots(t, cfg, tb, recs) > 0 {
			sawStale = true
		}
		checkSegmentData(t, cfg, recs)
	}

	recs := cam.Record()
	wraps := -1
	for _, r := range recs {
		if r.File == 0 && r.Slot == 0 {
			wraps++
		}
	}
	assert.GreaterOrEqual(t, wraps, 10, "the ring must wrap many times")
	t.Logf("%d segments, %d ring wraps", len(recs), wraps)
	assert.True(t, sawStale, "stale slots of earlier cycles must appear after the live ones")
	checkRecordSequence(t, cfg, recs)

	var closed []Recorded
	for _, r := range recs {
		if !r.Open {
			closed = append(closed, r)
		}
	}
	assert.Equal(t, clearOverwritten(closed), clearOverwritten(closedSeen), "OnSegmentClosed must see every closed segment once")
}

func TestAdvanceFillsAllSlots(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Files = 2
	cfg.FileSize = 64 << 20 // sparse, room for far more than 256 one-frame segments
	cfg.SegmentDuration = frameInterval
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	require.NoError(t, cam.Advance(frameTime(index.SlotsPerFile+3)))

	recs := cam.Record()
	require.Len(t, recs, index.SlotsPerFile+3)
	assert.Equal(t, uint32(0), recs[index.SlotsPerFile-1].File)
	assert.Equal(t, index.SlotsPerFile-1, recs[index.SlotsPerFile-1].Slot)
	assert.Equal(t, uint32(1), recs[index.SlotsPerFile].File, "slot 256 does not exist, so the camera moves on")
	assert.Equal(t, 0, recs[index.SlotsPerFile].Slot)

	_, tb := readIndexes(t, cfg.Dir)
	assert.Equal(t, uint16(index.SlotsPerFile-1), tb.Files[0].SegRecNums)
	checkLiveSlots(t, cfg, tb, recs)
	checkFileTable(t, cfg, tb, recs)
	checkSegmentData(t, cfg, recs)
}

func TestAdvanceSingleFileRing(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Files = 1
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	require.NoError(t, cam.Advance(time.Minute))

	recs := cam.Record()
	_, tb := readIndexes(t, cfg.Dir)
	checkHeader(t, cfg, tb, recs)
	checkLiveSlots(t, cfg, tb, recs)
	checkSegmentData(t, cfg, recs)
	assert.True(t, recs[0].Overwritten, "the only file has been recycled")
}

func TestStartClockReadingIsStoredAsUTC(t *testing.T) {
	cfg := smallConfig(t)
	// A camera set to UTC-3 that shows 19:38:00 stores 19:38:00 "UTC".
	cfg.Start = time.Date(2025, 5, 1, 19, 38, 0, 0, time.FixedZone("UTC-3", -3*3600))
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	require.NoError(t, cam.Advance(time.Second))
	want := time.Date(2025, 5, 1, 19, 38, 0, 0, time.UTC)
	assert.Equal(t, want, cam.Open().Start.Wall())
}

func TestRunUntilCanceled(t *testing.T) {
	cfg := smallConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg.OnSegmentClosed = func(Recorded) { cancel() }
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	require.NoError(t, cam.Run(ctx, 100, 10*time.Millisecond))
	require.NotErrorIs(t, ctx.Err(), context.DeadlineExceeded, "Run must have closed a segment before the deadline")
	assert.GreaterOrEqual(t, cam.Elapsed(), cfg.SegmentDuration)

	assert.Error(t, cam.Run(ctx, 0, time.Millisecond), "speed 0")
	assert.Error(t, cam.Run(ctx, 1, 0), "tick 0")
	assert.Error(t, cam.Advance(-time.Second), "negative duration")
}

func TestSegmentDecodesWithFFprobe(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed; install ffmpeg to check that segments decode")
	}
	cfg := smallConfig(t)
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	// Segments of 3 s restart the 2 s clip at frame 25 or 0, so the second
	// segment starts mid-clip and must decode on its own.
	require.NoError(t, cam.Advance(7*time.Second))
	recs := cam.Record()
	require.GreaterOrEqual(t, len(recs), 2)

	for _, r := range recs[:2] {
		data := readSegment(t, cfg.Dir, r.File, r.StartOffset, r.Size)
		path := filepath.Join(t.TempDir(), "segment.mpg")
		require.NoError(t, os.WriteFile(path, data, 0o644))

		out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
			"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", path).Output()
		require.NoError(t, err, "ffprobe on segment %d/%d", r.File, r.Slot)

		var probe struct {
			Streams []struct {
				CodecName    string `json:"codec_name"`
				Width        int    `json:"width"`
				Height       int    `json:"height"`
				NbReadFrames string `json:"nb_read_frames"`
			} `json:"streams"`
		}
		require.NoError(t, json.Unmarshal(out, &probe), "ffprobe output: %s", out)
		require.Len(t, probe.Streams, 1)
		s := probe.Streams[0]
		assert.Equal(t, "h264", s.CodecName)
		assert.Equal(t, clipWidth, s.Width)
		assert.Equal(t, clipHeight, s.Height)
		frames, err := strconv.Atoi(s.NbReadFrames)
		require.NoError(t, err)
		assert.Equal(t, r.Frames, frames, "decoded frames of segment %d/%d", r.File, r.Slot)
	}
}

// checkHeader compares the header's ring pointers and current-file record
// with the newest record.
func checkHeader(t *testing.T, cfg Config, tb *index.Table, recs []Recorded) {
	t.Helper()
	require.NotEmpty(t, recs)
	newest := recs[len(recs)-1]

	assert.Equal(t, newest.File, tb.Header.LastFileRecNo, "lastFileRecNo is the file being written")
	wrapped := false
	for _, r := range recs {
		wrapped = wrapped || r.Overwritten
	}
	wantNext := uint32(0)
	if wrapped {
		wantNext = (newest.File + 1) % uint32(cfg.Files)
	}
	assert.Equal(t, wantNext, tb.Header.NextFileRecNo, "nextFileRecNo is the oldest file")

	cur := tb.Header.Current[cfg.channel()]
	assert.True(t, cur.Used)
	assert.Equal(t, uint16(newest.File), cur.FileNo)
	assert.Equal(t, uint16(newest.Slot), cur.Slot)
	assert.Equal(t, uint32(cfg.channel()), cur.Channel)
	assert.Equal(t, uint32(0), cur.Reserved)

	var slot0, lastClosed *Recorded
	for i := range recs {
		r := &recs[i]
		if r.File == newest.File && !r.Overwritten {
			if r.Slot == 0 {
				slot0 = r
			}
			if !r.Open {
				lastClosed = r
			}
		}
	}
	require.NotNil(t, slot0)
	assert.Equal(t, slot0.Start.Seconds(), cur.StartTime, "start seconds of slot 0")
	if lastClosed == nil {
		assert.Equal(t, uint32(0), cur.LastClosedTime)
	} else {
		assert.Equal(t, lastClosed.End.Seconds(), cur.LastClosedTime, "end seconds of the newest closed slot")
	}
}

// checkLiveSlots requires the slots that the liveness rules accept to be
// exactly the segments not overwritten, in ring order.
func checkLiveSlots(t *testing.T, cfg Config, tb *index.Table, recs []Recorded) {
	t.Helper()
	var current []Recorded
	for _, r := range recs {
		if !r.Overwritten {
			current = append(current, r)
		}
	}

	live := liveSlots(tb, cfg.channel())
	require.Len(t, live, len(current), "live slots against current segments")
	for i, l := range live {
		r := current[i]
		s := l.s
		assert.Equal(t, int(r.File), l.file, "live slot %d file", i)
		assert.Equal(t, r.Slot, l.slot, "live slot %d index", i)
		assert.Equal(t, r.StartOffset, s.StartOffset, "live slot %d start offset", i)
		assert.Equal(t, r.EndOffset, s.EndOffset, "live slot %d end offset", i)
		assert.Equal(t, r.End, s.End, "live slot %d end time", i)
		if r.Open {
			assert.Equal(t, index.PackTime(r.Start.Seconds(), 0), s.Start, "open slot %d start", i)
		} else {
			assert.Equal(t, r.Start, s.Start, "live slot %d start time", i)
			assert.Equal(t, r.Start, s.KeyFrame, "live slot %d key-frame time", i)
			ticks := uint32(r.Frames * ticksPerFrame / 2)
			assert.Equal(t, ticks, s.LastFrameStreamTime-s.KeyFrameStreamTime, "live slot %d stream time span (45 kHz)", i)
			assert.Equal(t, r.Start.Seconds(), s.InfoStartTime, "live slot %d info start time", i)
			assert.Equal(t, r.End.Seconds(), s.InfoEndTime, "live slot %d info end time", i)
			assert.Less(t, s.InfoEndOffset, s.InfoStartOffset, "live slot %d info block", i)
			assert.LessOrEqual(t, s.EndOffset, s.InfoEndOffset, "live slot %d data below its info block", i)
		}

		assert.Equal(t, uint8(13), s.Type, "live slot %d type", i)
		assert.Zero(t, s.StartOffset%segmentAlignment, "live slot %d start offset alignment", i)
		assert.Zero(t, s.StartOffset%512, "live slot %d start offset 512-byte alignment", i)
		assert.LessOrEqual(t, int64(s.InfoStartOffset), cfg.FileSize, "live slot %d info start within file", i)
	}
}

// checkFileTable requires each finished file's entry to describe the newest
// finished cycle of that file.
func checkFileTable(t *testing.T, cfg Config, tb *index.Table, recs []Recorded) {
	t.Helper()

	// Group records into cycles: runs of consecutive records in one file.
	type cycle struct{ first, last Recorded }
	finished := map[uint32]cycle{}
	for i := 0; i < len(recs); {
		j := i
		for j+1 < len(recs) && recs[j+1].File == recs[i].File && recs[j+1].Slot > recs[j].Slot {
			j++
		}
		if j+1 < len(recs) { // a later record is in another file, so this cycle is finished
			finished[recs[i].File] = cycle{recs[i], recs[j]}
		}
		i = j + 1
	}

	for i, f := range tb.Files {
		c, ok := finished[uint32(i)]
		if !ok {
			assert.Equal(t, uint16(index.UnusedChannel), f.Channel, "file %d never finished must be unused", i)
			continue
		}
		assert.Equal(t, cfg.channel(), f.Channel, "file %d channel", i)
		assert.Equal(t, uint16(c.last.Slot), f.SegRecNums, "file %d segRecNums is the last slot index", i)
		assert.Equal(t, c.first.Start.Seconds(), f.StartTime, "file %d start", i)
		assert.Equal(t, c.last.End.Seconds(), f.EndTime, "file %d end", i)
	}
}

// countStaleSlots returns how many non-empty slots lie after the live ones
// of their file, and checks that each holds an overwritten segment.
func countStaleSlots(t *testing.T, cfg Config, tb *index.Table, recs []Recorded) int {
	t.Helper()
	lastLive := map[int]int{}
	for _, l := range liveSlots(tb, cfg.channel()) {
		lastLive[l.file] = l.slot
	}

	stale := 0
	for i := range tb.Slots {
		from, ok := lastLive[i]
		if !ok {
			from = -1
		}
		for j := from + 1; j < index.SlotsPerFile; j++ {
			s := tb.Slots[i][j]
			if s.Empty() {
				continue
			}
			stale++
			found := false
			for _, r := range recs {
				if r.Overwritten && int(r.File) == i && r.Slot == j && r.Start == s.Start && r.EndOffset == s.EndOffset {
					found = true
				}
			}
			assert.True(t, found, "stale slot %d/%d must be an overwritten segment", i, j)
		}
	}
	return stale
}

// checkSegmentData reads every segment that is not overwritten and checks
// its hash, its program stream structure and its timestamps.
func checkSegmentData(t *testing.T, cfg Config, recs []Recorded) {
	t.Helper()
	for _, r := range recs {
		if r.Overwritten {
			continue
		}
		assert.LessOrEqual(t, int64(r.StartOffset)+r.Size, cfg.FileSize, "segment %d/%d within its file", r.File, r.Slot)
		if !r.Open {
			assert.Equal(t, int64(r.EndOffset-r.StartOffset), r.Size, "segment %d/%d size", r.File, r.Slot)
		}

		data := readSegment(t, cfg.Dir, r.File, r.StartOffset, r.Size)
		sum := sha256.Sum256(data)
		assert.Equal(t, r.SHA256, hex.EncodeToString(sum[:]), "segment %d/%d hash", r.File, r.Slot)
		assert.NoError(t, ps.CheckPackHeader(data), "segment %d/%d start", r.File, r.Slot)

		frames, firstPTS := walkSegment(t, data)
		assert.Equal(t, r.Frames, frames, "segment %d/%d frames", r.File, r.Slot)
		wantPTS := uint64(r.Start.Wall().UnixNano()/1e5*9) % (ps.MaxTimestamp + 1)
		assert.Equal(t, wantPTS, firstPTS, "segment %d/%d first PTS is the camera clock at 90 kHz", r.File, r.Slot)
	}
}

// checkRecordSequence checks the order and timing of all segments.
func checkRecordSequence(t *testing.T, cfg Config, recs []Recorded) {
	t.Helper()
	for i, r := range recs {
		if r.Open {
			assert.Equal(t, len(recs)-1, i, "only the newest segment may be open")
			continue
		}
		duration := r.End.Wall().Sub(r.Start.Wall())
		assert.Equal(t, frameTime(int64(r.Frames)), duration, "segment %d duration", i)
		assert.LessOrEqual(t, duration, cfg.SegmentDuration, "segment %d duration", i)
		if i > 0 {
			assert.Equal(t, recs[i-1].End, r.Start, "segment %d starts where %d ended", i, i-1)
		}
		if i > 0 && recs[i-1].File == r.File && r.Slot > 0 {
			// The real camera starts a segment at the first 16 KiB boundary
			// at or after the previous segment's end.
			prevEnd := int64(recs[i-1].EndOffset)
			assert.Equal(t, uint32((prevEnd+16383)/16384*16384), r.StartOffset, "segment %d start offset", i)
			assert.Equal(t, recs[i-1].Slot+1, r.Slot, "segment %d slot", i)
		} else {
			assert.Equal(t, uint32(0), r.StartOffset, "segment %d opens a file at offset 0", i)
			assert.Equal(t, 0, r.Slot, "segment %d opens a file at slot 0", i)
		}
		if i+1 < len(recs) && recs[i+1].File == r.File && duration < cfg.SegmentDuration {
			t.Errorf("segment %d closed early at %v but the next segment is in the same file", i, duration)
		}
	}
}

// walkSegment parses a segment's program stream and returns its frame count
// and first PTS. It requires pack header, system header and stream map at
// the start, and PTS growing by one frame per frame.
func walkSegment(t *testing.T, data []byte) (int, uint64) {
	t.Helper()
	var codes []byte
	frames := 0
	var first, prev uint64
	for b := data; len(b) > 0; {
		pkt, err := ps.NextPacket(b)
		require.NoError(t, err)
		codes = append(codes, pkt.Code)
		if pkt.Code == ps.CodeVideo {
			p, err := ps.ParsePES(pkt.Data)
			require.NoError(t, err)
			if p.HasPTS {
				if frames == 0 {
					first = p.PTS
				} else {
					require.Equal(t, (prev+ticksPerFrame)%(ps.MaxTimestamp+1), p.PTS, "PTS of frame %d", frames)
				}
				require.Equal(t, p.PTS, p.DTS)
				prev = p.PTS
				frames++
			}
		}
		b = b[len(pkt.Data):]
	}
	require.GreaterOrEqual(t, len(codes), 4)
	require.Equal(t, []byte{ps.CodePack, ps.CodeSystemHeader, ps.CodeStreamMap, ps.CodeVideo}, codes[:4])
	return frames, first
}

func readSegment(t *testing.T, dir string, file, offset uint32, size int64) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, index.HivName(file)))
	require.NoError(t, err)
	defer f.Close()
	data := make([]byte, size)
	_, err = io.ReadFull(io.NewSectionReader(f, int64(offset), size), data)
	require.NoError(t, err)
	return data
}

func hashFile(t *testing.T, dir string, file, offset uint32, size int64) string {
	sum := sha256.Sum256(readSegment(t, dir, file, offset, size))
	return hex.EncodeToString(sum[:])
}

// clearOverwritten returns recs with Overwritten false, because callbacks see
// a segment before it is overwritten.
func clearOverwritten(recs []Recorded) []Recorded {
	res := make([]Recorded, len(recs))
	for i, r := range recs {
		r.Overwritten = false
		res[i] = r
	}
	return res
}

func (c Config) channel() uint16 {
	if c.Channel == 0 {
		return DefaultChannel
	}
	return c.Channel
}
