package csv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/targettest"
)

func write(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func list(t *testing.T, cfg Config) ([]targets.Account, error) {
	t.Helper()
	tg, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var out []targets.Account
	for a, err := range tg.Accounts(t.Context()) {
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

const accountsCSV = "\ufeffaccount_id,username,email,employee_id,display_name,enabled,last_login,created,privileged,groups\r\n" +
	"u1,ann,ann@x.com,007,Ann Lee,true,2026-01-02T10:00:00Z,2020-01-01,yes, admins ; ;staff \r\n" +
	"u2,bo,bo@x.com,7,Bo Ng,YES,,2021-02-03,,\r\n" +
	"u3,cy,cy@x.com,,Cy,0,2025-12-01,,No,staff\r\n"

const credentialsCSV = "account_id,credential_id,kind,created,last_used,active\n" +
	"u1,k1,api_key,2025-01-01,2026-01-01,true\n" +
	"u2,k2,token,2025-02-01,,1\n" +
	"u1,k3,api_key,2024-01-01,,false\n"

func TestGood(t *testing.T) {
	dir := t.TempDir()
	ap := filepath.Join(dir, "app.csv")
	cp := filepath.Join(dir, "app-keys.csv")
	if err := os.WriteFile(ap, []byte(accountsCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, []byte(credentialsCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := list(t, Config{Path: ap, CredentialsPath: cp})
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	want := []targets.Account{
		{ID: "u1", Username: "ann", Email: "ann@x.com", EmployeeID: "007", DisplayName: "Ann Lee", Enabled: true,
			LoginTracked: true, LastLogin: d("2026-01-02T10:00:00Z"), Created: d("2020-01-01T00:00:00Z"), Privileged: true,
			Groups: targets.NamedGroups("admins", "staff"),
			Credentials: []targets.Credential{
				{ID: "k1", Kind: "api_key", Created: d("2025-01-01T00:00:00Z"), LastUsed: d("2026-01-01T00:00:00Z"), Active: true},
				{ID: "k3", Kind: "api_key", Created: d("2024-01-01T00:00:00Z")},
			}},
		{ID: "u2", Username: "bo", Email: "bo@x.com", EmployeeID: "7", DisplayName: "Bo Ng", Enabled: true,
			LoginTracked: true, Created: d("2021-02-03T00:00:00Z"),
			Credentials: []targets.Credential{{ID: "k2", Kind: "token", Created: d("2025-02-01T00:00:00Z"), Active: true}}},
		{ID: "u3", Username: "cy", Email: "cy@x.com", DisplayName: "Cy", LoginTracked: true, LastLogin: d("2025-12-01T00:00:00Z"),
			Groups: targets.NamedGroups("staff")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d accounts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if fmt.Sprintf("%+v", got[i]) != fmt.Sprintf("%+v", want[i]) {
			t.Errorf("account %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestMappedColumnsAndNoLogin(t *testing.T) {
	p := write(t, "users.csv", "User ID,Login,Active?,Admin,Roles\n1001,ann,Y,,a;b\n1002,bo,no,TRUE,\n")
	_, err := list(t, Config{Path: p, Columns: map[string]string{"account_id": "user id", "username": "LOGIN", "enabled": "Active?", "privileged": "admin", "groups": "roles"}})
	if err == nil || !strings.Contains(err.Error(), `:2: column Active?: "Y" is not a boolean`) {
		t.Fatalf("err = %v", err)
	}
	p = write(t, "users.csv", "User ID,Login,Active?,Admin,Roles\n1001,ann,Yes,,a;b\n1002,bo,no,TRUE,\n")
	got, err := list(t, Config{Path: p, Columns: map[string]string{"account_id": "user id", "username": "LOGIN", "enabled": "Active?", "privileged": "admin", "groups": "roles"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "1001" || got[0].Username != "ann" || !got[0].Enabled || got[0].Privileged ||
		!slices.Equal(got[0].Groups, targets.NamedGroups("a", "b")) || got[1].Enabled || !got[1].Privileged || got[1].Groups != nil {
		t.Fatalf("got %+v", got)
	}
	for _, a := range got {
		if a.LoginTracked {
			t.Errorf("%s: LoginTracked without a last_login column", a.ID)
		}
	}
}

func TestBadInput(t *testing.T) {
	const hdr = "account_id,enabled,last_login\n"
	const credHdr = "account_id,credential_id,kind,created,last_used,active\n"
	cases := []struct {
		name     string
		accounts string
		creds    string // "" = no credentials file
		inCreds  bool   // the error is about the credentials file
		want     []string
	}{
		{"bad quoting", hdr + "u1,true,\n\"u2,true,\n", "", false, []string{":3: malformed CSV:"}},
		{"field count", hdr + "u1,true\n", "", false, []string{":2: 2 fields, the header line has 3"}},
		{"missing required", "id,username,enabled\nu1,a,true\n", "", false,
			[]string{":1: missing required column(s) account_id (headers found: id, username, enabled)"}},
		{"duplicate id", hdr + "u1,true,\nu2,true,\nu1,false,\n", "", false,
			[]string{`:4: column account_id: duplicate account ID "u1" (first on line 2)`}},
		{"empty id", hdr + " ,true,\n", "", false, []string{":2: column account_id: empty account ID"}},
		{"empty enabled", hdr + "u1,,\n", "", false, []string{":2: column enabled: empty"}},
		{"bad boolean", hdr + "u1,enabled,\n", "", false, []string{`:2: column enabled: "enabled" is not a boolean`}},
		{"bad date", hdr + "u1,true,last tuesday\n", "", false, []string{`:2: column last_login: unparseable date "last tuesday"`}},
		{"invalid utf-8", "account_id,enabled,display_name\nu1,true,Jos\xe9\n", "", false, []string{":2: column display_name: invalid UTF-8"}},
		{"empty file", "", "", false, []string{":1: empty file"}},
		{"credential of unknown account", hdr + "u1,true,\n", credHdr + "u1,k1,api,,,true\nu9,k2,api,,,true\n", true,
			[]string{`:3: column account_id: credential "k2" names account "u9", which`}},
		{"credential bad active", hdr + "u1,true,\n", credHdr + "u1,k1,api,,,maybe\n", true,
			[]string{`:2: column active: "maybe" is not a boolean`}},
		{"credential missing columns", hdr + "u1,true,\n", "account_id,id\nu1,k1\n", true,
			[]string{":1: missing required column(s) credential_id, active (headers found: account_id, id)"}},
		{"credential duplicate", hdr + "u1,true,\n", credHdr + "u1,k1,api,,,true\nu1,k1,api,,,false\n", true,
			[]string{`:3: column credential_id: duplicate credential "k1" of account "u1" (first on line 2)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Path: write(t, "app.csv", c.accounts)}
			if c.creds != "" {
				cfg.CredentialsPath = write(t, "keys.csv", c.creds)
			}
			got, err := list(t, cfg)
			if err == nil {
				t.Fatalf("no error; accounts %+v", got)
			}
			msg := err.Error()
			t.Log(msg)
			file := cfg.Path
			if c.inCreds {
				file = cfg.CredentialsPath
			}
			if !strings.HasPrefix(msg, "csv: "+file+":") {
				t.Errorf("error %q does not start with csv: %s:", msg, file)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\n does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "csv: path: required"},
		{Config{Path: "x", Columns: map[string]string{"login": "x"}}, `csv: columns: unknown column "login" (known: account_id,`},
		{Config{Path: "x", Columns: map[string]string{"username": "email"}}, `csv: columns: username and email both read header "email"`},
	}
	for _, c := range cases {
		if _, err := New(c.cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestHeaderOnlyIsNoAccounts(t *testing.T) {
	got, err := list(t, Config{Path: write(t, "app.csv", "account_id,enabled\n")})
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := list(t, Config{Path: filepath.Join(t.TempDir(), "gone.csv")})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "gone.csv") {
		t.Fatalf("err = %v", err)
	}
}

func TestConformance(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Fixture {
		dir := t.TempDir()
		ap := filepath.Join(dir, "app.csv")
		cp := filepath.Join(dir, "keys.csv")
		if err := os.WriteFile(ap, []byte(accountsCSV), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp, []byte(credentialsCSV), 0o600); err != nil {
			t.Fatal(err)
		}
		tg, err := New(Config{Path: ap, CredentialsPath: cp}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return targettest.Fixture{Target: tg, Enabled: []string{"u1", "u2"}, MinAccounts: 3}
	})
}

// BenchmarkAccounts measures streaming a 100,000-account export.
func BenchmarkAccounts(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("account_id,username,email,employee_id,enabled,last_login,groups\n")
	for i := range 100000 {
		fmt.Fprintf(&sb, "u%d,user%d,user%d@example.com,E%06d,true,2026-01-02T10:00:00Z,staff;sales\n", i, i, i, i)
	}
	p := write(b, "app.csv", sb.String())
	tg, err := New(Config{Path: p}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range tg.Accounts(context.Background()) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100000 {
			b.Fatalf("n = %d", n)
		}
	}
}

// A quote opened and never closed is reported at the line of its record,
// once: not also at the line, far below, where the reader gave up
// (issue 10 item 10).
func TestRunawayQuoteNamesOneLine(t *testing.T) {
	body := "account_id,enabled\nu1,true\n\"u2,true\n"
	for i := range 20 {
		body += fmt.Sprintf("u%d,true\n", i+3)
	}
	body += "\"u99\",true\n"
	_, err := list(t, Config{Path: write(t, "app.csv", body)})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, ":3: malformed CSV:") {
		t.Errorf("error %q does not name line 3", msg)
	}
	if regexp.MustCompile(`line \d|:2[0-9]:`).MatchString(msg) {
		t.Errorf("error %q names a second line", msg)
	}
}

// Reading an export keeps (besides what the consumer keeps) its account
// IDs, not its lines: a field of a record shares the memory of the whole
// line, and a set of IDs seen that held them would hold the file.
func TestSeenIDsDoNotPinLines(t *testing.T) {
	const n = 20000
	pad := strings.Repeat("x", 1000)
	var sb strings.Builder
	sb.WriteString("account_id,display_name,enabled\n")
	for i := range n {
		fmt.Fprintf(&sb, "u%d,%s,true\n", i, pad)
	}
	size := sb.Len()
	tg, err := New(Config{Path: write(t, "app.csv", sb.String())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb.Reset()
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before, atEnd, count := heap(), uint64(0), 0
	for _, err := range tg.Accounts(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if count++; count == n { // the reader's state is all still alive
			atEnd = heap()
		}
	}
	if grew := int64(atEnd) - int64(before); grew > int64(size/4) {
		t.Fatalf("reading a %d-byte export of %d accounts holds %d bytes at its end: the lines are kept", size, n, grew)
	}
}

// A groups cell is split to nil when it names none. A cell seen before
// gives the same list again, without allocating, its names not slices of
// the cell (the line stays free); past slabLists cells, many share one
// allocation. Either way one list's appends never reach into another's.
func TestSplitGroups(t *testing.T) {
	var gs groupSlab
	for _, s := range []string{"", " ", ";", " ; ;", " ; ;"} {
		if got := gs.split(s); got != nil {
			t.Errorf("split(%q) = %#v, want nil", s, got)
		}
	}
	want := []targets.Group{{ID: "a", Name: "a"}, {ID: "b c", Name: "b c"}}
	cell := " a ;; b c ;"
	got := gs.split(cell)
	if !slices.Equal(got, want) {
		t.Errorf("split = %v, want %v", got, want)
	}
	line := unsafe.StringData(cell)
	for _, g := range got {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(g.ID))); p >= uintptr(unsafe.Pointer(line)) && p < uintptr(unsafe.Pointer(line))+uintptr(len(cell)) {
			t.Errorf("group %q is a slice of the cell", g.ID)
		}
	}
	again := gs.split(strings.Clone(cell))
	if len(again) != len(got) || &again[0] != &got[0] {
		t.Errorf("the same cell again: %v, not the list it gave before", again)
	}
	next := gs.split("d")
	_ = append(got, targets.Group{ID: "x", Name: "x"})
	if want := []targets.Group{{ID: "d", Name: "d"}}; !slices.Equal(next, want) {
		t.Errorf("after appending to the list before it, split = %v, want %v", next, want)
	}
	if l := gs.split(cell); !slices.Equal(l, want) {
		t.Errorf("after appending to it, the cell's list is %v", l)
	}
	three := "e;f;g"
	mine := append(gs.split(three), targets.Group{ID: "mine", Name: "mine"})
	theirs := append(gs.split(three), targets.Group{ID: "theirs", Name: "theirs"})
	if mine[3].ID != "mine" || theirs[3].ID != "theirs" {
		t.Errorf("two accounts' appends to one list: %v and %v", mine, theirs)
	}
	seen := "staff;sales;eng;ops"
	gs.split(seen)
	if n := testing.AllocsPerRun(1000, func() { gs.split(seen) }); n != 0 {
		t.Errorf("split of a cell seen before: %v allocations, want 0", n)
	}
	for i := len(gs.lists); i < slabLists; i++ {
		gs.split(fmt.Sprintf("g%d;h", i))
	}
	cells := make([]string, 2000)
	for i := range cells {
		cells[i] = fmt.Sprintf("x%d;y;z;w", i)
	}
	k := 0
	if n := testing.AllocsPerRun(1000, func() { gs.split(cells[k]); k++ }); n != 0 {
		t.Errorf("split past %d cells: %v allocations per cell, want 0 (one per %d groups)", slabLists, n, slabGroups)
	}
	if len(gs.lists) != slabLists {
		t.Errorf("%d cells kept, want at most %d", len(gs.lists), slabLists)
	}
	a, b := gs.split("p;q"), gs.split("r")
	_ = append(a, targets.Group{ID: "x", Name: "x"})
	if want := []targets.Group{{ID: "r", Name: "r"}}; !slices.Equal(b, want) {
		t.Errorf("past %d cells, after appending to the list before it, split = %v, want %v", slabLists, b, want)
	}
	long := strings.Repeat("g;", slabGroups+10)
	if got := gs.split(long); len(got) != slabGroups+10 {
		t.Errorf("split of %d groups: %d", slabGroups+10, len(got))
	}
	if got := (&groupSlab{}).split(long); len(got) != slabGroups+10 {
		t.Errorf("split of %d groups, the first cell: %d", slabGroups+10, len(got))
	}
}
