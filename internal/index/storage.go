package index

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// InfoName is the file at the root of a NAS share that lists its datadirs.
const InfoName = "info.bin"

// infoSize is the length of info.bin in bytes.
const infoSize = 68

// maxDatadirs bounds the datadir count read from info.bin. NAS shares seen in
// the wild have a handful; the bound only stops a corrupt count from making
// the scanner stat thousands of folders.
const maxDatadirs = 256

// Info is the content of a NAS share's info.bin.
type Info struct {
	Serial     string
	MAC        net.HardwareAddr
	BlockSize  uint32 // filesystem block size, bytes
	BlockCount uint32
	Datadirs   uint32 // number of datadirN folders
}

// ParseInfo parses info.bin. name is the file's path, used in errors.
func ParseInfo(name string, data []byte) (*Info, error) {
	if len(data) < infoSize {
		return nil, formatError(name, len(data), "info.bin", "file is %d bytes, shorter than the %d bytes of info.bin", len(data), infoSize)
	}

	info := &Info{
		Serial:     string(bytes.TrimRight(data[0:48], "\x00")),
		MAC:        net.HardwareAddr(bytes.Clone(data[48:54])),
		BlockSize:  le.Uint32(data[56:]),
		BlockCount: le.Uint32(data[60:]),
		Datadirs:   le.Uint32(data[64:]),
	}
	if info.Datadirs == 0 || info.Datadirs > maxDatadirs {
		return nil, formatError(name, 64, "datadir count", "info.bin lists %d datadirs; expected 1 to %d", info.Datadirs, maxDatadirs)
	}
	return info, nil
}

// Datadir is one folder that holds an index and its hiv files.
type Datadir struct {
	Name string // "datadirN" on a NAS share, "sd" for an SD card's flat folder
	Path string
}

// FlatDatadir names the single datadir of an SD card, whose index and hiv
// files sit at the root of the storage.
const FlatDatadir = "sd"

// Storage is a camera's recording storage: an SD-card folder or a NAS share.
type Storage struct {
	Root     string
	Info     *Info // nil for an SD card
	Datadirs []Datadir
}

// OpenStorage finds the datadirs under root, reading info.bin when root is a
// NAS share. It opens nothing for writing.
func OpenStorage(root string) (*Storage, error) {
	if err := checkRoot(root); err != nil {
		return nil, err
	}

	infoPath := filepath.Join(root, InfoName)
	data, err := os.ReadFile(infoPath)
	switch {
	case err == nil:
		return openShare(root, infoPath, data)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read %s: %w", infoPath, err)
	}

	for _, name := range []string{PrimaryName, BackupName} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			return &Storage{Root: root, Datadirs: []Datadir{{Name: FlatDatadir, Path: root}}}, nil
		}
	}
	return nil, fmt.Errorf("camera storage %s has neither %s nor %s: check that the SD card or NAS share is mounted there", root, InfoName, PrimaryName)
}

// checkRoot distinguishes a missing folder and a file from a folder that
// contains no index, because the fixes differ.
func checkRoot(root string) error {
	info, err := os.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("camera storage %s does not exist: mount the SD card or NAS share there, or correct the camera's path", root)
	}
	if err != nil {
		return fmt.Errorf("camera storage %s: %w", root, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("camera storage %s is a file, not a folder: give the folder that contains index00.bin or info.bin", root)
	}
	return nil
}

func openShare(root, infoPath string, data []byte) (*Storage, error) {
	info, err := ParseInfo(infoPath, data)
	if err != nil {
		return nil, err
	}

	storage := &Storage{Root: root, Info: info}
	for i := 0; i < int(info.Datadirs); i++ {
		name := fmt.Sprintf("datadir%d", i)
		path := filepath.Join(root, name)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s lists %d datadirs but %s is missing: %w", infoPath, info.Datadirs, path, err)
		}
		storage.Datadirs = append(storage.Datadirs, Datadir{Name: name, Path: path})
	}
	return storage, nil
}

// Datadir returns the datadir with the given name.
func (s *Storage) Datadir(name string) (Datadir, bool) {
	for _, d := range s.Datadirs {
		if d.Name == name {
			return d, true
		}
	}
	return Datadir{}, false
}

// In returns the real instant of a camera wall-clock reading, given the
// camera's time zone. The camera writes its local clock as if it were UTC, so
// the reading's fields are reinterpreted in loc.
func (p PackedTime) In(loc *time.Location) time.Time {
	wall := p.Wall()
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc).UTC()
}
