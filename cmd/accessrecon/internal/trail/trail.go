// Package trail opens the store's audit trail as configured: the JSON Lines
// mirror, and every record forwarded to a syslog collector (RFC 5424) when
// audit.syslog is set.
package trail

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Open returns the store's audit trail as configured, with the syslog
// sink attached when audit.syslog is set.
func Open(cfg *config.Config, st storefile.Audit, log *slog.Logger) *store.AuditTrail {
	trail := st.Audit(cfg.Resolve(cfg.Audit.File))
	if cfg.Audit.Syslog != nil && cfg.Audit.Syslog.Address != "" {
		sink := &syslogSink{cfg: *cfg.Audit.Syslog, log: log}
		trail.OnAppend = sink.send
	}
	attachCheckpoints(cfg, trail, log)
	return trail
}

// syslogSink sends audit records; a collector that is down is logged, never
// fatal: the store and the JSON Lines file remain the record.
type syslogSink struct {
	cfg  config.SyslogConfig
	log  *slog.Logger
	mu   sync.Mutex
	conn net.Conn
}

// rfc5424 formats one record: facility 13 (log audit), severity notice.
func rfc5424(app string, r store.AuditRecord) string {
	host, _ := os.Hostname()
	if host == "" {
		host = "-"
	}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`)
	sd := fmt.Sprintf(`[accessrecon@32473 seq="%d" run="%d" type="%s" actor="%s" target="%s" hash="%s" prev="%s"]`,
		r.Seq, r.RunID, esc.Replace(r.Type), esc.Replace(r.Actor), esc.Replace(r.Target), r.Hash, r.PrevHash)
	return fmt.Sprintf("<%d>1 %s %s %s %d %s %s %s", 13*8+5, r.At.UTC().Format(time.RFC3339Nano), host, app, os.Getpid(), r.Type, sd, string(r.Detail))
}

func (s *syslogSink) send(r store.AuditRecord) {
	app := s.cfg.AppName
	if app == "" {
		app = "accessrecon"
	}
	msg := rfc5424(app, r)
	network := s.cfg.Network
	if network == "" {
		network = "tcp"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := range 2 { // one reconnect after a broken connection
		if s.conn == nil {
			c, err := net.DialTimeout(network, s.cfg.Address, 5*time.Second)
			if err != nil {
				s.log.Warn("audit syslog: cannot reach the collector", "address", s.cfg.Address, "err", err)
				return
			}
			s.conn = c
		}
		frame := msg
		if network == "tcp" {
			frame = fmt.Sprintf("%d %s", len(msg), msg) // RFC 6587 octet counting
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := s.conn.Write([]byte(frame)); err != nil {
			s.conn.Close()
			s.conn = nil
			if attempt == 1 {
				s.log.Warn("audit syslog: send failed", "address", s.cfg.Address, "err", err)
			}
			continue
		}
		return
	}
}
