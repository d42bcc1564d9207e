package xlsx

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"
)

// The parts parallelZip writes unzip to what was written, whatever their
// size against the chunks (archive/zip's reader checks each part's CRC-32
// and sizes), with 1 and 2 workers, written in pieces of any size.
func TestParallelZip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Text that compresses (as sheet XML does) with random bytes mixed in.
	text := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = "<row r=\"1\"><c t=\"inlineStr\"><is><t>x</t></is></c></row>"[i%50]
			}
		}
		return b
	}
	sizes := []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + chunkSize/2, (queued + 2) * chunkSize}
	for _, workers := range []int{1, 2} {
		var buf bytes.Buffer
		z := newParallelZip(&buf, workers)
		var parts [][]byte
		for i, n := range sizes {
			part := text(n)
			parts = append(parts, part)
			w, err := z.Create("xl/worksheets/sheet" + string(rune('a'+i)) + ".xml")
			if err != nil {
				t.Fatal(err)
			}
			for rest := part; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(3*chunkSize/2))
				if _, err := w.Write(rest[:k]); err != nil {
					t.Fatal(err)
				}
				rest = rest[k:]
			}
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.File) != len(sizes) {
			t.Fatalf("%d workers: %d parts, want %d", workers, len(r.File), len(sizes))
		}
		for i, f := range r.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%d workers, part of %d bytes: %v", workers, sizes[i], err)
			}
			if !bytes.Equal(got, parts[i]) || f.Method != zip.Deflate || f.UncompressedSize64 != uint64(sizes[i]) {
				t.Errorf("%d workers, part of %d bytes: unzips to %d bytes (method %d, size %d)", workers, sizes[i], len(got), f.Method, f.UncompressedSize64)
			}
		}
	}
}

// Bytes excelize would write beside the zip writer are refused, not lost.
func TestOutsideZip(t *testing.T) {
	if n, err := (outsideZip{}).Write(nil); n != 0 || err != nil {
		t.Errorf("nothing: %d, %v", n, err)
	}
	if _, err := (outsideZip{}).Write([]byte("PK")); !errors.Is(err, errOutsideZip) {
		t.Errorf("bytes: %v, want errOutsideZip", err)
	}
}

// save fails as SaveAs does, before creating a file, for a workbook that is
// not .xlsx; and says why it could not open the file.
func TestSaveRefuses(t *testing.T) {
	dir := t.TempDir()
	f := newFile(t.TempDir())
	defer f.Close()
	path := filepath.Join(dir, "report.xls")
	if err := save(f, path); !errors.Is(err, excelize.ErrWorkbookFileFormat) {
		t.Errorf("save as .xls: %v, want %v", err, excelize.ErrWorkbookFileFormat)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("save as .xls made a file: %v", err)
	}
	path = filepath.Join(dir, "missing", "report.xlsx")
	if err := save(f, path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("save into a missing directory: %v", err)
	}
	path = filepath.Join(dir, "report.xlsx")
	if err := save(f, path); err != nil {
		t.Fatal(err)
	}
	if g, err := excelize.OpenFile(path); err != nil {
		t.Error(err)
	} else {
		g.Close()
	}
}
