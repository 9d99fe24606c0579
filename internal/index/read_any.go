package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadDatadirAny reads the index of one datadir in whichever format its
// camera keeps. When record_db_index00 exists it is read with ReadSQLite,
// and its error is returned as is. Otherwise index00.bin or its copy is read
// as ReadDatadir does. When that fails because the datadir holds an EZVIZ
// index, the error matches ErrUnsupported and names the file.
//
// It does not fall back from a failing SQLite index to index00.bin: a camera
// upgraded to SQLite firmware can leave an old binary index behind, and its
// segments would be long overwritten.
func (r *Reader) ReadDatadirAny(dir string) (*Snapshot, error) {
	path := filepath.Join(dir, SQLiteName)
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return ReadSQLite(path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	snapshot, err := r.ReadDatadir(dir)
	if err != nil && errors.Is(err, ErrFormat) {
		// An EZVIZ index fails the Hikvision checks: name the real cause.
		for _, name := range []string{PrimaryName, PictureIndexName} {
			if ezvizErr := DetectEZVIZFile(filepath.Join(dir, name)); ezvizErr != nil {
				return nil, ezvizErr
			}
		}
	}
	return snapshot, err
}

// OpenStorageAny finds the datadirs under root like OpenStorage, and also
// accepts an SD card whose only index is record_db_index00. It opens nothing
// for writing.
func OpenStorageAny(root string) (*Storage, error) {
	if err := checkRoot(root); err != nil {
		return nil, err
	}

	storage, err := OpenStorage(root)
	if err == nil {
		return storage, nil
	}

	if _, statErr := os.Stat(filepath.Join(root, InfoName)); statErr == nil {
		return nil, err // a NAS share whose info.bin or datadirs are invalid
	}
	if _, statErr := os.Stat(filepath.Join(root, SQLiteName)); statErr == nil {
		return &Storage{Root: root, Datadirs: []Datadir{{Name: FlatDatadir, Path: root}}}, nil
	}
	return nil, fmt.Errorf("camera storage %s has neither %s, %s nor %s: check that the SD card or NAS share is mounted there", root, InfoName, PrimaryName, SQLiteName)
}
