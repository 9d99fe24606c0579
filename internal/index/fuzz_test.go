package index

import (
	"testing"
)

// FuzzBuild checks that no input makes Build panic or accept a snapshot
// that breaks its own invariants.
func FuzzBuild(f *testing.F) {
	f.Add(encodeTable(ringTable()))
	f.Add(encodeTable(advance(ringTable())))
	f.Add(encodeTable(NewTable(3, 2)))
	f.Add(make([]byte, HeaderSize))
	addCorpusSeed(f)

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Build("fuzz", data)
		if err != nil {
			return
		}
		for i, seg := range s.Closed {
			if seg.EndOffset <= seg.StartOffset {
				t.Fatalf("segment %d has byte range [%d, %d)", i, seg.StartOffset, seg.EndOffset)
			}
			if int(seg.File) >= s.Files || seg.Slot >= SlotsPerFile {
				t.Fatalf("segment %d is at file %d slot %d of %d files", i, seg.File, seg.Slot, s.Files)
			}
		}
		if _, err := Decode("fuzz", data); err != nil {
			t.Fatalf("Build accepted what Decode rejects: %v", err)
		}
	})
}

// FuzzParseInfo checks that no input makes ParseInfo panic or accept a
// datadir count beyond its bound.
func FuzzParseInfo(f *testing.F) {
	f.Add(infoBytes(1))
	f.Add(infoBytes(3))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseInfo("fuzz", data)
		if err != nil {
			return
		}
		if info.Datadirs == 0 || info.Datadirs > maxDatadirs {
			t.Fatalf("accepted %d datadirs", info.Datadirs)
		}
	})
}
