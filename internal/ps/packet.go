package ps

import (
	"fmt"
)

// Packet is one packet of a program stream: a pack header, a system header,
// a program stream map, a PES packet or the program end code.
type Packet struct {
	Code byte   // the byte after 00 00 01, for example CodePack or CodeVideo
	Data []byte // the whole packet from its start code on, aliasing the input
}

// NextPacket returns the packet at the start of b. Packets whose length is
// not coded in them are the MPEG-2 pack header (14 bytes plus stuffing) and
// the program end code (4 bytes). Every other start code from 0xbb on is
// followed by a 16-bit length. An MPEG-1 pack header, a start code below
// 0xb9, a length of 0 or a packet that runs past the end of b is an error.
func NextPacket(b []byte) (Packet, error) {
	if !isPacketStartCode(b) {
		return Packet{}, fmt.Errorf("no packet start code 00 00 01: data starts % x", head(b))
	}

	code := b[3]
	switch {
	case code == CodePack:
		_, n, err := ParsePackHeader(b)
		if err != nil {
			return Packet{}, err
		}
		return Packet{Code: code, Data: b[:n]}, nil

	case code == CodeEnd:
		return Packet{Code: code, Data: b[:4]}, nil

	case code < CodeSystemHeader:
		return Packet{}, fmt.Errorf("start code 00 00 01 %02x is not a program stream packet: data starts % x", code, head(b))
	}

	if len(b) < 6 {
		return Packet{}, fmt.Errorf("packet 00 00 01 %02x truncated: %d bytes, need 6 for its length field", code, len(b))
	}
	length := int(b[4])<<8 | int(b[5])
	if length == 0 {
		// A zero PES_packet_length means "unbounded", which only transport
		// streams allow.
		return Packet{}, fmt.Errorf("packet 00 00 01 %02x has length 0, which a program stream does not allow", code)
	}
	if 6+length > len(b) {
		return Packet{}, fmt.Errorf("packet 00 00 01 %02x truncated: its length field is %d bytes but only %d remain", code, length, len(b)-6)
	}
	return Packet{Code: code, Data: b[:6+length]}, nil
}
