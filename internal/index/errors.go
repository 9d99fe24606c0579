package index

import (
	"errors"
	"fmt"
)

// ErrFormat matches every FormatError with errors.Is.
var ErrFormat = errors.New("invalid index")

// FormatError reports bytes of an index or info.bin that do not match the
// known layout, or that contradict each other. Offset is the byte offset of
// the field at fault, so a user can look at the file with a hex dump.
type FormatError struct {
	File   string // path of the file read
	Offset int64  // byte offset of the field at fault
	Field  string // name of the field, as the storage notes call it
	Reason string // what is wrong, with the value read
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: offset %d (%s): %s; the file may be truncated, torn by a concurrent camera write, or from an unknown firmware: retry, and if it persists report it with a copy of the file",
		e.File, e.Offset, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrFormat) true for every FormatError.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

func formatError(file string, offset int, field, reason string, args ...any) error {
	return &FormatError{File: file, Offset: int64(offset), Field: field, Reason: fmt.Sprintf(reason, args...)}
}
