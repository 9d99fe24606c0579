package mp4

import "errors"

// errBitsExhausted is returned when a bitstream field runs past the data.
var errBitsExhausted = errors.New("bitstream ends inside a field")

// bitReader reads big-endian bit fields and Exp-Golomb codes from an RBSP
// (emulation prevention bytes already removed). After the first read past
// the end every read returns 0 and err is set, so parsers check err once.
type bitReader struct {
	b   []byte
	pos int // bit position
	err error
}

func (r *bitReader) u(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= 8*len(r.b) {
			r.err = errBitsExhausted
			return 0
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) flag() bool { return r.u(1) == 1 }

func (r *bitReader) skip(n int) { r.u(n) }

// ue reads an unsigned Exp-Golomb code. Codes longer than 31 leading zeros
// cannot occur in a valid stream and set err.
func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.u(1) == 0 {
		if r.err != nil {
			return 0
		}
		zeros++
		if zeros > 31 {
			r.err = errors.New("Exp-Golomb code longer than 32 bits")
			return 0
		}
	}
	return 1<<zeros - 1 + r.u(zeros)
}

// se reads a signed Exp-Golomb code.
func (r *bitReader) se() int64 {
	k := r.ue()
	if k&1 == 1 {
		return int64(k+1) / 2
	}
	return -int64(k / 2)
}

// unescapeRBSP returns b without emulation prevention bytes: each 00 00 03
// becomes 00 00.
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}
