package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// List walks the directory tree below the deepest directory that prefix
// names in full, so a prefix such as "cam1/2024/05/" reads only that
// directory's subtree.
func (l *Local) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	if !canMatchValidKey(prefix) {
		return nil
	}
	baseKey := prefix[:strings.LastIndex(prefix, "/")+1]

	startDir := filepath.Join(l.root, filepath.FromSlash(baseKey))
	return l.walk(ctx, startDir, baseKey, prefix, fn)
}

// walk lists dir, whose key prefix is dirKey ("" or ending in "/"), and
// recurses into subdirectories that can hold keys with the prefix.
func (l *Local) walk(ctx context.Context, dir, dirKey, prefix string, fn func(ObjectInfo) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		// The directory may not exist, or a concurrent Delete removed it.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("local list prefix %q in %s: %w", prefix, l, err)
	}
	sortForKeyOrder(entries)

	for _, entry := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("local list prefix %q in %s: %w", prefix, l, err)
		}
		name := entry.Name()
		if strings.HasPrefix(name, reservedPrefix) {
			continue
		}
		key := dirKey + name
		path := filepath.Join(dir, name)

		if entry.IsDir() {
			subKey := key + "/"
			if !strings.HasPrefix(subKey, prefix) && !strings.HasPrefix(prefix, subKey) {
				continue
			}
			if err := l.walk(ctx, path, subKey, prefix, fn); err != nil {
				return err
			}
			continue
		}

		if !entry.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			continue
		}
		info, err := entry.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return fmt.Errorf("local list prefix %q in %s: %w", prefix, l, err)
		}
		metaPath := filepath.Join(dir, sidecarPrefix+name+sidecarSuffix)
		object, err := l.describe(key, path, metaPath, info, false)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(object); err != nil {
			return err
		}
	}
	return nil
}

// sortForKeyOrder sorts directory entries so that a depth-first walk
// yields keys in byte-wise order. A directory "a" stands for keys starting
// with "a/", so it sorts as "a/": after "a-b" ('-' < '/') and before "a0".
func sortForKeyOrder(entries []os.DirEntry) {
	sortName := func(entry os.DirEntry) string {
		if entry.IsDir() {
			return entry.Name() + "/"
		}
		return entry.Name()
	}
	slices.SortFunc(entries, func(a, b os.DirEntry) int {
		return strings.Compare(sortName(a), sortName(b))
	})
}
