//go:build !linux

package reconcile

import (
	"errors"
	"os"
)

// openUnnamed: a file without a name is Linux's (O_TMPFILE).
func openUnnamed(string) (*os.File, bool) { return nil, false }

func nameFile(*os.File, string) error { return errors.ErrUnsupported }

// startWriteBack: the kernel writes the pages when it will.
func startWriteBack(*os.File) {}
