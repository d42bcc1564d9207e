package xlsx

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"
)

// newFile is a new workbook whose parts are deflated at flate.BestSpeed.
// At the default level compressing the sheet XML of a 100,000-person run
// (183,000 findings) took about 2 CPU-s, as long as writing the rows; the
// fastest level does it in a fraction of that for a somewhat larger file.
// The content of the workbook is the same. The deflater is
// github.com/klauspost/compress/flate, compress/flate's API with a faster
// encoder (its BestSpeed took 0.9 of the 1.7 CPU-s of that workbook). Its temporary files (excelize
// keeps a large sheet in one while it is written) are made in dir, the
// workbook's own folder: the one place it is known to be able to write
// (a container may have no writable /tmp; excelize would then keep them
// in memory).
func newFile(dir string) *excelize.File {
	f := excelize.NewFile(excelize.Options{TmpDir: dir})
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

// save writes f to the file at path, its parts deflated on all cores
// (parallelZip). excelize's SaveAs zips the whole workbook into a
// bytes.Buffer grown by doubling and then copies it to the file: for a
// 100,000-person run that is some 400 MB allocated and cleared. Here the
// zip writer excelize is given writes to the file (buffered) instead, and
// the buffer excelize would copy stays empty: were excelize ever to write
// into it (it would for a workbook with a password, which a run's has
// not), the save fails rather than leave that out. The file is opened when
// excelize asks for its zip writer, after its checks (a path too long, not
// .xlsx), as SaveAs opens it after them. The one thing not done as SaveAs
// does: a part over 4 GiB (no run's is) keeps archive/zip's zip64 records,
// but excelize's raising of its local header's version to 4.5 is not made.
// The workbook is the same.
//
// The rows of rows are put in place of their placeholders (rowFile); a
// placeholder not found fails the save.
func save(f *excelize.File, path string, rows ...*rowFile) error {
	if len(utf16.Encode([]rune(path))) > excelize.MaxFilePathLength {
		return excelize.ErrMaxFilePathLength
	}
	var (
		out     *os.File
		openErr error
		bw      *bufio.Writer
		zw      *parallelZip
	)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		out, openErr = os.OpenFile(filepath.Clean(path), os.O_WRONLY|os.O_TRUNC|os.O_CREATE, os.ModePerm)
		if openErr != nil {
			zw = newParallelZip(failedWriter{openErr}, 1)
		} else {
			bw = bufio.NewWriterSize(out, 1<<20)
			zw = newParallelZip(bw, runtime.GOMAXPROCS(0))
			zw.rows = slices.Clone(rows) // removed from as they are placed
		}
		return zw
	})
	f.Path = path
	err := f.Write(outsideZip{})
	if zw != nil {
		// Stops its goroutines when excelize has not (an error).
		zw.stop()
	}
	if openErr != nil {
		return openErr
	}
	if err == nil && bw != nil {
		err = bw.Flush()
	}
	if out != nil {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			// Not a workbook: nothing is left to be taken for one.
			_ = os.Remove(out.Name())
		}
	}
	return err
}

// failedWriter fails every write with err.
type failedWriter struct{ err error }

func (w failedWriter) Write([]byte) (int, error) { return 0, w.err }

// outsideZip refuses what excelize writes beside the zip writer.
type outsideZip struct{}

var errOutsideZip = errors.New("excelize wrote the workbook outside its zip writer")

func (outsideZip) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return 0, fmt.Errorf("%w (%d bytes)", errOutsideZip, len(p))
}

// parallelZip is a zip writer (excelize.ZipWriter) that deflates each part
// in chunks of chunkSize on workers goroutines, as pigz does: each chunk is
// deflated on its own at flate.BestSpeed and ended with a sync flush (an
// empty stored block, byte-aligned), the last one with the final block, so
// the chunks written one after the other are one valid deflate stream; the
// CRC-32 is of the whole part, computed in order. The part's sizes and
// CRC-32 follow its data in a data descriptor, as archive/zip writes them.
// The parts unzip to the same bytes; only their compression differs a
// little (no match reaches back across a chunk's start: BestSpeed's window
// is 32 KiB anyway).
type parallelZip struct {
	zw      *zip.Writer
	jobs    chan *zipChunk
	workers sync.WaitGroup
	stopped bool
	part    *zipPart
	free    []*zipChunk // chunks written out, for reuse
	// rows are the rows still to put in place of their placeholders,
	// looked for in the first holdMax bytes of each worksheet part.
	rows []*rowFile
}

// holdMax is how much of a worksheet part is held while its placeholder
// row is looked for: the placeholder is its second row, after the sheet's
// properties, columns and header row (a few kilobytes).
const holdMax = 1 << 20

// chunkSize is the uncompressed size of a chunk, queued the chunks a part
// has deflating or waiting to be written at most.
const (
	chunkSize = 1 << 20
	queued    = 6
)

type zipChunk struct {
	data []byte
	last bool
	out  bytes.Buffer
	done chan error
}

func newParallelZip(w io.Writer, workers int) *parallelZip {
	z := &parallelZip{zw: fastZip(w), jobs: make(chan *zipChunk, queued)}
	for range max(workers, 1) {
		z.workers.Add(1)
		go func() {
			defer z.workers.Done()
			var fw *flate.Writer
			for c := range z.jobs {
				c.out.Reset()
				var err error
				if fw == nil {
					fw, err = flate.NewWriter(&c.out, flate.BestSpeed)
				} else {
					fw.Reset(&c.out)
				}
				if err == nil {
					_, err = fw.Write(c.data)
				}
				if err == nil && c.last {
					err = fw.Close()
				} else if err == nil {
					err = fw.Flush()
				}
				c.done <- err
			}
		}()
	}
	return z
}

// Create starts the part name (the previous one ends).
func (z *parallelZip) Create(name string) (io.Writer, error) {
	if err := z.endPart(); err != nil {
		return nil, err
	}
	fh := &zip.FileHeader{Name: name, Method: zip.Deflate, Flags: 0x8, CreatorVersion: 20, ReaderVersion: 20}
	if !isASCII(name) && utf8.ValidString(name) {
		fh.Flags |= 0x800
	}
	raw, err := z.zw.CreateRaw(fh)
	if err != nil {
		return nil, err
	}
	z.part = &zipPart{z: z, fh: fh, raw: raw, crc: crc32.NewIEEE()}
	if len(z.rows) > 0 && strings.HasPrefix(name, "xl/worksheets/") {
		z.part.hold = []byte{}
	}
	return z.part, nil
}

// AddFS adds the files of fsys (deflated as they are, on one goroutine).
func (z *parallelZip) AddFS(fsys fs.FS) error {
	if err := z.endPart(); err != nil {
		return err
	}
	return z.zw.AddFS(fsys)
}

// Close ends the last part and the zip, and stops the workers.
func (z *parallelZip) Close() error {
	err := z.endPart()
	z.stop()
	if err != nil {
		return err
	}
	if len(z.rows) > 0 {
		return fmt.Errorf("the rows of %d sheet(s) found no placeholder in the workbook", len(z.rows))
	}
	return z.zw.Close()
}

// stop stops the workers (once).
func (z *parallelZip) stop() {
	if z.stopped {
		return
	}
	z.stopped = true
	for z.part != nil && len(z.part.queue) > 0 {
		<-z.part.queue[0].done
		z.part.queue = z.part.queue[1:]
	}
	close(z.jobs)
	z.workers.Wait()
}

func (z *parallelZip) endPart() error {
	p := z.part
	if p == nil {
		return nil
	}
	if p.hold != nil {
		p.place(true)
	}
	err := p.end()
	z.part = nil
	return err
}

// zipPart is the part being written.
type zipPart struct {
	z     *parallelZip
	fh    *zip.FileHeader
	raw   io.Writer
	crc   hash.Hash32
	buf   *zipChunk // the chunk being filled
	queue []*zipChunk
	size  uint64 // uncompressed
	csize uint64 // compressed, written out
	err   error
	// hold is the start of a worksheet part while its placeholder row is
	// looked for (nil: not held).
	hold []byte
}

func (p *zipPart) Write(b []byte) (int, error) {
	if p.hold != nil {
		p.hold = append(p.hold, b...)
		p.place(false)
		return len(b), p.err
	}
	return p.write(b)
}

// place looks for a placeholder row in what is held and, when it is
// there whole, writes what precedes it, the rows of its rowFile and what
// follows; what is held is written as it is once holdMax is passed
// without one, or at the end of the part. Text that only looks like a
// placeholder (an account named so) is a cell like any other: the tokens
// are random.
func (p *zipPart) place(end bool) {
	for from := 0; ; {
		i := bytes.Index(p.hold[from:], []byte(rowsTokenPrefix))
		if i < 0 {
			break
		}
		i += from
		if len(p.hold) < i+rowsTokenLen {
			if end {
				break
			}
			return // the rest of the token is to come
		}
		token := string(p.hold[i : i+rowsTokenLen])
		k := slices.IndexFunc(p.z.rows, func(r *rowFile) bool { return r.token == token })
		if k < 0 {
			from = i + 1
			continue
		}
		rowStart := bytes.LastIndex(p.hold[:i], []byte("<row "))
		n := bytes.Index(p.hold[i:], []byte("</row>"))
		if n < 0 && !end {
			return // the rest of the row is to come
		}
		if n < 0 || rowStart < 0 {
			p.hold = nil
			if p.err == nil {
				p.err = fmt.Errorf("%s: the placeholder of a sheet's rows is not in a row", p.fh.Name)
			}
			return
		}
		rf := p.z.rows[k]
		p.z.rows = slices.Delete(p.z.rows, k, k+1)
		held := p.hold
		p.hold = nil
		if _, err := p.write(held[:rowStart]); err != nil {
			return
		}
		if err := rf.writeRows(writerFunc(p.write)); err != nil {
			if p.err == nil {
				p.err = err
			}
			return
		}
		_, _ = p.write(held[i+n+len("</row>"):])
		return
	}
	if end || len(p.hold) > holdMax {
		held := p.hold
		p.hold = nil
		_, _ = p.write(held)
	}
}

// writerFunc is an io.Writer of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (p *zipPart) write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 && p.err == nil {
		if p.buf == nil {
			p.buf = p.z.chunk()
		}
		k := min(len(b), chunkSize-len(p.buf.data))
		p.buf.data = append(p.buf.data, b[:k]...)
		b, n = b[k:], n+k
		if len(p.buf.data) == chunkSize {
			p.send(false)
		}
	}
	return n, p.err
}

// chunk is an empty chunk, reused when one is free.
func (z *parallelZip) chunk() *zipChunk {
	if n := len(z.free); n > 0 {
		c := z.free[n-1]
		z.free = z.free[:n-1]
		c.data, c.last = c.data[:0], false
		return c
	}
	return &zipChunk{data: make([]byte, 0, chunkSize), done: make(chan error, 1)}
}

// send queues the chunk being filled for deflating, writing out the oldest
// queued chunks while too many are queued.
func (p *zipPart) send(last bool) {
	if p.buf == nil {
		p.buf = p.z.chunk()
	}
	c := p.buf
	p.buf = nil
	c.last = last
	p.crc.Write(c.data)
	p.size += uint64(len(c.data))
	p.queue = append(p.queue, c)
	p.z.jobs <- c
	for len(p.queue) >= queued || (last && len(p.queue) > 0) {
		p.writeOldest()
	}
}

// writeOldest waits for the oldest queued chunk and writes it out.
func (p *zipPart) writeOldest() {
	c := p.queue[0]
	p.queue = p.queue[1:]
	err := <-c.done
	if err == nil && p.err == nil {
		var n int64
		n, err = c.out.WriteTo(p.raw)
		p.csize += uint64(n)
	}
	if p.err == nil {
		p.err = err
	}
	p.z.free = append(p.z.free, c)
}

// end deflates the rest of the part and sets its sizes and CRC-32 for the
// data descriptor and the central directory.
func (p *zipPart) end() error {
	p.send(true)
	if p.err != nil {
		return p.err
	}
	fh := p.fh
	fh.CRC32 = p.crc.Sum32()
	fh.CompressedSize64, fh.UncompressedSize64 = p.csize, p.size
	// archive/zip writes the 32-bit sizes, deprecated for callers, into
	// the data descriptor and the central directory of a part under
	// 4 GiB: they are set as its own fileWriter.close sets them.
	const uint32max = 1<<32 - 1
	c32, u32 := uint32(min(p.csize, uint32max)), uint32(min(p.size, uint32max))
	if p.size >= uint32max || p.csize >= uint32max {
		fh.ReaderVersion = 45
	}
	//lint:ignore SA1019 see above
	fh.CompressedSize = c32
	//lint:ignore SA1019 see above
	fh.UncompressedSize = u32
	return nil
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
