// Command hikarchive runs the whole pipeline in one process: an embedded NATS
// server, the scanner and the archiver, and optionally a simulated camera.
//
//	hikarchive demo                                   # try it: simulated camera, local archive
//	hikarchive run -config configs/single-box.yaml    # single-box service
package main

import (
	"fmt"
	"os"

	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/service"
)

const usage = `usage: hikarchive <command> [flags]

commands:
  demo     record a simulated camera for a while, archive it into a local
           folder and print what was archived (hikarchive demo -h for flags)
  inspect  list the live recordings of a camera storage, its ring state and
           when the oldest file will be recycled; opens nothing for writing
           (hikarchive inspect PATH [-json] [-from T] [-to T] [-tz ZONE])
  extract  copy the live recordings of a camera storage in a time range
           into a folder, one .ps file per segment; opens the camera
           storage read-only (hikarchive extract PATH -from T -to T -out DIR
           [-tz ZONE] [-camera ID])
  run      run the single-box service from a configuration file until
           interrupted (hikarchive run -config configs/single-box.yaml)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}

	switch os.Args[1] {
	case "demo":
		os.Exit(demo(os.Args[2:]))
	case "inspect":
		os.Exit(inspect(os.Args[2:]))
	case "extract":
		os.Exit(extract(os.Args[2:]))
	case "run":
		os.Exit(service.Main(config.RoleSingleBox, os.Args[2:], service.RunSingleBox))
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "hikarchive: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
