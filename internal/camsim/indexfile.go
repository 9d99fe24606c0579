package camsim

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hikarchive/hikarchive/internal/index"
)

// writeIndex increments modifyTimes and replaces index00.bin and then
// index01.bin with the encoded table.
func (c *Camera) writeIndex() error {
	c.table.Header.ModifyTimes++
	b := index.Encode(c.table, c.cfg.IndexSize)
	for _, name := range []string{IndexName, IndexCopyName} {
		if err := writeFileAtomic(c.cfg.Dir, name, b); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes b to a temporary file in dir and renames it to name,
// so a reader sees either the old or the new content. It does not sync:
// the simulator needs atomic replacement, not durability. The file gets mode
// 0644 like the hiv files, because CreateTemp makes it 0600.
func writeFileAtomic(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("camsim: write %s: %w", name, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("camsim: write %s: %w", name, err)
	}
	return nil
}
