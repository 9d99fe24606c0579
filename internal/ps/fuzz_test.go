package ps

import (
	"bytes"
	"testing"
)

// The seed corpora live in testdata/fuzz/<FuzzName>; go test runs them as
// regular tests, and go test -fuzz=<FuzzName> explores from them.

func FuzzParsePackHeader(f *testing.F) {
	f.Add(hikvisionStart)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParsePackHeader(b)
		checkErr := CheckPackHeader(b)
		if err != nil {
			if checkErr == nil {
				t.Fatalf("CheckPackHeader accepted data that ParsePackHeader rejects: %v", err)
			}
			return
		}
		if n != h.Len() || n > len(b) {
			t.Fatalf("length %d, header says %d, input has %d", n, h.Len(), len(b))
		}

		// Re-encoding the parsed fields must give the same first 14 bytes:
		// only the reserved bits and stuffing bytes may differ.
		again, err := AppendPackHeader(nil, h)
		if err != nil {
			t.Fatalf("parsed header does not encode: %v (%+v)", err, h)
		}
		if !bytes.Equal(again[:13], b[:13]) || again[13]&0x7 != b[13]&0x7 {
			t.Fatalf("round trip differs:\n got % x\nwant % x", again, b[:n])
		}
	})
}

func FuzzNextPacket(f *testing.F) {
	f.Add(hikvisionStart)
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			pkt, err := NextPacket(b)
			if err != nil {
				return
			}
			if len(pkt.Data) < 4 || len(pkt.Data) > len(b) {
				t.Fatalf("packet length %d out of range 4..%d", len(pkt.Data), len(b))
			}
			if pkt.Code != b[3] {
				t.Fatalf("code %#02x, data has %#02x", pkt.Code, b[3])
			}
			b = b[len(pkt.Data):]
		}
	})
}

func FuzzParsePES(f *testing.F) {
	f.Add([]byte{0x00, 0x00, 0x01, 0xE0, 0x00, 0x06, 0x80, 0x00, 0x00, 0x11, 0x22, 0x33})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePES(b)
		if err != nil {
			return
		}
		if p.HasDTS && !p.HasPTS {
			t.Fatalf("DTS without PTS accepted")
		}
		if p.PTS > MaxTimestamp || p.DTS > MaxTimestamp {
			t.Fatalf("timestamp over 33 bits: PTS %d, DTS %d", p.PTS, p.DTS)
		}

		// Encoding the parsed packet again must give back its timestamps and
		// payload, unless it is a stream id this package does not write.
		if p.StreamID != CodePrivate1 && (p.StreamID < CodeAudio || p.StreamID > 0xEF) {
			return
		}
		again, err := AppendPES(nil, p)
		if err != nil {
			t.Fatalf("parsed PES does not encode: %v", err)
		}
		q, err := ParsePES(again)
		if err != nil {
			t.Fatalf("re-encoded PES does not parse: %v", err)
		}
		if q.PTS != p.PTS || q.DTS != p.DTS || q.HasPTS != p.HasPTS || q.HasDTS != p.HasDTS || !bytes.Equal(q.Payload, p.Payload) {
			t.Fatalf("round trip differs: %+v, want %+v", q, p)
		}
	})
}

// FuzzDemuxer checks that the demuxer survives any input: it never panics,
// every packet it returns lies inside the input in increasing order, and
// the payload offsets point at the payload bytes. Seeds include simulator
// output (testdata/fuzz/FuzzDemuxer).
func FuzzDemuxer(f *testing.F) {
	f.Add(hikvisionStart)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDemuxer(bytes.NewReader(b), int64(len(b)))
		last := int64(-1)
		for range len(b) + 1 {
			p, err := d.Next()
			if err != nil {
				return
			}
			if p.Offset <= last || p.PayloadOffset < p.Offset || p.PayloadOffset+int64(len(p.Payload)) > int64(len(b)) {
				t.Fatalf("packet at %d (payload %d+%d) out of order or outside the %d input bytes", p.Offset, p.PayloadOffset, len(p.Payload), len(b))
			}
			if !bytes.Equal(p.Payload, b[p.PayloadOffset:p.PayloadOffset+int64(len(p.Payload))]) {
				t.Fatalf("payload of packet at %d does not match its offset", p.Offset)
			}
			if p.PTS > MaxTimestamp || p.DTS > MaxTimestamp {
				t.Fatalf("timestamp over 33 bits")
			}
			last = p.Offset
		}
		t.Fatalf("more packets than input bytes")
	})
}
