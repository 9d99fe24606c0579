package ps

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxPacketSize is the largest packet with a length field: 6 bytes of start
// code and length plus a 16-bit length.
const maxPacketSize = 6 + MaxPESPacketLength

// demuxWindow is the size of the Demuxer's read buffer. It holds at least
// two of the largest packets, so a refill moves at most one packet's bytes.
const demuxWindow = 256 << 10

// MaxLeadingJunk is how many bytes before the first pack header a Demuxer
// skips. Some firmware writes a proprietary header of a few KiB there; data
// with no pack header this far in is not a program stream.
const MaxLeadingJunk = 1 << 20

// ErrNoPackHeader means a Demuxer found no valid MPEG-2 pack header in the
// first MaxLeadingJunk bytes of its source.
var ErrNoPackHeader = errors.New("no MPEG-2 pack header (00 00 01 ba) found")

// ESPacket is one PES packet of an audio or video elementary stream, as a
// Demuxer returns it.
type ESPacket struct {
	Offset        int64 // source offset of the packet's start code
	PayloadOffset int64 // source offset of Payload[0]
	StreamID      uint8 // 0xc0..0xdf audio, 0xe0..0xef video
	StreamType    uint8 // from the latest stream map; 0 if no map named the stream yet

	HasPTS, HasDTS bool
	PTS, DTS       uint64 // 90 kHz, 33 bits

	// Payload aliases the Demuxer's buffer and is valid until the next call
	// of Next.
	Payload []byte

	// Truncated is set when the source ends inside this packet: Payload
	// holds only the bytes that exist. It can only be the last packet.
	Truncated bool
}

// IsVideo reports whether p belongs to a video stream (ids 0xe0..0xef).
func (p ESPacket) IsVideo() bool { return p.StreamID >= CodeVideo && p.StreamID <= 0xEF }

// IsAudio reports whether p belongs to an MPEG audio stream id (0xc0..0xdf).
func (p ESPacket) IsAudio() bool { return p.StreamID >= CodeAudio && p.StreamID < CodeVideo }

// DemuxStats counts what a Demuxer skipped or found on the way.
type DemuxStats struct {
	LeadingBytes int64 // bytes before the first pack header
	JunkBytes    int64 // bytes skipped to find the next packet after the first pack header
	Resyncs      int   // times the demuxer searched for the next start code
	Packs        int   // pack headers
	StreamMaps   int   // valid program stream maps
	BadPackets   int   // packets with a valid start code and length whose content did not parse
}

// Demuxer reads the audio and video PES packets of an MPEG-2 program stream
// from an io.ReaderAt. It skips pack headers, system headers, padding and
// private streams, and it reads program stream maps to know each stream's
// type. It skips up to MaxLeadingJunk bytes before the first pack header,
// and after that it resynchronises on the next start code whenever the data
// does not parse. Memory use is one fixed buffer of 256 KiB whatever the
// source size. A Demuxer is not safe for concurrent use.
type Demuxer struct {
	src  io.ReaderAt
	size int64

	buf   []byte // buf[pos:] is unread, buf[0] is at source offset start
	start int64
	pos   int

	synced    bool // a pack header has been found
	resyncing bool // the last packet did not parse; check candidates harder
	done      bool

	types [256]uint8 // stream type per stream id, from the latest map
	stats DemuxStats
}

// NewDemuxer returns a Demuxer reading the first size bytes of src.
func NewDemuxer(src io.ReaderAt, size int64) *Demuxer {
	return &Demuxer{src: src, size: size, buf: make([]byte, 0, demuxWindow)}
}

// StreamType returns the type of stream id from the latest stream map, or 0.
func (d *Demuxer) StreamType(id uint8) uint8 { return d.types[id] }

// Stats returns the counts so far.
func (d *Demuxer) Stats() DemuxStats { return d.stats }

// Offset returns the source offset of the next byte the Demuxer parses.
func (d *Demuxer) Offset() int64 { return d.start + int64(d.pos) }

// Next returns the next audio or video PES packet. It returns io.EOF at the
// end of the source, ErrNoPackHeader (wrapped) if the source does not start
// like a program stream, and other errors only when reading src fails.
func (d *Demuxer) Next() (ESPacket, error) {
	for !d.done {
		avail, err := d.fill(maxPacketSize)
		if err != nil {
			return ESPacket{}, err
		}
		if avail < 4 {
			break
		}
		b := d.buf[d.pos:]

		if !d.synced {
			if err := d.findFirstPack(b); err != nil {
				return ESPacket{}, err
			}
			continue
		}

		if !isPacketStartCode(b) || b[3] < CodeEnd {
			d.resync(b)
			continue
		}

		p, ok := d.packet(b)
		if ok {
			return p, nil
		}
	}

	d.done = true
	return ESPacket{}, io.EOF
}

// packet handles the packet at the start of b, which starts with a start
// code. It returns an elementary stream packet and true, or false when the
// packet was skipped or did not parse.
func (d *Demuxer) packet(b []byte) (ESPacket, bool) {
	code := b[3]
	pkt, err := NextPacket(b)
	if err != nil {
		if d.atEOF() && isESCode(code) && len(b) >= 9 && 6+(int(b[4])<<8|int(b[5])) > len(b) {
			return d.truncated(code, b)
		}
		d.resync(b)
		return ESPacket{}, false
	}
	// A start code inside junk can come with a length that would swallow
	// the good packets after it. A packet found by a resync must end at
	// the next start code, and no packet may contain a valid pack header:
	// H.264 and H.265 payloads cannot, because 0xba is no valid NAL header.
	if d.resyncing && !d.followedByStartCode(len(pkt.Data)) || code != CodePack && containsPackHeader(pkt.Data[4:]) {
		d.resync(b)
		return ESPacket{}, false
	}
	var pes PES
	if isESCode(code) {
		if pes, err = parsePESData(code, pkt.Data); err != nil {
			d.stats.BadPackets++
			d.resync(b)
			return ESPacket{}, false
		}
	}
	d.resyncing = false

	offset := d.Offset()
	d.pos += len(pkt.Data)

	switch {
	case code == CodePack:
		d.stats.Packs++
	case code == CodeStreamMap:
		d.readStreamMap(pkt.Data)
	case isESCode(code):
		return d.esPacket(offset, len(pkt.Data), pes), true
	}
	// System header, padding, private streams, end code and the other ids
	// carry nothing the caller needs.
	return ESPacket{}, false
}

// truncated returns the elementary stream packet at the start of b that the
// end of the source cuts off, and ends demuxing.
func (d *Demuxer) truncated(code byte, b []byte) (ESPacket, bool) {
	pes, err := parsePESData(code, b)
	if err != nil || containsPackHeader(b[4:]) {
		d.stats.BadPackets++
		d.resync(b)
		return ESPacket{}, false
	}
	d.done = true
	p := d.esPacket(d.Offset(), len(b), pes)
	p.Truncated = true
	d.pos += len(b)
	return p, true
}

// esPacket fills an ESPacket for the PES packet of n bytes at source offset
// offset.
func (d *Demuxer) esPacket(offset int64, n int, pes PES) ESPacket {
	return ESPacket{
		Offset:        offset,
		PayloadOffset: offset + int64(n-len(pes.Payload)),
		StreamID:      pes.StreamID,
		StreamType:    d.types[pes.StreamID],
		HasPTS:        pes.HasPTS,
		HasDTS:        pes.HasDTS,
		PTS:           pes.PTS,
		DTS:           pes.DTS,
		Payload:       pes.Payload,
	}
}

// readStreamMap records the stream types of a map. A map that does not
// parse is counted and ignored, so the previous types stay in force.
func (d *Demuxer) readStreamMap(data []byte) {
	m, err := ParseStreamMap(data)
	if err != nil {
		d.stats.BadPackets++
		return
	}
	d.stats.StreamMaps++
	for _, s := range m.Streams {
		d.types[s.StreamID] = s.StreamType
	}
}

// findFirstPack skips to the first valid pack header in b, or past b if it
// has none, and fails once MaxLeadingJunk bytes are skipped.
func (d *Demuxer) findFirstPack(b []byte) error {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte{0x00, 0x00, 0x01, CodePack})
		if j < 0 {
			break
		}
		i += j
		if _, _, err := ParsePackHeader(b[i:]); err == nil {
			d.skip(i, &d.stats.LeadingBytes)
			d.synced = true
			return nil
		}
		i++
	}

	// Keep the last 3 bytes: a start code may begin there.
	n := max(len(b)-3, 1)
	if d.atEOF() {
		n = len(b)
	}
	d.skip(n, &d.stats.LeadingBytes)
	if d.stats.LeadingBytes > MaxLeadingJunk || d.atEOF() && d.pos >= len(d.buf) {
		d.done = true
		return fmt.Errorf("%w in the first %d bytes of %d", ErrNoPackHeader, d.stats.LeadingBytes, d.size)
	}
	return nil
}

// resync skips to the next start code after the first byte of b that can
// start a program stream packet (00 00 01 b9..ff).
func (d *Demuxer) resync(b []byte) {
	d.stats.Resyncs++
	d.resyncing = true
	for i := 1; ; {
		j := bytes.Index(b[i:], startCodePrefix)
		if j < 0 {
			break
		}
		i += j
		if i+3 < len(b) && b[i+3] >= CodeEnd {
			d.skip(i, &d.stats.JunkBytes)
			return
		}
		if i+3 >= len(b) {
			d.skip(i, &d.stats.JunkBytes)
			if d.atEOF() {
				d.skip(len(b)-i, &d.stats.JunkBytes)
			}
			return
		}
		i++
	}
	n := max(len(b)-2, 1)
	if d.atEOF() {
		n = len(b)
	}
	d.skip(n, &d.stats.JunkBytes)
}

// followedByStartCode reports whether the n bytes at the read position are
// followed by a start code prefix or by the end of the source. After junk,
// a start code inside the junk can give a packet length that swallows good
// packets, and this check rejects most such false starts.
func (d *Demuxer) followedByStartCode(n int) bool {
	rest := d.buf[d.pos+n:]
	if len(rest) == 0 {
		return d.atEOF()
	}
	if len(rest) < 3 {
		return d.atEOF() && bytes.HasPrefix(startCodePrefix, rest)
	}
	return bytes.HasPrefix(rest, startCodePrefix)
}

// containsPackHeader reports whether b contains a valid MPEG-2 pack header.
func containsPackHeader(b []byte) bool {
	for i := 0; ; i++ {
		j := bytes.Index(b[i:], []byte{0x00, 0x00, 0x01, CodePack})
		if j < 0 {
			return false
		}
		i += j
		if _, _, err := ParsePackHeader(b[i:]); err == nil {
			return true
		}
	}
}

func (d *Demuxer) skip(n int, counter *int64) {
	d.pos += n
	*counter += int64(n)
}

// atEOF reports whether the buffer holds the source up to its end.
func (d *Demuxer) atEOF() bool {
	return d.start+int64(len(d.buf)) >= d.size
}

// fill makes at least n bytes from the read position available, or all
// that remain of the source, and returns how many are available. It reads
// 3 bytes more than n when it can, so a check for a start code right after
// a packet of n bytes sees it.
func (d *Demuxer) fill(n int) (int, error) {
	want := n + 3
	if avail := len(d.buf) - d.pos; avail >= want || d.atEOF() {
		return avail, nil
	}

	copy(d.buf[:cap(d.buf)], d.buf[d.pos:])
	d.buf = d.buf[:len(d.buf)-d.pos]
	d.start += int64(d.pos)
	d.pos = 0

	end := d.start + int64(len(d.buf))
	room := min(int64(cap(d.buf)-len(d.buf)), d.size-end)
	if room > 0 {
		got, err := d.src.ReadAt(d.buf[len(d.buf):len(d.buf)+int(room)], end)
		if int64(got) < room && err != nil {
			if errors.Is(err, io.EOF) {
				// The source is shorter than its stated size: treat the
				// bytes that exist as the whole stream.
				d.size = end + int64(got)
			} else {
				return 0, fmt.Errorf("read program stream at offset %d: %w", end, err)
			}
		}
		d.buf = d.buf[:len(d.buf)+got]
	}
	return len(d.buf), nil
}

// isESCode reports whether a stream id is an MPEG audio or video stream.
func isESCode(code byte) bool {
	return code >= CodeAudio && code <= 0xEF
}
