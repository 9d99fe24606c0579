// Command archiver consumes closed-segment events from NATS JetStream and
// uploads each segment's clip, thumbnail and metadata to the object store.
//
//	archiver -config configs/archiver.yaml
package main

import (
	"os"

	"github.com/hikarchive/hikarchive/internal/config"
	"github.com/hikarchive/hikarchive/internal/service"
)

func main() {
	os.Exit(service.Main(config.RoleArchiver, os.Args[1:], service.RunArchiver))
}
