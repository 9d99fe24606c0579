package mp4

import (
	"fmt"
)

// H.265 NAL unit types of parameter sets.
const (
	H265NALVPS = 32
	H265NALSPS = 33
	H265NALPPS = 34
)

// H265SPS is what the MP4 sample entry and the remux report need from an
// H.265 sequence parameter set.
type H265SPS struct {
	// PTL holds the 12 bytes of general_profile_tier_level: profile space,
	// tier and profile_idc, 32 compatibility flags, 48 constraint flags and
	// level_idc, as the hvcC record repeats them.
	PTL            [12]byte
	Profile        uint8 // general_profile_idc
	ChromaFormat   uint64
	BitDepthLuma   uint64
	BitDepthChroma uint64
	Width, Height  int // after the conformance window, pixels
}

// ParseH265SPS parses an H.265 SPS NAL unit, 2-byte NAL header included and
// no start code.
func ParseH265SPS(nal []byte) (H265SPS, error) {
	if len(nal) < 15 || nal[0]>>1&0x3F != H265NALSPS {
		return H265SPS{}, fmt.Errorf("H.265 SPS: not an SPS NAL unit (%d bytes, header % x)", len(nal), nal[:min(len(nal), 2)])
	}
	rbsp := unescapeRBSP(nal[2:])
	r := &bitReader{b: rbsp}
	r.skip(4) // sps_video_parameter_set_id
	maxSubLayersMinus1 := int(r.u(3))
	r.skip(1) // sps_temporal_id_nesting_flag

	var s H265SPS
	if len(rbsp) < 13 {
		return H265SPS{}, fmt.Errorf("H.265 SPS: %d bytes leave no room for profile_tier_level", len(rbsp))
	}
	copy(s.PTL[:], rbsp[1:13])
	s.Profile = s.PTL[0] & 0x1F
	r.skip(96)

	// Sub-layer profile and level flags, then their fields (ITU-T H.265
	// 7.3.3).
	profilePresent := make([]bool, maxSubLayersMinus1)
	levelPresent := make([]bool, maxSubLayersMinus1)
	for i := range maxSubLayersMinus1 {
		profilePresent[i] = r.flag()
		levelPresent[i] = r.flag()
	}
	if maxSubLayersMinus1 > 0 {
		r.skip(2 * (8 - maxSubLayersMinus1))
	}
	for i := range maxSubLayersMinus1 {
		if profilePresent[i] {
			r.skip(88)
		}
		if levelPresent[i] {
			r.skip(8)
		}
	}

	r.ue() // sps_seq_parameter_set_id
	s.ChromaFormat = r.ue()
	if s.ChromaFormat == 3 {
		r.skip(1) // separate_colour_plane_flag
	}
	width, height := r.ue(), r.ue()
	var left, right, top, bottom uint64
	if r.flag() {
		left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
	}
	s.BitDepthLuma = r.ue() + 8
	s.BitDepthChroma = r.ue() + 8
	if r.err != nil {
		return H265SPS{}, fmt.Errorf("H.265 SPS: %w", r.err)
	}
	if s.ChromaFormat > 3 || width == 0 || height == 0 || width > 1<<14 || height > 1<<14 {
		return H265SPS{}, fmt.Errorf("H.265 SPS: chroma format %d or size %dx%d out of range", s.ChromaFormat, width, height)
	}

	// Conformance window offsets count chroma samples (Table 6-1).
	subWidth, subHeight := uint64(1), uint64(1)
	switch s.ChromaFormat {
	case 1:
		subWidth, subHeight = 2, 2
	case 2:
		subWidth = 2
	}
	if subWidth*(left+right) >= width || subHeight*(top+bottom) >= height {
		return H265SPS{}, fmt.Errorf("H.265 SPS: conformance window %d+%d, %d+%d leaves no picture of %dx%d", left, right, top, bottom, width, height)
	}
	s.Width = int(width - subWidth*(left+right))
	s.Height = int(height - subHeight*(top+bottom))
	return s, nil
}

// H265ProfileName returns the name of an H.265 general_profile_idc.
func H265ProfileName(p uint8) string {
	switch p {
	case 1:
		return "Main"
	case 2:
		return "Main 10"
	case 3:
		return "Main Still Picture"
	case 4:
		return "Range Extensions"
	}
	return fmt.Sprintf("profile %d", p)
}

// HEVCConfig returns an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15
// 8.3.3.1) for the given parameter sets, with 4-byte NAL lengths. The
// arrays are marked complete because the remuxer keeps parameter sets out
// of the samples, which the hvc1 sample entry requires.
func HEVCConfig(vps, sps, pps [][]byte) ([]byte, error) {
	if len(vps) == 0 || len(sps) == 0 || len(pps) == 0 {
		return nil, fmt.Errorf("hvcC: need a VPS, an SPS and a PPS, have %d, %d and %d", len(vps), len(sps), len(pps))
	}
	info, err := ParseH265SPS(sps[0])
	if err != nil {
		return nil, fmt.Errorf("hvcC: %w", err)
	}

	b := []byte{1}
	b = append(b, info.PTL[:]...)
	b = append(b,
		0xF0, 0x00, // reserved, min_spatial_segmentation_idc 0
		0xFC,                                 // reserved, parallelismType 0 (unknown)
		0xFC|byte(info.ChromaFormat),         // reserved, chromaFormat
		0xF8|byte(info.BitDepthLuma-8)&0x7,   // reserved, bitDepthLumaMinus8
		0xF8|byte(info.BitDepthChroma-8)&0x7, // reserved, bitDepthChromaMinus8
		0x00, 0x00,                           // avgFrameRate unknown
		// constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1,
		// lengthSizeMinusOne 3.
		0<<6|1<<3|1<<2|3,
		3, // numOfArrays
	)
	for _, array := range []struct {
		typ  byte
		nals [][]byte
	}{{H265NALVPS, vps}, {H265NALSPS, sps}, {H265NALPPS, pps}} {
		b = append(b, 0x80|array.typ, byte(len(array.nals)>>8), byte(len(array.nals)))
		for _, nal := range array.nals {
			if len(nal) > 0xFFFF {
				return nil, fmt.Errorf("hvcC: parameter set of %d bytes exceeds 65535", len(nal))
			}
			b = appendNALWithLength16(b, nal)
		}
	}
	return b, nil
}
