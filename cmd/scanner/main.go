// Command scanner reads the index of each configured camera on a schedule
// and publishes one event per newly closed segment to NATS JetStream.
//
//	scanner -config configs/scanner.yaml
package main

import (
	"os"

	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/service"
)

func main() {
	os.Exit(service.Main(config.RoleScanner, os.Args[1:], service.RunScanner))
}
