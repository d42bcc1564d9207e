package trail

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Every audit record reaches a syslog collector over TCP as an RFC 5424
// message in an octet-counted frame, carrying its sequence number and hash.
func TestAuditSyslogTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 10)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		rd := bufio.NewReader(c)
		for {
			lenStr, err := rd.ReadString(' ')
			if err != nil {
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(lenStr))
			if err != nil {
				got <- "bad frame: " + lenStr
				return
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(rd, buf); err != nil {
				return
			}
			got <- string(buf)
		}
	}()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := syslogConfig(t, "tcp", ln.Addr().String())
	trail := Open(cfg, st, slog.New(slog.DiscardHandler))
	var recs []store.AuditRecord
	for i := range 3 {
		r, err := trail.Append(ctx, store.AuditRecord{At: time.Now(), RunID: 7, Type: "action_requested", Actor: "accessrecon", Target: "dir", Detail: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	re := regexp.MustCompile(`^<109>1 \S+ \S+ accessrecon \d+ action_requested \[accessrecon@32473 seq="(\d+)" run="7" type="action_requested" actor="accessrecon" target="dir" hash="([0-9a-f]{64})" prev="([0-9a-f]{64})"\] \{"n":\d\}$`)
	for i, r := range recs {
		select {
		case msg := <-got:
			m := re.FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("message %d is not the expected RFC 5424 form: %q", i, msg)
			}
			if m[1] != strconv.FormatInt(r.Seq, 10) || m[2] != r.Hash || m[3] != r.PrevHash {
				t.Fatalf("message %d carries seq %s hash %s prev %s; record has %d %s %s", i, m[1], m[2], m[3], r.Seq, r.Hash, r.PrevHash)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d never reached the collector", i)
		}
	}
}

// A collector that is down never fails the audit: the record is stored.
func TestAuditSyslogDownIsNotFatal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := syslogConfig(t, "", addr)
	trail := Open(cfg, st, slog.New(slog.DiscardHandler))
	if _, err := trail.Append(ctx, store.AuditRecord{At: time.Now(), Type: "run_started", Actor: "accessrecon"}); err != nil {
		t.Fatalf("append with the collector down: %v", err)
	}
	if res, err := trail.Verify(ctx); err != nil || res.StoreRecords != 1 {
		t.Fatalf("verify: %+v %v", res, err)
	}
}

// syslogConfig is a minimal config forwarding the audit trail to address.
func syslogConfig(t *testing.T, network, address string) *config.Config {
	t.Helper()
	body := fmt.Sprintf("sources: [{name: hr, type: csv, config: {path: hr.csv}}]\naudit: {syslog: {network: %q, address: %q}}\n", network, address)
	cfg, err := config.Parse([]byte(body), filepath.Join(t.TempDir(), "schedule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
