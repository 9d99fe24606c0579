package h264

import (
	"bytes"
	"testing"
)

// The seed corpus lives in testdata/fuzz/FuzzSplitAccessUnits.
func FuzzSplitAccessUnits(f *testing.F) {
	f.Add(annexB(sps, pps, idr, slice, slicePart2))
	f.Fuzz(func(t *testing.T, stream []byte) {
		units, err := SplitAccessUnits(stream)
		if err != nil {
			return
		}

		var joined []byte
		for i, u := range units {
			// A unit starts with a start code, which zero bytes may precede.
			afterZeros := bytes.TrimLeft(u.Data, "\x00")
			if len(u.Data)-len(afterZeros) < 2 || len(afterZeros) == 0 || afterZeros[0] != 0x01 {
				t.Fatalf("unit %d does not start with a start code: % x", i, u.Data[:min(len(u.Data), 8)])
			}
			hasSlice, hasIDR := false, false
			for _, typ := range u.NALTypes {
				hasSlice = hasSlice || isSlice(typ)
				hasIDR = hasIDR || typ == NALIDR
			}
			if !hasSlice {
				t.Fatalf("unit %d has no slice: types %v", i, u.NALTypes)
			}
			if hasIDR != u.IDR {
				t.Fatalf("unit %d: IDR flag %v, types %v", i, u.IDR, u.NALTypes)
			}
			joined = append(joined, u.Data...)
		}

		// The units cover the stream up to its trailing zero bytes.
		if !bytes.Equal(joined, stream[:len(joined)]) || len(bytes.Trim(stream[len(joined):], "\x00")) != 0 {
			t.Fatalf("units do not cover the stream: %d of %d bytes", len(joined), len(stream))
		}
	})
}
