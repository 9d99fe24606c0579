package mp4

// AudioSpecificConfig returns the 2-byte AudioSpecificConfig (ISO/IEC
// 14496-3, 1.6.2.1) of an AAC stream without extensions: objectType is the
// MPEG-4 audio object type (2 for AAC LC), frequencyIndex indexes the
// standard sample rate table (0..12) and channelConfig is 1..7. The caller
// checks the ranges, since an ADTS header gives each field its own bits.
func AudioSpecificConfig(objectType, frequencyIndex, channelConfig uint8) []byte {
	v := uint16(objectType&0x1F)<<11 | uint16(frequencyIndex&0x0F)<<7 | uint16(channelConfig&0x0F)<<3
	return []byte{byte(v >> 8), byte(v)}
}
