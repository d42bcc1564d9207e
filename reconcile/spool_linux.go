package reconcile

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openUnnamed opens a file in dir that has no name (O_TMPFILE) until
// nameFile gives it one; ok is false where the file system cannot.
func openUnnamed(dir string) (f *os.File, ok bool) {
	f, err := os.OpenFile(dir, os.O_RDWR|unix.O_TMPFILE, 0o600) // personal data: owner only
	return f, err == nil
}

// nameFile gives f, opened by openUnnamed, the name path (which must not
// exist).
func nameFile(f *os.File, path string) error {
	proc := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: proc, New: path, Err: err}
	}
	return nil
}

// startWriteBack starts writing f's dirty pages to disk, without waiting
// for them (sync_file_range: no metadata, no flush of the device's cache);
// an error leaves them to the kernel, as before.
func startWriteBack(f *os.File) {
	_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
