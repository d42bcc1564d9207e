package exportfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

type csvReader interface {
	Read() ([]string, error)
	FieldPos(int) (int, int)
	InputOffset() int64
}

// transcript is what a reader gives of input, Read after Read until the
// end (or a read error that is not a CSV one): each record with its error,
// every field's position and the offset after it.
func transcript(r csvReader) []string {
	var out []string
	for range 10_000 {
		rec, err := r.Read()
		line := fmt.Sprintf("%q err=%v", rec, err)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line += fmt.Sprintf(" parse=%d/%d/%d/%v", pe.StartLine, pe.Line, pe.Column, pe.Err)
		}
		for i := range rec {
			l, c := r.FieldPos(i)
			line += fmt.Sprintf(" %d:%d", l, c)
		}
		out = append(out, line+fmt.Sprintf(" off=%d", r.InputOffset()))
		if err == io.EOF || err != nil && pe == nil {
			break
		}
	}
	return out
}

// reference is encoding/csv as CSV is to behave, on input without its
// byte order mark.
func reference(input string) *csv.Reader {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(input, "\ufeff")))
	r.ReuseRecord = true
	return r
}

func sameAsEncodingCSV(t *testing.T, input string) {
	t.Helper()
	want := transcript(reference(input))
	got := transcript(NewCSV(strings.NewReader(input)))
	if len(got) != len(want) {
		t.Fatalf("input %q:\n got %d reads: %q\nwant %d: %q", input, len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("input %q: read %d:\n got %s\nwant %s", input, i+1, got[i], want[i])
		}
	}
}

var csvCases = []string{
	"",
	"\n",
	"a,b,c\n1,2,3\n",
	"a,b,c\n1,2,3",              // no newline at the end
	"\ufeffa,b\n1,2\n",          // a byte order mark
	"a,b\n\n\n1,2\n\n",          // empty lines
	"a,b\n1,2,3\n4,5\n6\n",      // wrong field counts, and reading on
	"a,b\r\n1,2\r\n",            // CRLF: encoding/csv from the first line
	"a,b\n1,2\r\n3,4\n",         // CRLF later
	"a,b\n1,2\r",                // a CR before the end
	"a,b\n1,\"x,y\"\n3,4\n",     // quoted
	"a,b\n1,\"x\ny\"\n3,4\n5\n", // a field over two lines, then a bad count
	"a,b\n1,x\"y\n3,4\n",        // a bare quote
	"a,b\n1,\"x\" y\n",          // text after a closing quote
	"a,b\n1,\"unclosed\n3,4\n",  // a quote never closed
	"a,,b\n,,\n, ,\n",           // empty fields, spaces kept
	"h\n\"\"\n",                 // one field, quoted empty
	"a,b\n\xff\xfe,é\n",         // not UTF-8: given as it is
	"a,b\n1,2\n" + strings.Repeat("x", 70_000) + ",y\n3,4\n", // longer than the buffer
	"a,b\n1,2\n" + strings.Repeat("x", 70_000),               // and unfinished
}

func TestCSVReadsAsEncodingCSV(t *testing.T) {
	for _, c := range csvCases {
		sameAsEncodingCSV(t, c)
	}
}

// Random exports: fields from a few bytes, quotes and carriage returns
// now and then, lines of varying field counts, empty lines, a byte order
// mark, a last line with or without its newline.
func TestCSVReadsRandomInputAsEncodingCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "bc", "1", " ", "é", "\xff", ",", ",", ",", "\n", "\n", "\"", "\r", "\r\n", "\"\""}
	for range 20_000 {
		var b strings.Builder
		if rng.IntN(10) == 0 {
			b.WriteString("\ufeff")
		}
		plain := rng.IntN(2) == 0 // no quote or CR at all: the fast path only
		for range rng.IntN(60) {
			p := pieces[rng.IntN(len(pieces))]
			if plain && strings.ContainsAny(p, "\"\r") {
				continue
			}
			b.WriteString(p)
		}
		sameAsEncodingCSV(t, b.String())
	}
}

// Lines of exports as they come, long and many: the same records as
// encoding/csv, read through the fast path.
func TestCSVManyPlainLines(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("account_id,username,email,enabled\n")
	for i := range 50_000 {
		fmt.Fprintf(&b, "A%07d,user%d,user%d@example.com,true\n", i, i, i)
	}
	sameAsEncodingCSV(t, b.String())
}

func FuzzCSV(f *testing.F) {
	for _, c := range csvCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, input string) { sameAsEncodingCSV(t, input) })
}
