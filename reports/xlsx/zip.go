package xlsx

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

// newFile is a new workbook whose parts are deflated at flate.BestSpeed.
// At the default level compressing the sheet XML of a 100,000-person run
// (183,000 findings) took about 2 CPU-s, as long as writing the rows; the
// fastest level does it in a fraction of that for a somewhat larger file.
// The content of the workbook is the same.
func newFile() *excelize.File {
	f := excelize.NewFile()
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter { return fastZip(w) })
	return f
}

// fastZip is a zip writer to w deflating at flate.BestSpeed.
func fastZip(w io.Writer) *zip.Writer {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	return zw
}

// save writes f to the file at path. excelize's SaveAs zips the whole
// workbook into a bytes.Buffer grown by doubling and then copies it to the
// file: for a 100,000-person run that is some 400 MB allocated and
// cleared. Here the zip writer excelize is given writes to the file
// (buffered) instead, and the buffer excelize would copy stays empty; were
// excelize ever to write into it (it does for a password or a part over
// 4 GiB, neither of which a run's workbook has), the save fails rather
// than leave that out. The workbook is the same.
func save(f *excelize.File, path string) error {
	if len(utf16.Encode([]rune(path))) > excelize.MaxFilePathLength {
		return excelize.ErrMaxFilePathLength
	}
	out, err := os.OpenFile(filepath.Clean(path), os.O_WRONLY|os.O_TRUNC|os.O_CREATE, os.ModePerm)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return fastZip(bw) })
	f.Path = path
	err = f.Write(outsideZip{})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// outsideZip refuses what excelize writes beside the zip writer.
type outsideZip struct{}

var errOutsideZip = errors.New("excelize wrote the workbook outside its zip writer")

func (outsideZip) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return 0, fmt.Errorf("%w (%d bytes)", errOutsideZip, len(p))
}
