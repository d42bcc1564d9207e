package xlsx

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

// rowFile is a table's rows written as worksheet XML by this package
// instead of through excelize's StreamWriter.SetRow, which spends about
// 0.6 µs on a cell (the Findings sheet of a 100,000-person run has 3.3
// million) and keeps up to 32 MB of each sheet in memory. The sheet itself
// holds a placeholder row, a cell whose text is token, which save replaces
// with the rows when it zips the sheet (see parallelZip): fill writes them
// then, straight into the zip. (They were written to a temporary file
// first, and copied from it: on a 100,000-person run, 150 MB written and
// read back, half a CPU-second in the system.) The bytes are those SetRow
// writes for the same cells (TestRowFileIsExcelizes compares them), for
// the values a table gives: nil, strings, numbers but float32, bools,
// time.Time (in a column or cell with a style), anything else as
// fmt.Sprint writes it, and excelize.Cell holding one of those.
type rowFile struct {
	token string
	// fill writes the rows, calling row for each.
	fill func(r *rowFile) error
	// split, when set, writes the rows instead of fill, in parts side by
	// side (writeParts).
	split *rowParts
	bw    *bufio.Writer // where row writes, while fill runs
	cols  []int         // each column's style, as the sheet's columns have it
	b     []byte
	esc   bytes.Buffer
	// times is the value excelize writes for each time (made by excelize
	// itself, on a scratch workbook: the few distinct dates of a run).
	times   map[time.Time]string
	scratch *excelize.File
	// bstr and bstrEsc are excelize's patterns of text it escapes
	// (bstrMarshal).
	bstr, bstrEsc *regexp.Regexp
}

// rowsTokenPrefix starts every placeholder's text.
const rowsTokenPrefix = "accessrecon-rows-"

// rowsTokenLen is the length of a placeholder's text: the prefix and 32
// random hexadecimal digits.
const rowsTokenLen = len(rowsTokenPrefix) + 32

// newRowFile is the rows of a sheet whose columns have the styles cols,
// which fill writes when the sheet is saved.
func newRowFile(cols []int, fill func(r *rowFile) error) (*rowFile, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	return &rowFile{token: rowsTokenPrefix + hex.EncodeToString(r[:]), fill: fill, cols: cols,
		times: map[time.Time]string{}, bstr: regexp.MustCompile(`_x[a-fA-F\d]{4}_`), bstrEsc: regexp.MustCompile(`x[a-fA-F\d]{4}_`)}, nil
}

// Close lets go of the scratch workbook.
func (r *rowFile) Close() error {
	if r.scratch != nil {
		return r.scratch.Close()
	}
	return nil
}

// rowParts are rows that can be written in parts: part writes rows lo to
// hi (from 0) of n, calling row for each, on the rowFile it is given.
type rowParts struct {
	n    int
	part func(r *rowFile, lo, hi int) error
}

// writeRows writes the rows to w (fill or split, once).
func (r *rowFile) writeRows(w io.Writer) error {
	r.bw = bufio.NewWriterSize(w, 256<<10)
	var err error
	if r.split != nil {
		err = r.writeParts(r.bw, runtime.GOMAXPROCS(0))
	} else {
		err = r.fill(r)
	}
	if err == nil {
		err = r.bw.Flush()
	}
	r.bw, r.b, r.fill, r.split = nil, nil, nil, nil
	return err
}

// partRows is how many rows a part of split rows has (about 1.3 MB of the
// Findings sheet).
const partRows = 1000

// errPartsStopped ends the parts not yet written once one failed.
var errPartsStopped = errors.New("xlsx: rows not written: an earlier part failed")

// writeParts writes r.split's rows to w in parts of partRows, each written
// into memory by one of workers goroutines, each goroutine with a rowFile
// of its own (its buffers, times and scratch workbook), and copied to w in
// order. At most 2*workers parts are written ahead of the one w waits for.
// The bytes are the same as one rowFile writing every row: a row's XML
// depends on nothing but its cells, its number and the columns' styles.
// (The Findings sheet of a 100,000-person run is 183,000 rows: written on
// one goroutine, the workbook waited about a second for them.)
func (r *rowFile) writeParts(w io.Writer, workers int) error {
	type part struct {
		lo, hi int
		out    bytes.Buffer
		done   chan error
	}
	workers = max(workers, 1)
	var (
		order = make(chan *part, 2*workers) // in row order, each once sent to jobs
		jobs  = make(chan *part)
		free  = make(chan *part, 3*workers+1)
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		defer close(order)
		defer close(jobs)
		for lo := 0; lo < r.split.n; lo += partRows {
			var p *part
			select {
			case p = <-free:
			default:
				p = &part{done: make(chan error, 1)}
			}
			p.lo, p.hi = lo, min(lo+partRows, r.split.n)
			select {
			case order <- p:
			case <-stop:
				return
			}
			select {
			case jobs <- p:
			case <-stop:
				p.done <- errPartsStopped
				return
			}
		}
	})
	var closeErr error
	var closeMu sync.Mutex
	for range workers {
		wg.Go(func() {
			own := &rowFile{cols: r.cols, times: map[time.Time]string{}, bstr: r.bstr, bstrEsc: r.bstrEsc}
			for p := range jobs {
				select {
				case <-stop:
					p.done <- errPartsStopped
					continue
				default:
				}
				p.out.Reset()
				if own.bw == nil {
					own.bw = bufio.NewWriterSize(&p.out, 64<<10)
				} else {
					own.bw.Reset(&p.out)
				}
				err := r.split.part(own, p.lo, p.hi)
				if err == nil {
					err = own.bw.Flush()
				}
				p.done <- err
			}
			if err := own.Close(); err != nil {
				closeMu.Lock()
				closeErr = cmp.Or(closeErr, err)
				closeMu.Unlock()
			}
		})
	}
	var err error
	for p := range order {
		e := <-p.done
		if err != nil {
			continue // draining
		}
		if e == nil {
			_, e = w.Write(p.out.Bytes())
		}
		if e != nil {
			err = e
			close(stop)
			continue
		}
		select {
		case free <- p:
		default:
		}
	}
	wg.Wait()
	return cmp.Or(err, closeErr)
}

// row writes row n (from 1) of cells, height points tall (0: the
// default), as SetRow(cell "A<n>", cells, RowOpts{Height: height}) would.
func (r *rowFile) row(n int, cells []any, height float64) error {
	if height > excelize.MaxRowHeight {
		return excelize.ErrMaxRowHeight
	}
	if n < 1 || n > excelize.TotalRows {
		return fmt.Errorf("xlsx: row %d: %w", n, excelize.ErrMaxRows)
	}
	b := append(r.b[:0], `<row r="`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '"')
	if height > 0 {
		b = append(b, ` ht="`...)
		b = strconv.AppendFloat(b, height, 'f', -1, 64)
		b = append(b, `" customHeight="1"`...)
	}
	b = append(b, '>')
	for i, v := range cells {
		if v == nil {
			continue
		}
		style := 0
		if i < len(r.cols) {
			style = r.cols[i]
		}
		if c, ok := v.(excelize.Cell); ok {
			if c.Formula != "" {
				return errors.New("xlsx: a formula in a row written by rowFile")
			}
			if c.StyleID > 0 {
				style = c.StyleID
			}
			if v = c.Value; v == nil {
				// SetRow writes the cell, empty, with its style.
				b = r.cellStart(b, i, n, style, "")
				b = append(b, `></c>`...)
				continue
			}
		}
		var err error
		if b, err = r.cell(b, i, n, style, v); err != nil {
			return err
		}
	}
	b = append(b, `</row>`...)
	r.b = b
	_, err := r.bw.Write(b)
	return err
}

// cellStart appends `<c r="REF" s="STYLE" t="T"` (without the closing >).
func (r *rowFile) cellStart(b []byte, col, row, style int, t string) []byte {
	b = append(b, `<c r="`...)
	b = appendColumn(b, col+1)
	b = strconv.AppendInt(b, int64(row), 10)
	b = append(b, '"')
	if style != 0 {
		b = append(b, ` s="`...)
		b = strconv.AppendInt(b, int64(style), 10)
		b = append(b, '"')
	}
	if t != "" {
		b = append(b, ` t="`...)
		b = append(b, t...)
		b = append(b, '"')
	}
	return b
}

// cell appends the cell of value v, as SetRow's setCellValFunc makes it.
func (r *rowFile) cell(b []byte, col, row, style int, v any) ([]byte, error) {
	number := func(b []byte, v string) []byte {
		b = r.cellStart(b, col, row, style, "")
		b = append(b, `><v>`...)
		b = append(b, v...)
		return append(b, `</v></c>`...)
	}
	switch v := v.(type) {
	case string:
		return r.text(b, col, row, style, v), nil
	case []byte:
		return r.text(b, col, row, style, string(v)), nil
	case int:
		return number(b, strconv.FormatInt(int64(v), 10)), nil
	case int8:
		return number(b, strconv.FormatInt(int64(v), 10)), nil
	case int16:
		return number(b, strconv.FormatInt(int64(v), 10)), nil
	case int32:
		return number(b, strconv.FormatInt(int64(v), 10)), nil
	case int64:
		return number(b, strconv.FormatInt(v, 10)), nil
	case uint:
		return number(b, strconv.FormatUint(uint64(v), 10)), nil
	case uint8:
		return number(b, strconv.FormatUint(uint64(v), 10)), nil
	case uint16:
		return number(b, strconv.FormatUint(uint64(v), 10)), nil
	case uint32:
		return number(b, strconv.FormatUint(uint64(v), 10)), nil
	case uint64:
		return number(b, strconv.FormatUint(v, 10)), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return r.text(b, col, row, style, fmt.Sprint(v)), nil
		}
		return number(b, formatFloat(v)), nil
	case bool:
		b = r.cellStart(b, col, row, style, "b")
		if v {
			return append(b, `><v>1</v></c>`...), nil
		}
		return append(b, `><v>0</v></c>`...), nil
	case time.Time:
		if style == 0 {
			// SetRow would add a date style to the workbook for it: no
			// table has such a cell.
			return b, fmt.Errorf("xlsx: a time without a style (%s)", v)
		}
		serial, err := r.serial(v)
		if err != nil {
			return b, err
		}
		return number(b, serial), nil
	case float32, time.Duration, []excelize.RichTextRun, *excelize.Cell:
		return b, fmt.Errorf("xlsx: no cell for a %T", v)
	}
	// Anything else (reconcile.Outcome…): SetRow writes fmt.Sprint of it.
	return r.text(b, col, row, style, fmt.Sprint(v)), nil
}

// text appends an inline string cell of s, as excelize's setInlineStr and
// writeCell make it: at most 32,767 UTF-16 units, xml:space="preserve"
// when it starts or ends with white space, XML-escaped but for line feeds,
// and "_xHHHH_" escaped as Excel reads it (bstrMarshal).
func (r *rowFile) text(b []byte, col, row, style int, s string) []byte {
	b = r.cellStart(b, col, row, style, "inlineStr")
	b = append(b, `><is><t`...)
	if s != "" && (isSpace(s[0]) || isSpace(s[len(s)-1])) {
		b = append(b, ` xml:space="preserve"`...)
	}
	b = append(b, '>')
	b = append(b, r.escaped(s)...)
	return append(b, `</t></is></c>`...)
}

func isSpace(c byte) bool { return c == 9 || c == 10 || c == 13 || c == 32 }

// escaped is s as excelize's trimCellValue(s, true) returns it. Most text
// needs none of it, and is returned as it is.
func (r *rowFile) escaped(s string) string {
	if len(s) > excelize.TotalCellChars/2 && utf16Len(s) > excelize.TotalCellChars {
		s = truncateUTF16(s, excelize.TotalCellChars)
	}
	if s == "" {
		return s
	}
	if plain(s) {
		return s
	}
	r.esc.Reset()
	_ = xml.EscapeText(&r.esc, []byte(s))
	s = strings.ReplaceAll(r.esc.String(), "&#xA;", "\n")
	if strings.Contains(s, "_x") {
		s = r.bstrMarshal(s)
	}
	return s
}

// plain says whether s is valid UTF-8 of characters XML takes as they are
// (no markup, no control character, none of U+FFFE, U+FFFF) and holds no
// "_x": then excelize writes it unchanged.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' || c >= 0x80 {
			if c >= 0x80 {
				return plainUTF8(s)
			}
			return false
		}
		if c == '_' && i+1 < len(s) && s[i+1] == 'x' {
			return false
		}
	}
	return true
}

// plainUTF8 is plain's check of text with characters beyond ASCII.
func plainUTF8(s string) bool {
	for i, c := range s {
		switch {
		case c == 0xFFFD && !strings.HasPrefix(s[i:], "\uFFFD"): // invalid UTF-8
			return false
		case c < 0x20, c == '&', c == '<', c == '>', c == '"', c == '\'', c == 0xFFFE, c == 0xFFFF:
			return false
		case c == '_' && strings.HasPrefix(s[i:], "_x"):
			return false
		}
	}
	return true
}

// utf16Len is the length of s in UTF-16 units.
func utf16Len(s string) int {
	n := 0
	for _, c := range s {
		n += utf16.RuneLen(c)
	}
	return n
}

// truncateUTF16 is s cut to at most n UTF-16 units, at a character.
func truncateUTF16(s string, n int) string {
	k := 0
	for i, c := range s {
		if k += utf16.RuneLen(c); k > n {
			return s[:i]
		}
	}
	return s
}

// bstrMarshal escapes s's "_xHHHH_" sequences as excelize's bstrMarshal
// does (the same rules, quirks included), so that Excel shows them as
// written.
func (r *rowFile) bstrMarshal(s string) string {
	var out strings.Builder
	l, cursor := len(s), 0
	for _, m := range r.bstr.FindAllStringSubmatchIndex(s, -1) {
		out.WriteString(s[cursor:m[0]])
		sub := s[m[0]:m[1]]
		if sub == "_x005F_" {
			cursor = m[1]
			if m[1]+6 <= l && r.bstrEsc.MatchString(s[m[1]:m[1]+6]) {
				if _, err := strconv.Unquote(`"\u` + s[m[1]+1:m[1]+5] + `"`); err == nil {
					out.WriteString(sub + "x005F" + sub)
					continue
				}
			}
			out.WriteString(sub + "x005F_")
			continue
		}
		if r.bstr.MatchString(sub) {
			cursor = m[1]
			if _, err := strconv.Unquote(`"\u` + s[m[0]+2:m[1]-1] + `"`); err == nil {
				out.WriteString("_x005F" + sub)
				continue
			}
		}
	}
	if cursor < l {
		out.WriteString(s[cursor:])
	}
	return out.String()
}

// serial is the value excelize writes for t in a cell: asked of excelize
// once per time, on a scratch workbook.
func (r *rowFile) serial(t time.Time) (string, error) {
	if v, ok := r.times[t]; ok {
		return v, nil
	}
	if r.scratch == nil {
		r.scratch = excelize.NewFile()
	}
	if err := r.scratch.SetCellValue("Sheet1", "A1", t); err != nil {
		return "", err
	}
	v, err := r.scratch.GetCellValue("Sheet1", "A1", excelize.Options{RawCellValue: true})
	if err != nil {
		return "", err
	}
	if _, err := strconv.ParseFloat(v, 64); err != nil {
		// Before 1900: excelize writes it as text, which no table has.
		return "", fmt.Errorf("xlsx: no date cell for %s", t)
	}
	r.times[t] = v
	return v, nil
}

// formatFloat is v as excelize's formatCellFloat(v, -1, 64) writes it: the
// shortest decimal form, cut to Excel's 15 significant digits.
func formatFloat(v float64) string {
	str := strconv.FormatFloat(v, 'f', -1, 64)
	if math.Abs(v) == math.MaxFloat64 {
		return str
	}
	const maxPrec = 15
	decimal := strings.IndexByte(str, '.')
	significant := 0
	for idx := range str {
		if str[idx] < '0' || str[idx] > '9' || significant == 0 && str[idx] == '0' {
			continue
		}
		significant++
		if significant <= maxPrec {
			continue
		}
		if decimal >= 0 && idx > decimal {
			return strings.TrimSuffix(str[:idx], ".")
		}
		if decimal < 0 {
			decimal = len(str)
		}
		truncated := []byte(str[:decimal])
		for ; idx < len(truncated); idx++ {
			truncated[idx] = '0'
		}
		return string(truncated)
	}
	return str
}

// appendColumn appends the letters of column n (from 1): A…Z, AA….
func appendColumn(b []byte, n int) []byte {
	var d [8]byte
	i := len(d)
	for n > 0 {
		n--
		i--
		d[i] = byte('A' + n%26)
		n /= 26
	}
	return append(b, d[i:]...)
}
