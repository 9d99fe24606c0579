// Package h264 splits an H.264 Annex B byte stream into access units, the
// unit a camera puts into one PES packet sequence: one coded picture with
// the parameter sets and SEI messages that precede it.
package h264

import (
	"bytes"
	"fmt"
)

// NAL unit types (nal_unit_type, ITU-T H.264) that the splitter acts on.
const (
	NALSlice               = 1  // coded slice of a non-IDR picture
	NALSliceA              = 2  // coded slice data partition A
	NALIDR                 = 5  // coded slice of an IDR picture
	NALSEI                 = 6  // supplemental enhancement information
	NALSPS                 = 7  // sequence parameter set
	NALPPS                 = 8  // picture parameter set
	NALAccessUnitDelimiter = 9  // access unit delimiter
	NALEndOfSequence       = 10 // end of sequence
	NALEndOfStream         = 11 // end of stream
)

// AccessUnit is one coded picture of an Annex B stream.
type AccessUnit struct {
	Data     []byte  // start codes included, aliasing the input stream
	IDR      bool    // contains an IDR slice, so decoding can start here
	NALTypes []uint8 // nal_unit_type of each NAL unit, in stream order
}

// nalUnit is one NAL unit located in the stream.
type nalUnit struct {
	begin   int // offset of its start code, leading zero bytes included
	end     int // offset just past its last byte
	payload []byte
}

// SplitAccessUnits splits an Annex B stream into access units. Once the
// current unit holds a slice, a new unit starts at an access unit delimiter,
// SEI, SPS or PPS (types 6..9), at a NAL unit of types 14..18, and at a
// slice whose first_mb_in_slice is 0. The stream must start with a start
// code, and every access unit must contain a slice.
//
// NOTE: first_mb_in_slice 0 marks a new picture only in streams without
// arbitrary slice order or redundant pictures. x264 and the IP cameras seen
// so far write neither; the full test compares frame_num, pic_parameter_set_id
// and other slice header fields.
func SplitAccessUnits(stream []byte) ([]AccessUnit, error) {
	nals, err := findNALUnits(stream)
	if err != nil {
		return nil, err
	}

	var units []AccessUnit
	var current AccessUnit
	begin := 0
	hasSlice := false
	for i, nal := range nals {
		header := nal.payload[0]
		if header&0x80 != 0 {
			return nil, fmt.Errorf("NAL unit %d at byte %d: forbidden_zero_bit is set; the stream is corrupt", i, nal.begin)
		}
		typ := header & 0x1F

		if hasSlice && startsAccessUnit(typ, nal.payload) {
			current.Data = stream[begin:nal.begin]
			units = append(units, current)
			current, begin, hasSlice = AccessUnit{}, nal.begin, false
		}

		current.NALTypes = append(current.NALTypes, typ)
		if isSlice(typ) {
			hasSlice = true
		}
		if typ == NALIDR {
			current.IDR = true
		}
	}

	if len(nals) == 0 {
		return nil, nil
	}
	if !hasSlice {
		return nil, fmt.Errorf("the last %d NAL units (types %v) from byte %d contain no slice; the stream is truncated", len(current.NALTypes), current.NALTypes, begin)
	}
	current.Data = stream[begin:nals[len(nals)-1].end]
	return append(units, current), nil
}

// startsAccessUnit reports whether a NAL unit of type typ starts a new access
// unit when the current one already holds a slice.
func startsAccessUnit(typ uint8, payload []byte) bool {
	switch {
	case typ == NALAccessUnitDelimiter, typ == NALSEI, typ == NALSPS, typ == NALPPS:
		return true
	case typ >= 14 && typ <= 18:
		return true
	case typ == NALSlice, typ == NALIDR, typ == NALSliceA:
		// first_mb_in_slice is the first ue(v) after the one-byte header, and
		// ue(v) codes 0 as a single 1 bit.
		return len(payload) > 1 && payload[1]&0x80 != 0
	}
	return false
}

func isSlice(typ uint8) bool {
	return typ == NALSlice || typ == NALIDR || typ == NALSliceA
}

// findNALUnits locates every NAL unit of an Annex B stream. Zero bytes before
// a start code belong to that start code (zero_byte or trailing_zero_8bits),
// which is unambiguous because a NAL unit never ends in 0x00.
func findNALUnits(stream []byte) ([]nalUnit, error) {
	prefix := []byte{0x00, 0x00, 0x01}
	first := bytes.Index(stream, prefix)
	if first < 0 {
		if len(bytes.Trim(stream, "\x00")) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("no start code 00 00 01 in %d bytes of H.264 data; the data is not an Annex B stream", len(stream))
	}
	if len(bytes.Trim(stream[:first], "\x00")) != 0 {
		return nil, fmt.Errorf("H.264 data starts with %d bytes before its first start code: data starts % x", first, stream[:min(first, 16)])
	}

	var nals []nalUnit
	begin := 0
	pos := first
	for pos >= 0 {
		start := pos + len(prefix)
		next := bytes.Index(stream[start:], prefix)
		end := len(stream)
		if next >= 0 {
			next += start
			end = next
		}

		// Zero bytes before the next start code are not part of this unit.
		payload := bytes.TrimRight(stream[start:end], "\x00")
		if len(payload) == 0 {
			return nil, fmt.Errorf("empty NAL unit at byte %d", begin)
		}
		nals = append(nals, nalUnit{begin: begin, end: start + len(payload), payload: payload})

		begin = start + len(payload)
		pos = next
	}
	return nals, nil
}
