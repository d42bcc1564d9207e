// Package csv reads people from an HR export in CSV form: one header line,
// then one person per line. It implements sources.Source.
//
// The file is streamed with encoding/csv, never loaded whole (only the set of
// employee IDs seen so far is kept, to reject duplicates). Bad data is never
// skipped: a malformed line, a missing required column, an unknown status, a
// duplicate or empty employee ID, an unparseable date or text that is not
// UTF-8 ends the listing with an error naming the file, the line and, where
// relevant, the column, because a run must never act on half-read HR data.
package csv

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets/exportfile"
)

// Config is the configuration of a CSV HR source.
type Config struct {
	// Path of the export, used as given.
	Path string `yaml:"path"`
	// Columns maps a canonical column name (employee_id, status, ...) to the
	// header the file uses for it. Unmapped columns are looked up under
	// their canonical name. Headers compare case-insensitively, trimmed.
	Columns map[string]string `yaml:"columns"`
	// StatusMap maps the export's status words onto the lifecycle statuses;
	// the four lifecycle words themselves are always accepted.
	StatusMap sources.StatusMap `yaml:"status_map"`
	// Location is the time zone of dates written without one (default
	// UTC). It is not a key of this section: the wiring sets it from the
	// source's or the organisation's timezone.
	Location *time.Location `yaml:"-"`
}

// col is a canonical column.
type col int

// The canonical columns, in the order the README lists them.
const (
	colEmployeeID col = iota
	colEmail
	colFirstName
	colLastName
	colStatus
	colStatusEffective
	colTerminationDate
	colDepartment
	colJobCode
	colManagerID
	colWorkerType
	colHireDate
	numCols
)

var canonical = [numCols]string{"employee_id", "email", "first_name", "last_name", "status", "status_effective",
	"termination_date", "department", "job_code", "manager_id", "worker_type", "hire_date"}

func (c col) String() string { return canonical[c] }

var required = []col{colEmployeeID, colStatus}

// columns is where each canonical column is in the file's records (-1: the
// file has no such column), resolved once from its header line.
type columns [numCols]int

// Source is a CSV HR export. It is safe for concurrent use: each call to
// People opens the file anew.
type Source struct {
	cfg    Config
	header [numCols]string // the normalised header name of each column
	log    *slog.Logger
}

// New validates cfg. The file itself is opened by People, so that a
// configuration can be checked before the night's export arrives.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	if strings.TrimSpace(cfg.Path) == "" {
		return nil, errors.New("csv: path: required")
	}
	header := canonical
	for k, v := range cfg.Columns {
		c := slices.Index(canonical[:], k)
		if c < 0 {
			return nil, fmt.Errorf("csv: columns: unknown column %q (known: %s)", k, strings.Join(canonical[:], ", "))
		}
		if norm(v) == "" {
			return nil, fmt.Errorf("csv: columns: %s: empty header name", k)
		}
		header[c] = norm(v)
	}
	seen := map[string]col{}
	for c := range numCols {
		if other, ok := seen[header[c]]; ok {
			return nil, fmt.Errorf("csv: columns: %s and %s both read header %q", other, c, header[c])
		}
		seen[header[c]] = c
	}
	if err := cfg.StatusMap.Validate(); err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, header: header, log: log}, nil
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// People streams the people of the export. Every error names the file and
// line and ends the iteration; a cancelled ctx ends it with an error wrapping
// ctx.Err().
func (s *Source) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		n, err := s.read(ctx, yield)
		if err != nil {
			yield(sources.Person{}, fmt.Errorf("csv: %w", err))
			return
		}
		if n >= 0 {
			s.log.Debug("read HR export", "path", s.cfg.Path, "people", n)
		}
	}
}

// read yields people and returns how many it yielded (-1 when the consumer
// stopped early) or the error that ended the file.
func (s *Source) read(ctx context.Context, yield func(sources.Person, error) bool) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", s.cfg.Path, err)
	}
	f, err := exportfile.Open(ctx, s.cfg.Path) // a hung share or a FIFO ends with ctx
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s: %w", s.cfg.Path, err)
		}
		return 0, err
	}
	defer f.Close()
	r := exportfile.NewCSV(f)
	name := s.cfg.Path

	headers, idx, err := s.readHeader(r, name)
	if err != nil {
		return 0, err
	}

	seen := exportfile.NewSeenFold() // employee IDs compare case-insensitively
	count := 0
	for {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil { // not before: &pe escapes, a row would cost an allocation
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				return 0, fmt.Errorf("%s:%d: %d fields, the header line has %d", name, pe.StartLine, len(rec), len(headers))
			}
			return 0, parseErr(name, err)
		}
		line, _ := r.FieldPos(0)
		for i, v := range rec {
			if !utf8.ValidString(v) {
				return 0, fmt.Errorf("%s:%d: column %s: invalid UTF-8 (the export must be UTF-8)", name, line, headers[i])
			}
		}
		p, err := s.person(rec, &idx, headers)
		if err != nil {
			return 0, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if first, dup := seen.Add(p.EmployeeID, line); dup {
			return 0, fmt.Errorf("%s:%d: column %s: duplicate employee ID %q (first on line %d)", name, line, headers[idx[colEmployeeID]], p.EmployeeID, first)
		}
		count++
		if count == estimateAfter {
			seen.Reserve(estimate(f, r, count))
		}
		if !yield(p, nil) {
			return -1, nil
		}
	}
	if count == 0 {
		return 0, fmt.Errorf("%s:2: no people: the file has a header but no rows (an HR export with nobody in it is never right)", name)
	}
	return count, nil
}

// readHeader reads the header line: its trimmed headers and the field index
// of each column (-1: absent). A required column missing, a header twice or
// invalid UTF-8 is an error naming line 1.
func (s *Source) readHeader(r *exportfile.CSV, name string) (headers []string, idx columns, err error) {
	hdr, err := r.Read()
	if err == io.EOF {
		return nil, idx, fmt.Errorf("%s:1: empty file: want a header line and at least one person", name)
	}
	if err != nil {
		return nil, idx, parseErr(name, err)
	}
	headers = make([]string, len(hdr))
	for i, h := range hdr {
		if !utf8.ValidString(h) {
			return nil, idx, fmt.Errorf("%s:1: header %d: invalid UTF-8 (the export must be UTF-8)", name, i+1)
		}
		headers[i] = strings.TrimSpace(h)
	}
	for c := range numCols {
		idx[c] = -1
		for i, h := range headers {
			if norm(h) != s.header[c] {
				continue
			}
			if j := idx[c]; j >= 0 {
				return nil, idx, fmt.Errorf("%s:1: column %s: header %q appears twice (fields %d and %d)", name, c, h, j+1, i+1)
			}
			idx[c] = i
		}
	}
	var missing []string
	for _, c := range required {
		if idx[c] < 0 {
			if s.header[c] != c.String() {
				missing = append(missing, fmt.Sprintf("%s (header %q)", c, s.header[c]))
			} else {
				missing = append(missing, c.String())
			}
		}
	}
	if len(missing) > 0 {
		return nil, idx, fmt.Errorf("%s:1: missing required column(s) %s (headers found: %s)", name, strings.Join(missing, ", "), strings.Join(headers, ", "))
	}
	return headers, idx, nil
}

// person converts one record. Errors name the column (as the file heads it).
func (s *Source) person(rec []string, idx *columns, headers []string) (sources.Person, error) {
	get := func(c col) string {
		if i := idx[c]; i >= 0 {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var err error
	colErr := func(c col, e error) error {
		return fmt.Errorf("column %s: %w", headers[idx[c]], e)
	}
	date := func(c col) time.Time {
		if err != nil {
			return time.Time{}
		}
		t, e := sources.ParseDateIn(get(c), s.cfg.Location)
		if e != nil {
			err = colErr(c, e)
		}
		return t
	}
	p := sources.Person{
		EmployeeID: get(colEmployeeID),
		Email:      get(colEmail),
		FirstName:  get(colFirstName),
		LastName:   get(colLastName),
		Department: get(colDepartment),
		JobCode:    get(colJobCode),
		ManagerID:  get(colManagerID),
		WorkerType: get(colWorkerType),
	}
	if p.EmployeeID == "" {
		return sources.Person{}, colErr(colEmployeeID, errors.New("empty employee ID"))
	}
	st, e := s.cfg.StatusMap.Parse(get(colStatus))
	if e != nil {
		return sources.Person{}, colErr(colStatus, e)
	}
	p.Status = st
	p.StatusEffective = date(colStatusEffective)
	p.TerminationDate = date(colTerminationDate)
	p.HireDate = date(colHireDate)
	if err != nil {
		return sources.Person{}, err
	}
	return p, nil
}

// estimateAfter is the number of people read before the number of people
// in the whole file is estimated (to size the duplicate check).
const estimateAfter = 512

// estimate is the number of records a regular file holds, judging by the
// n records r has read; 0 when it cannot tell.
func estimate(f *exportfile.File, r *exportfile.CSV, n int) int {
	fi, err := f.Stat()
	off := r.InputOffset()
	if err != nil || !fi.Mode().IsRegular() || off <= 0 {
		return 0
	}
	return int(min(fi.Size()*int64(n)/off*9/8, 1<<26)) // a little more: lines vary
}

// parseErr turns an encoding/csv error into "file:line: ..." form.
func parseErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return malformed(name, pe)
	}
	return fmt.Errorf("%s: %w", name, err)
}

var _ sources.Source = (*Source)(nil)

// ResolvePaths makes path relative to the configuration file's directory.
func (c *Config) ResolvePaths(dir string) {
	if c.Path != "" && !filepath.IsAbs(c.Path) {
		c.Path = filepath.Join(dir, c.Path)
	}
}

// SetLocation sets the zone of dates written without one (sources.LocalConfig).
func (c *Config) SetLocation(loc *time.Location) { c.Location = loc }

var _ sources.LocalConfig = (*Config)(nil)

// malformed names one line: where the bad field is when the error is on the
// record's first line, else where the record starts (for a quote never
// closed, Go's reader reports the position where it gave up, lines later).
func malformed(name string, pe *csv.ParseError) error {
	if pe.Line == pe.StartLine {
		return fmt.Errorf("%s:%d: malformed CSV: %v (character %d)", name, pe.Line, pe.Err, pe.Column)
	}
	return fmt.Errorf("%s:%d: malformed CSV: %v in the record that starts on this line (a quote opened there is not closed where it should be)", name, pe.StartLine, pe.Err)
}
