// Package buildinfo reports the version of the running hikarchive binary.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// Version returns the module version and VCS revision the binary was built
// from, such as "v0.3.0" or "devel+1a8ad6d2", or "devel" when the build
// recorded neither.
var Version = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}

	version := info.Main.Version
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	for _, setting := range info.Settings {
		if setting.Key == "vcs.revision" && len(setting.Value) >= 8 {
			return version + "+" + setting.Value[:8]
		}
	}
	return version
})
