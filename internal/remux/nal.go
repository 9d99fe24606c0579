package remux

import "bytes"

// splitNALs calls fn with each NAL unit of an Annex B access unit, without
// its start code and without trailing zero bytes, which belong to the next
// start code. Bytes before the first start code are ignored.
func splitNALs(au []byte, fn func(nal []byte)) {
	i := bytes.Index(au, []byte{0, 0, 1})
	for i >= 0 {
		start := i + 3
		next := bytes.Index(au[start:], []byte{0, 0, 1})
		end := len(au)
		if next >= 0 {
			end = start + next
		}
		nal := au[start:end]
		for len(nal) > 0 && nal[len(nal)-1] == 0 {
			nal = nal[:len(nal)-1]
		}
		if len(nal) > 0 {
			fn(nal)
		}
		if next < 0 {
			return
		}
		i = end
	}
}

// nalKind is the role of a NAL unit for the remuxer.
type nalKind int

const (
	nalOther nalKind = iota // copied into the sample
	nalDrop                 // access unit delimiter or filler: dropped
	nalVPS
	nalSPS
	nalPPS
	nalKey // a slice of a random access picture
)

// classify returns the role of nal for the video codec.
func classify(codec videoCodec, nal []byte) nalKind {
	if codec == codecH265 {
		switch t := nal[0] >> 1 & 0x3F; {
		case t == 32:
			return nalVPS
		case t == 33:
			return nalSPS
		case t == 34:
			return nalPPS
		case t == 35 || t == 38: // access unit delimiter, filler data
			return nalDrop
		case t >= 16 && t <= 21: // BLA, IDR and CRA: IRAP pictures
			return nalKey
		}
		return nalOther
	}
	switch nal[0] & 0x1F {
	case 5:
		return nalKey
	case 7:
		return nalSPS
	case 8:
		return nalPPS
	case 9, 12: // access unit delimiter, filler data
		return nalDrop
	}
	return nalOther
}

// sniffCodec guesses the codec of an Annex B access unit for a stream that
// no stream map describes: an H.265 VPS header (40 01) or an H.264 SPS.
func sniffCodec(au []byte) videoCodec {
	codec := codecUnknown
	splitNALs(au, func(nal []byte) {
		switch {
		case codec != codecUnknown:
		case len(nal) >= 2 && nal[0] == 0x40 && nal[1] == 0x01:
			codec = codecH265
		case nal[0]&0x80 == 0 && nal[0]&0x1F == 7:
			codec = codecH264
		}
	})
	return codec
}
