package remux

// G.711 expansion to 16-bit linear PCM, after the reference decoder of
// ITU-T G.711 (Sun Microsystems' public g711.c).

var alawTable, ulawTable = func() (a, u [256]int16) {
	for i := range 256 {
		a[i] = alawToLinear(byte(i))
		u[i] = ulawToLinear(byte(i))
	}
	return a, u
}()

func alawToLinear(v byte) int16 {
	v ^= 0x55
	t := int16(v&0x0F) << 4
	switch seg := v & 0x70 >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if v&0x80 != 0 {
		return t
	}
	return -t
}

func ulawToLinear(v byte) int16 {
	v = ^v
	t := int16(v&0x0F)<<3 + 0x84
	t <<= v & 0x70 >> 4
	if v&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}
