package remux

import (
	"bytes"
	"fmt"
	"slices"
)

// maxSampleEntries bounds the distinct parameter set combinations in one
// segment, each of which becomes an MP4 sample entry. A camera changes its
// encoder settings a few times a day at most, so a segment with more is
// taken as corrupt.
const maxSampleEntries = 64

// maxParameterSets bounds the parameter sets of one kind in a combination.
const maxParameterSets = 16

// parameterSets is one combination of VPS, SPS and PPS NAL units, the
// content of one avc1 or hvc1 sample entry.
type parameterSets struct {
	vps, sps, pps [][]byte
}

func (s *parameterSets) list(kind nalKind) *[][]byte {
	switch kind {
	case nalVPS:
		return &s.vps
	case nalPPS:
		return &s.pps
	}
	return &s.sps
}

func (s *parameterSets) empty() bool {
	return len(s.vps) == 0 && len(s.sps) == 0 && len(s.pps) == 0
}

// complete reports whether s holds every kind of parameter set the codec
// needs to decode a picture.
func (s *parameterSets) complete(codec videoCodec) bool {
	if codec == codecH265 && len(s.vps) == 0 {
		return false
	}
	return len(s.sps) > 0 && len(s.pps) > 0
}

// contains reports whether every NAL unit of o is in s.
func (s *parameterSets) contains(o *parameterSets) bool {
	for _, kind := range []nalKind{nalVPS, nalSPS, nalPPS} {
		for _, nal := range *o.list(kind) {
			if !slices.ContainsFunc(*s.list(kind), func(known []byte) bool { return bytes.Equal(known, nal) }) {
				return false
			}
		}
	}
	return true
}

func (s *parameterSets) equal(o *parameterSets) bool {
	eq := func(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }
	return eq(s.vps, o.vps) && eq(s.sps, o.sps) && eq(s.pps, o.pps)
}

// merge appends copies of the NAL units of o that s lacks.
func (s *parameterSets) merge(o *parameterSets) error {
	for _, kind := range []nalKind{nalVPS, nalSPS, nalPPS} {
		list := s.list(kind)
		for _, nal := range *o.list(kind) {
			if slices.ContainsFunc(*list, func(known []byte) bool { return bytes.Equal(known, nal) }) {
				continue
			}
			if len(*list) >= maxParameterSets {
				return fmt.Errorf("more than %d different parameter sets of one kind (NAL header %#02x)", maxParameterSets, nal[0])
			}
			*list = append(*list, bytes.Clone(nal))
		}
	}
	return nil
}

// useParameterSets applies the parameter sets found in one access unit.
// Before the first kept key frame they add to the first combination. After
// it, parameter sets that the current combination lacks start another one,
// so each MP4 sample entry holds one consistent set. A complete set
// replaces the current one. A partial set, such as a lone new PPS, is
// added to a copy of it.
//
// NOTE: a partial set is appended without parsing parameter set ids, so a
// copy can hold two PPS with the same id. Decoders then use the later one,
// as ffmpeg 5.1 does when it reads avcC and hvcC in order.
func (p *Plan) useParameterSets(found *parameterSets) error {
	if found.empty() {
		return nil
	}
	if !p.started {
		if len(p.sets) == 0 {
			p.sets = append(p.sets, parameterSets{})
		}
		return p.sets[0].merge(found)
	}

	current := &p.sets[p.current]
	if current.contains(found) {
		return nil
	}
	var next parameterSets
	if !found.complete(p.codec) {
		next = parameterSets{vps: slices.Clone(current.vps), sps: slices.Clone(current.sps), pps: slices.Clone(current.pps)}
	}
	if err := next.merge(found); err != nil {
		return err
	}

	for i := range p.sets {
		if p.sets[i].equal(&next) {
			p.current = uint16(i)
			return nil
		}
	}
	if len(p.sets) >= maxSampleEntries {
		return fmt.Errorf("more than %d different combinations of parameter sets in one segment", maxSampleEntries)
	}
	p.sets = append(p.sets, next)
	p.current = uint16(len(p.sets) - 1)
	return nil
}

// haveParameterSets reports whether the current combination can decode a
// picture.
func (p *Plan) haveParameterSets() bool {
	return len(p.sets) > 0 && p.sets[p.current].complete(p.codec)
}

// inbandParameterSets reports whether the first sample after a change from
// sample entry prev to entry keeps its own parameter sets in the sample.
// Chromium 156 reports a decode error on the frames after the change
// unless the new SPS and PPS are also in-band, as
// TestChromiumPlaysResolutionChange shows. ffmpeg 5.1 switches entries
// either way. An hvc1 entry must hold all parameter sets, so H.265 relies
// on the entry switch alone.
//
// NOTE: an H.265 change is checked with neither ffmpeg nor Chromium.
func (p *Plan) inbandParameterSets(prev, entry uint16) bool {
	return p.codec == codecH264 && prev != entry
}
