package mp4

import (
	"fmt"
)

// H264SPS is what the MP4 sample entry and the remux report need from an
// H.264 sequence parameter set.
type H264SPS struct {
	Profile, Constraints, Level uint8
	ChromaFormat                uint64
	Width, Height               int // displayed size after cropping, pixels
}

// ParseH264SPS parses an H.264 SPS NAL unit, NAL header byte included and
// no start code.
func ParseH264SPS(nal []byte) (H264SPS, error) {
	if len(nal) < 4 || nal[0]&0x1F != 7 {
		return H264SPS{}, fmt.Errorf("H.264 SPS: not an SPS NAL unit (%d bytes, header % x)", len(nal), nal[:min(len(nal), 1)])
	}
	rbsp := unescapeRBSP(nal[1:])
	r := &bitReader{b: rbsp}
	s := H264SPS{Profile: uint8(r.u(8)), Constraints: uint8(r.u(8)), Level: uint8(r.u(8)), ChromaFormat: 1}
	r.ue() // seq_parameter_set_id

	separateColourPlane := false
	switch s.Profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		s.ChromaFormat = r.ue()
		if s.ChromaFormat == 3 {
			separateColourPlane = r.flag()
		}
		r.ue()    // bit_depth_luma_minus8
		r.ue()    // bit_depth_chroma_minus8
		r.skip(1) // qpprime_y_zero_transform_bypass_flag
		if r.flag() {
			lists := 8
			if s.ChromaFormat == 3 {
				lists = 12
			}
			for i := range lists {
				if r.flag() {
					skipScalingList(r, map[bool]int{true: 16, false: 64}[i < 6])
				}
			}
		}
	}

	r.ue() // log2_max_frame_num_minus4
	switch r.ue() {
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.skip(1) // delta_pic_order_always_zero_flag
		r.se()
		r.se()
		n := r.ue()
		if n > 255 {
			return H264SPS{}, fmt.Errorf("H.264 SPS: num_ref_frames_in_pic_order_cnt_cycle %d exceeds 255", n)
		}
		for range n {
			r.se()
		}
	}
	r.ue()    // max_num_ref_frames
	r.skip(1) // gaps_in_frame_num_value_allowed_flag
	widthMBs := r.ue() + 1
	heightMapUnits := r.ue() + 1
	frameMBsOnly := r.flag()
	if !frameMBsOnly {
		r.skip(1) // mb_adaptive_frame_field_flag
	}
	r.skip(1) // direct_8x8_inference_flag
	var cropLeft, cropRight, cropTop, cropBottom uint64
	if r.flag() {
		cropLeft, cropRight, cropTop, cropBottom = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err != nil {
		return H264SPS{}, fmt.Errorf("H.264 SPS: %w", r.err)
	}
	if s.ChromaFormat > 3 || widthMBs > 1<<10 || heightMapUnits > 1<<10 {
		return H264SPS{}, fmt.Errorf("H.264 SPS: chroma format %d or size %dx%d macroblocks out of range", s.ChromaFormat, widthMBs, heightMapUnits)
	}

	// Cropping units, ITU-T H.264 equations 7-19 to 7-22.
	frameHeightFactor := uint64(2)
	if frameMBsOnly {
		frameHeightFactor = 1
	}
	cropX, cropY := uint64(1), frameHeightFactor
	if s.ChromaFormat != 0 && !separateColourPlane {
		subWidth, subHeight := uint64(2), uint64(2)
		if s.ChromaFormat == 2 {
			subHeight = 1
		} else if s.ChromaFormat == 3 {
			subWidth, subHeight = 1, 1
		}
		cropX, cropY = subWidth, subHeight*frameHeightFactor
	}
	width := widthMBs * 16
	height := heightMapUnits * 16 * frameHeightFactor
	if cropX*(cropLeft+cropRight) >= width || cropY*(cropTop+cropBottom) >= height {
		return H264SPS{}, fmt.Errorf("H.264 SPS: cropping %d+%d, %d+%d leaves no picture of %dx%d", cropLeft, cropRight, cropTop, cropBottom, width, height)
	}
	s.Width = int(width - cropX*(cropLeft+cropRight))
	s.Height = int(height - cropY*(cropTop+cropBottom))
	return s, nil
}

func skipScalingList(r *bitReader, size int) {
	last, next := int64(8), int64(8)
	for range size {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
		if r.err != nil {
			return
		}
	}
}

// H264ProfileName returns the name of an H.264 profile_idc.
func H264ProfileName(p uint8) string {
	switch p {
	case 66:
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4 Predictive"
	}
	return fmt.Sprintf("profile %d", p)
}

// AVCConfig returns an AVCDecoderConfigurationRecord (ISO/IEC 14496-15
// 5.3.3.1) for the given SPS and PPS NAL units, with 4-byte NAL lengths.
func AVCConfig(sps, pps [][]byte) ([]byte, error) {
	if len(sps) == 0 || len(pps) == 0 {
		return nil, fmt.Errorf("avcC: need at least one SPS and one PPS, have %d and %d", len(sps), len(pps))
	}
	if len(sps) > 31 || len(pps) > 255 {
		return nil, fmt.Errorf("avcC: %d SPS or %d PPS exceed the record's counts (31, 255)", len(sps), len(pps))
	}
	if len(sps[0]) < 4 {
		return nil, fmt.Errorf("avcC: SPS of %d bytes is too short", len(sps[0]))
	}
	b := []byte{1, sps[0][1], sps[0][2], sps[0][3], 0xFC | 3, 0xE0 | byte(len(sps))}
	for _, nal := range append(append([][]byte{}, sps...), pps...) {
		if len(nal) > 0xFFFF {
			return nil, fmt.Errorf("avcC: parameter set of %d bytes exceeds 65535", len(nal))
		}
	}
	for _, s := range sps {
		b = appendNALWithLength16(b, s)
	}
	b = append(b, byte(len(pps)))
	for _, p := range pps {
		b = appendNALWithLength16(b, p)
	}
	return b, nil
}

func appendNALWithLength16(b, nal []byte) []byte {
	return append(append(b, byte(len(nal)>>8), byte(len(nal))), nal...)
}
