package main

// Issue 11, "Done when": kill -9 at random moments of a 1,000-account
// enforce run on an SQL target with a sessions table, at least 20 times,
// `audit verify` after each kill, then runs to completion, then every
// account's every lifecycle step checked against the rows of the target's
// database. The child processes are this test binary running
// TestCrashChild, which runs the accessrecon command line in-process.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

const crashChildEnv = "ACCESSRECON_CRASH_CHILD"

// TestCrashChild is the child process of the kill test: it runs the command
// line given in the environment and exits with its status.
func TestCrashChild(t *testing.T) {
	args := os.Getenv(crashChildEnv)
	if args == "" {
		t.Skip("the kill test's child process (runs only when " + crashChildEnv + " is set)")
	}
	os.Exit(run(context.Background(), strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
}

const (
	killAccounts = 1000 // leavers at the start
	killReserve  = 1000 // people still employed; 100 of them leave each time the work runs out (a loaded machine finishes runs before their kill more often: 300 ran out under a parallel test load)
)

const killConfig = `store: state.db
sources:
  - {name: hr, type: csv, config: {path: hr.csv}}
targets:
  - name: directory
    type: sql
    mode: enforce
    concurrency: 4
    config:
      driver: sqlite3
      dsn: directory.db?_busy_timeout=10000&_journal_mode=WAL
      accounts_query: SELECT id AS account_id, login AS username, emp_no AS employee_id, active AS enabled FROM users
      credentials_query: SELECT user_id AS account_id, id AS credential_id, active FROM api_keys
      disable_statement: UPDATE users SET active = 0 WHERE id = :account_id
      revoke_sessions_statement: DELETE FROM sessions WHERE user_id = :account_id
      revoke_credential_statement: UPDATE api_keys SET active = 0 WHERE id = :credential_id AND user_id = :account_id
policy:
  mode: enforce
  guards: {max_revocations: 100000, max_revocations_percent: 100}
  lifecycle:
    terminated_active: [disable, revoke_sessions, revoke_credential]
serve: {lock_stale: 10m}
`

// writeHR writes HR: the first `leavers` people terminated, the rest active.
func writeHR(t *testing.T, dir string, leavers int) {
	t.Helper()
	var hr bytes.Buffer
	hr.WriteString("employee_id,email,first_name,last_name,status,status_effective,termination_date\n")
	for i := range killAccounts + killReserve {
		if i < leavers {
			fmt.Fprintf(&hr, "E%05d,p%d@example.com,P,%d,terminated,2026-11-20,2026-11-20\n", i, i, i)
		} else {
			fmt.Fprintf(&hr, "E%05d,p%d@example.com,P,%d,active,,\n", i, i, i)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), hr.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// killSetup writes HR (1,000 leavers and the reserve still employed), the
// directory (each user with two sessions, every 4th with an API key) and
// the configuration.
func killSetup(t *testing.T, dir string) {
	t.Helper()
	writeHR(t, dir, killAccounts)
	if err := os.WriteFile(filepath.Join(dir, "schedule.yaml"), []byte(killConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", filepath.Join(dir, "directory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA journal_mode=WAL;
		CREATE TABLE users (id TEXT PRIMARY KEY, login TEXT, emp_no TEXT, active INTEGER);
		CREATE TABLE sessions (user_id TEXT, token TEXT);
		CREATE INDEX sessions_by_user ON sessions(user_id);
		CREATE TABLE api_keys (id TEXT PRIMARY KEY, user_id TEXT, active INTEGER);`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range killAccounts + killReserve {
		id := fmt.Sprintf("u%05d", i)
		mustExecTx(t, tx, `INSERT INTO users VALUES (?, ?, ?, 1)`, id, "user"+strconv.Itoa(i), fmt.Sprintf("E%05d", i))
		mustExecTx(t, tx, `INSERT INTO sessions VALUES (?, ?), (?, ?)`, id, "a-"+id, id, "b-"+id)
		if i%4 == 0 {
			mustExecTx(t, tx, `INSERT INTO api_keys VALUES (?, ?, 1)`, "key-"+id, id)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func mustExecTx(t *testing.T, tx *sql.Tx, q string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// killState is the target's real state, read from its rows.
type killState struct {
	active   map[string]bool // users.active
	sessions map[string]int  // live sessions per user
	keys     map[string]bool // api_keys.active by key ID
}

func readDirectory(t *testing.T, dir string) killState {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "directory.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := killState{active: map[string]bool{}, sessions: map[string]int{}, keys: map[string]bool{}}
	read := func(q string, fn func(id string, v int)) {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var v int
			if err := rows.Scan(&id, &v); err != nil {
				t.Fatal(err)
			}
			fn(id, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	read(`SELECT id, active FROM users`, func(id string, v int) { st.active[id] = v != 0 })
	read(`SELECT user_id, COUNT(*) FROM sessions GROUP BY user_id`, func(id string, v int) { st.sessions[id] = v })
	read(`SELECT id, active FROM api_keys`, func(id string, v int) { st.keys[id] = v != 0 })
	return st
}

// effectSeen says whether an action's effect is in the target's rows.
func (d killState) effectSeen(a store.Action) bool {
	switch a.Op {
	case "disable":
		return !d.active[a.AccountID]
	case "revoke_sessions":
		return d.sessions[a.AccountID] == 0
	case "revoke_credential":
		return !d.keys[a.Arg]
	}
	return false
}

// checkNoFalseRecord fails for every action the store records as done
// whose effect the target's rows do not show: a recorded revocation that
// did not happen.
func checkNoFalseRecord(t *testing.T, st *store.Store, d killState, when string) {
	t.Helper()
	runs, err := st.Runs(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		acts, err := st.Actions(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			if (a.Status == "done" || a.Status == "recovered_done") && !d.effectSeen(a) {
				t.Errorf("%s: action %d (run %d) %s %s %s is recorded %s, but the target's rows do not show it", when, a.ID, a.RunID, a.Op, a.AccountID, a.Arg, a.Status)
			}
		}
	}
}

func TestKillAtRandomDuringEnforce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 20 processes")
	}
	dir := t.TempDir()
	killSetup(t, dir)
	cfg := filepath.Join(dir, "schedule.yaml")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := func(args ...string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+strings.Join(args, "\x1f"))
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd, &out
	}
	runArgs := []string{"run", "--config", cfg, "--out", filepath.Join(dir, "out"), "--wait", "1m"}
	verify := func(when string) {
		cmd, out := child("audit", "verify", "--config", cfg)
		if err := cmd.Run(); err != nil {
			t.Fatalf("audit verify %s: %v\n%s", when, err, out)
		}
		if !strings.Contains(out.String(), "audit trail intact") {
			t.Fatalf("audit verify %s: %s", when, out)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ACCESSRECON_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d (ACCESSRECON_KILL_SEED to replay)", seed)

	const wantKills = 20
	var kills, midEnforce, finished int
	var actionsBefore int
	countActions := func() int {
		st, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		c, err := st.ActionCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range c {
			n += v
		}
		checkNoFalseRecord(t, st, readDirectory(t, dir), fmt.Sprintf("after kill %d", kills))
		return n
	}
	// Kill moments: most at a random moment of enforcement (after the
	// child recorded its first new action, uniform over a window that
	// adapts to how long enforcement lasts), some at a random moment
	// before it (start-up, migration, collection, recovery).
	probe, err := sql.Open("sqlite3", filepath.Join(dir, "state.db")+"?_busy_timeout=10000&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	maxID := func() int64 {
		var id sql.NullInt64
		_ = probe.QueryRow(`SELECT MAX(id) FROM actions`).Scan(&id) // no table yet: 0
		return id.Int64
	}
	window := 200 * time.Millisecond
	leavers := killAccounts
	var toFirst time.Duration
	for attempt := 0; kills < wantKills; attempt++ {
		if attempt > 3*wantKills {
			t.Fatalf("only %d kills in %d attempts", kills, attempt)
		}
		before := maxID()
		cmd, out := child(runArgs...)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		early := toFirst > 0 && rng.IntN(5) == 0
		var at time.Time
		if early {
			at = start.Add(time.Duration(rng.Int64N(int64(toFirst))))
		}
		var ended error
		done := false
	wait:
		for {
			select {
			case ended = <-exited:
				done = true
				break wait
			case <-time.After(5 * time.Millisecond):
			}
			if at.IsZero() && maxID() > before {
				if toFirst == 0 {
					toFirst = time.Since(start)
				}
				at = time.Now().Add(time.Duration(rng.Int64N(int64(window))))
			}
			if !at.IsZero() && time.Now().After(at) {
				break
			}
		}
		if done {
			// The run finished before its moment came.
			finished++
			t.Logf("attempt %d: the run ended before its kill: %v", attempt, ended)
			if ended != nil {
				var ee *exec.ExitError
				if !errors.As(ended, &ee) {
					t.Fatal(ended)
				}
				t.Logf("%s", out)
			}
			// The work ran out: 100 more people leave.
			if leavers == killAccounts+killReserve {
				t.Fatalf("the work ran out after %d kills", kills)
			}
			leavers += 100
			writeHR(t, dir, leavers)
			window = window * 2 / 3
			continue
		}
		delay := time.Since(start)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		<-exited
		kills++
		verify(fmt.Sprintf("after kill %d (at %v)", kills, delay))
		if n := countActions(); n > actionsBefore {
			midEnforce++
			actionsBefore = n
		}
	}
	// Then runs to completion: the first finishes the work, the second
	// finds nothing left to do.
	for i := range 2 {
		cmd, out := child(runArgs...)
		if err := cmd.Run(); err != nil {
			t.Fatalf("run %d to completion: %v\n%s", i+1, err, out)
		}
		verify(fmt.Sprintf("after run %d to completion", i+1))
	}
	d := readDirectory(t, dir)
	st, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkNoFalseRecord(t, st, d, "at the end")
	for i := range killAccounts + killReserve {
		id := fmt.Sprintf("u%05d", i)
		leaver := i < leavers
		if d.active[id] == leaver {
			t.Errorf("%s: active %v", id, d.active[id])
		}
		if n := d.sessions[id]; leaver && n != 0 || !leaver && n != 2 {
			t.Errorf("%s: %d live sessions", id, n)
		}
		if i%4 == 0 && d.keys["key-"+id] == leaver {
			t.Errorf("%s: API key active %v", id, d.keys["key-"+id])
		}
	}
	runs, err := st.Runs(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	crashed := 0
	for _, r := range runs {
		switch r.Status {
		case "crashed":
			crashed++
		case "running":
			t.Errorf("run %d still running in history", r.ID)
		}
	}
	last := runs[0]
	if last.Status != "completed" {
		t.Errorf("last run %d: %s %s", last.ID, last.Status, last.Error)
	}
	if acts, _ := st.Actions(context.Background(), last.ID); len(acts) != 0 {
		t.Errorf("the run after completion still acted: %d actions", len(acts))
	}
	if crashed == 0 {
		t.Error("no run recorded crashed")
	}
	hist, hout := child("history", "--config", cfg, "-n", "100")
	if err := hist.Run(); err != nil {
		t.Fatalf("history: %v\n%s", err, hout)
	}
	if n := strings.Count(hout.String(), " crashed "); n != crashed {
		t.Errorf("history shows %d crashed runs, the store %d:\n%s", n, crashed, hout)
	}
	total, _ := st.ActionCounts(context.Background())
	t.Logf("%d leavers; %d kills (%d with new actions recorded, first action %v after start), %d runs finished before their kill; %d runs, %d crashed in history; actions by status %v",
		leavers, kills, midEnforce, toFirst, finished, len(runs), crashed, total)
}
