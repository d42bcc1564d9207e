// Package csv reads the accounts of a system that has no API from a CSV
// export (and, optionally, their API keys and tokens from a second file). It
// implements targets.Target only: it is read-only, so every clear case it
// yields becomes manual work for a person.
//
// The accounts file is streamed with encoding/csv. Bad data is never skipped:
// malformed CSV, a missing required column, a duplicate or empty account ID,
// an unparseable boolean or date, or text that is not UTF-8 ends the listing
// with an error naming the file, the line and, where relevant, the column.
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
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/exportfile"
)

// Config is the configuration of a CSV target.
type Config struct {
	// Path of the accounts export, used as given.
	Path string `yaml:"path"`
	// CredentialsPath is an optional export of API keys and tokens.
	CredentialsPath string `yaml:"credentials_path"`
	// Columns maps a canonical accounts column to the header the export
	// uses for it. Headers compare case-insensitively, trimmed.
	Columns map[string]string `yaml:"columns"`
}

// col is a canonical column of the accounts or the credentials file.
type col int

// The canonical account columns, then those only the credentials file has
// (not mappable).
const (
	colAccountID col = iota
	colUsername
	colEmail
	colEmployeeID
	colDisplayName
	colEnabled
	colLastLogin
	colCreated
	colPrivileged
	colGroups
	colCredentialID
	colKind
	colLastUsed
	colActive
	numCols
)

var colNames = [numCols]string{"account_id", "username", "email", "employee_id", "display_name", "enabled",
	"last_login", "created", "privileged", "groups", "credential_id", "kind", "last_used", "active"}

func (c col) String() string { return colNames[c] }

var accountColumns = []col{
	colAccountID, colUsername, colEmail, colEmployeeID, colDisplayName, colEnabled,
	colLastLogin, colCreated, colPrivileged, colGroups,
}

var accountRequired = []col{colAccountID, colEnabled}

var credentialColumns = []col{colAccountID, colCredentialID, colKind, colCreated, colLastUsed, colActive}

var credentialRequired = []col{colAccountID, colCredentialID, colActive}

// columns is where each canonical column is in a file's records (-1: the
// file has no such column), resolved once from its header line.
type columns [numCols]int

// headerNames is the normalised header each canonical column is read
// under ("": not read from this file).
type headerNames [numCols]string

// Target is a CSV account export. Each call to Accounts reads the files anew.
type Target struct {
	cfg    Config
	header headerNames
	log    *slog.Logger
}

// New validates cfg. The files are opened by Accounts.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	if strings.TrimSpace(cfg.Path) == "" {
		return nil, errors.New("csv: path: required")
	}
	var header headerNames
	known := make([]string, len(accountColumns))
	for i, c := range accountColumns {
		header[c], known[i] = c.String(), c.String()
	}
	for k, v := range cfg.Columns {
		i := slices.Index(known, k)
		if i < 0 {
			return nil, fmt.Errorf("csv: columns: unknown column %q (known: %s)", k, strings.Join(known, ", "))
		}
		if norm(v) == "" {
			return nil, fmt.Errorf("csv: columns: %s: empty header name", k)
		}
		header[accountColumns[i]] = norm(v)
	}
	seen := map[string]col{}
	for _, c := range accountColumns {
		if other, ok := seen[header[c]]; ok {
			return nil, fmt.Errorf("csv: columns: %s and %s both read header %q", other, c, header[c])
		}
		seen[header[c]] = c
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Target{cfg: cfg, header: header, log: log}, nil
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Accounts streams the accounts of the export with their credentials
// attached. The credentials file, when configured, is read first and held in
// memory (keyed by account); a credential naming an account the export does
// not list is reported, naming its line, after the last account.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		if err := t.read(ctx, yield); err != nil {
			yield(targets.Account{}, fmt.Errorf("csv: %w", err))
		}
	}
}

type credLine struct {
	line int
	cred targets.Credential
}

func (t *Target) read(ctx context.Context, yield func(targets.Account, error) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", t.cfg.Path, err)
	}
	creds, err := t.readCredentials(ctx)
	if err != nil {
		return err
	}
	name := t.cfg.Path
	f, err := openCSV(ctx, name)
	if err != nil {
		return err
	}
	defer f.Close()
	idx, headers, err := f.header(&t.header, accountColumns, accountRequired)
	if err != nil {
		return err
	}
	loginTracked := idx[colLastLogin] >= 0
	var seen exportfile.Seen
	var groups groupSlab
	count := 0
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rec, line, err := f.next(len(headers))
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		row := row{rec: rec, idx: &idx, headers: headers}
		a, err := account(row, loginTracked, &groups)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if first, dup := seen.Add(a.ID, line); dup {
			return fmt.Errorf("%s:%d: column %s: duplicate account ID %q (first on line %d)", name, line, headers[idx[colAccountID]], a.ID, first)
		}
		if count == estimateAfter {
			seen.Reserve(f.estimate(count + 1))
		}
		for _, c := range creds[a.ID] {
			a.Credentials = append(a.Credentials, c.cred)
		}
		delete(creds, a.ID)
		count++
		if !yield(a, nil) {
			return nil
		}
	}
	if len(creds) > 0 {
		first := credLine{line: -1}
		var firstID string
		for id, cs := range creds {
			if first.line < 0 || cs[0].line < first.line {
				first, firstID = cs[0], id
			}
		}
		return fmt.Errorf("%s:%d: column account_id: credential %q names account %q, which %s does not list (%d account(s) have such credentials)",
			t.cfg.CredentialsPath, first.line, first.cred.ID, firstID, name, len(creds))
	}
	t.log.Debug("read account export", "path", name, "accounts", count)
	return nil
}

// readCredentials reads the credentials file into a map keyed by account ID.
func (t *Target) readCredentials(ctx context.Context) (map[string][]credLine, error) {
	out := map[string][]credLine{}
	name := t.cfg.CredentialsPath
	if name == "" {
		return out, nil
	}
	f, err := openCSV(ctx, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var hdr headerNames
	for _, c := range credentialColumns {
		hdr[c] = c.String()
	}
	idx, headers, err := f.header(&hdr, credentialColumns, credentialRequired)
	if err != nil {
		return nil, err
	}
	seen := map[[2]string]int{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rec, line, err := f.next(len(headers))
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		r := row{rec: rec, idx: &idx, headers: headers}
		c, acct, err := credential(r)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		key := [2]string{acct, c.ID}
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s:%d: column %s: duplicate credential %q of account %q (first on line %d)", name, line, headers[idx[colCredentialID]], c.ID, acct, first)
		}
		seen[key] = line
		out[acct] = append(out[acct], credLine{line: line, cred: c})
	}
	return out, nil
}

// row is one record with its header, for reading fields by canonical name.
type row struct {
	rec     []string
	idx     *columns
	headers []string
}

func (r row) get(c col) string {
	if i := r.idx[c]; i >= 0 {
		return strings.TrimSpace(r.rec[i])
	}
	return ""
}

func (r row) colErr(c col, err error) error {
	return fmt.Errorf("column %s: %w", r.headers[r.idx[c]], err)
}

func (r row) bool(c col, emptyOK bool) (bool, error) {
	if r.idx[c] < 0 {
		return false, nil
	}
	v := r.get(c)
	if v == "" && emptyOK {
		return false, nil
	}
	b, err := parseBool(v)
	if err != nil {
		return false, r.colErr(c, err)
	}
	return b, nil
}

func (r row) date(c col) (time.Time, error) {
	d, err := sources.ParseDate(r.get(c))
	if err != nil {
		return time.Time{}, r.colErr(c, err)
	}
	return d, nil
}

func account(r row, loginTracked bool, groups *groupSlab) (targets.Account, error) {
	a := targets.Account{
		ID:           r.get(colAccountID),
		Username:     r.get(colUsername),
		Email:        r.get(colEmail),
		EmployeeID:   r.get(colEmployeeID),
		DisplayName:  r.get(colDisplayName),
		LoginTracked: loginTracked,
	}
	if a.ID == "" {
		return targets.Account{}, r.colErr(colAccountID, errors.New("empty account ID"))
	}
	var err error
	if a.Enabled, err = r.bool(colEnabled, false); err != nil {
		return targets.Account{}, err
	}
	if a.Privileged, err = r.bool(colPrivileged, true); err != nil {
		return targets.Account{}, err
	}
	if a.LastLogin, err = r.date(colLastLogin); err != nil {
		return targets.Account{}, err
	}
	if a.Created, err = r.date(colCreated); err != nil {
		return targets.Account{}, err
	}
	a.Groups = groups.split(r.get(colGroups))
	return a, nil
}

func credential(r row) (targets.Credential, string, error) {
	acct := r.get(colAccountID)
	if acct == "" {
		return targets.Credential{}, "", r.colErr(colAccountID, errors.New("empty account ID"))
	}
	c := targets.Credential{ID: r.get(colCredentialID), Kind: r.get(colKind)}
	if c.ID == "" {
		return targets.Credential{}, "", r.colErr(colCredentialID, errors.New("empty credential ID"))
	}
	var err error
	if c.Active, err = r.bool(colActive, false); err != nil {
		return targets.Credential{}, "", err
	}
	if c.Created, err = r.date(colCreated); err != nil {
		return targets.Credential{}, "", err
	}
	if c.LastUsed, err = r.date(colLastUsed); err != nil {
		return targets.Credential{}, "", err
	}
	return c, acct, nil
}

// groupSlab hands out the group lists of many accounts: a list seen
// before (the same cell, as most accounts of a role have) is the same list
// again, its strings its own (not the line's), for the first slabLists
// lists; any other is cut from one allocation (slabGroups groups at a
// time). Each list is capped at its length, so appending to one never
// writes into another: the lists are read, never changed.
type groupSlab struct {
	free  []targets.Group
	lists map[string][]targets.Group // by the cell
}

const (
	slabGroups = 1024
	slabLists  = 4096
)

// split splits a ;-separated list of group names, trimming and dropping
// empties. A CSV export names groups only: the name is the ID.
func (gs *groupSlab) split(s string) []targets.Group {
	if s == "" {
		return nil
	}
	if l, ok := gs.lists[s]; ok {
		return l
	}
	if len(gs.lists) < slabLists {
		if gs.lists == nil {
			gs.lists = map[string][]targets.Group{}
		}
		own := strings.Clone(s) // the map's key and the groups' names: no line kept
		l := slices.Clip(appendGroups(nil, own))
		gs.lists[own] = l
		return l
	}
	if n := strings.Count(s, ";") + 1; cap(gs.free)-len(gs.free) < n {
		gs.free = make([]targets.Group, 0, max(slabGroups, n))
	}
	start := len(gs.free)
	gs.free = appendGroups(gs.free, s)
	if len(gs.free) == start {
		return nil
	}
	return gs.free[start:len(gs.free):len(gs.free)]
}

// appendGroups appends the groups of a ;-separated list to dst.
func appendGroups(dst []targets.Group, s string) []targets.Group {
	for g := range strings.SplitSeq(s, ";") {
		if g = strings.TrimSpace(g); g != "" {
			dst = append(dst, targets.Group{ID: g, Name: g})
		}
	}
	return dst
}

// parseBool accepts true/false, yes/no and 1/0 in any case.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "1":
		return true, nil
	case "false", "no", "0":
		return false, nil
	case "":
		return false, errors.New("empty (want true/false, yes/no or 1/0)")
	}
	return false, fmt.Errorf("%q is not a boolean (want true/false, yes/no or 1/0)", v)
}

// csvFile is an open CSV file with its name, for error messages.
type csvFile struct {
	name    string
	f       *exportfile.File
	r       *exportfile.CSV
	headers []string // trimmed, as the file writes them
}

func openCSV(ctx context.Context, name string) (*csvFile, error) {
	f, err := exportfile.Open(ctx, name) // a hung share or a FIFO ends with ctx
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, err
	}
	return &csvFile{name: name, f: f, r: exportfile.NewCSV(f)}, nil
}

func (f *csvFile) Close() error { return f.f.Close() }

// header reads the header line and finds the columns cols, each under its
// normalised header in want.
func (f *csvFile) header(want *headerNames, cols, required []col) (columns, []string, error) {
	var idx columns
	for c := range idx {
		idx[c] = -1
	}
	hdr, err := f.r.Read()
	if err == io.EOF {
		return idx, nil, fmt.Errorf("%s:1: empty file: want a header line", f.name)
	}
	if err != nil {
		return idx, nil, f.parseErr(err, nil, 0)
	}
	headers := make([]string, len(hdr))
	for i, h := range hdr {
		if !utf8.ValidString(h) {
			return idx, nil, fmt.Errorf("%s:1: header %d: invalid UTF-8 (the export must be UTF-8)", f.name, i+1)
		}
		headers[i] = strings.TrimSpace(h)
	}
	canon := slices.Clone(cols) // by name, so that errors do not depend on the order of cols
	slices.SortFunc(canon, func(a, b col) int { return strings.Compare(a.String(), b.String()) })
	for _, c := range canon {
		for i, h := range headers {
			if norm(h) != want[c] {
				continue
			}
			if j := idx[c]; j >= 0 {
				return idx, nil, fmt.Errorf("%s:1: column %s: header %q appears twice (fields %d and %d)", f.name, c, h, j+1, i+1)
			}
			idx[c] = i
		}
	}
	var missing []string
	for _, c := range required {
		if idx[c] < 0 {
			if want[c] != c.String() {
				missing = append(missing, fmt.Sprintf("%s (header %q)", c, want[c]))
			} else {
				missing = append(missing, c.String())
			}
		}
	}
	if len(missing) > 0 {
		return idx, nil, fmt.Errorf("%s:1: missing required column(s) %s (headers found: %s)", f.name, strings.Join(missing, ", "), strings.Join(headers, ", "))
	}
	f.headers = headers
	return idx, headers, nil
}

// estimateAfter is the number of records read before the number of
// records in the whole file is estimated (to size the duplicate check).
const estimateAfter = 512

// estimate is the number of records a regular file holds, judging by the
// first n records; 0 when it cannot tell.
func (f *csvFile) estimate(n int) int {
	fi, err := f.f.Stat()
	off := f.r.InputOffset()
	if err != nil || !fi.Mode().IsRegular() || off <= 0 {
		return 0
	}
	return int(min(fi.Size()*int64(n)/off*9/8, 1<<26)) // a little more: lines vary
}

// next reads one record and returns it with its line, or io.EOF.
func (f *csvFile) next(nfields int) ([]string, int, error) {
	rec, err := f.r.Read()
	if err == io.EOF {
		return nil, 0, err
	}
	if err != nil {
		return nil, 0, f.parseErr(err, rec, nfields)
	}
	line, _ := f.r.FieldPos(0)
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return nil, 0, fmt.Errorf("%s:%d: column %s: invalid UTF-8 (the export must be UTF-8)", f.name, line, f.headers[i])
		}
	}
	return rec, line, nil
}

func (f *csvFile) parseErr(err error, rec []string, nfields int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return fmt.Errorf("%s:%d: %d fields, the header line has %d", f.name, pe.StartLine, len(rec), nfields)
		}
		return malformed(f.name, pe)
	}
	return fmt.Errorf("%s: %w", f.name, err)
}

// ListsUniqueIDs says that Accounts ends with an error at an account ID it
// has listed already (targets.UniqueLister).
func (t *Target) ListsUniqueIDs() bool { return true }

// Local says that Accounts reads files on this machine (targets.Local).
func (t *Target) Local() bool { return true }

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.UniqueLister = (*Target)(nil)
	_ targets.Local        = (*Target)(nil)
)

// ResolvePaths makes path and credentials_path relative to the
// configuration file's directory.
func (c *Config) ResolvePaths(dir string) {
	c.Path, c.CredentialsPath = joinRel(dir, c.Path), joinRel(dir, c.CredentialsPath)
}

func joinRel(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// malformed names one line: where the bad field is when the error is on the
// record's first line, else where the record starts (for a quote never
// closed, Go's reader reports the position where it gave up, lines later).
func malformed(name string, pe *csv.ParseError) error {
	if pe.Line == pe.StartLine {
		return fmt.Errorf("%s:%d: malformed CSV: %v (character %d)", name, pe.Line, pe.Err, pe.Column)
	}
	return fmt.Errorf("%s:%d: malformed CSV: %v in the record that starts on this line (a quote opened there is not closed where it should be)", name, pe.StartLine, pe.Err)
}
