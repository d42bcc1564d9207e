package sshtarget

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/accessrecon/accessrecon/targets"
)

// conn is one SSH connection to a host.
type conn struct {
	c       *ssh.Client
	host    Host
	sudo    []string
	timeout time.Duration
	redact  *targets.Redactor // for the hosts' error output
}

// dial connects to h with key auth, its host key checked against the pinned
// known_hosts. An unknown or changed host key is an error naming the host
// and the known_hosts file; nothing is sent to such a host.
func (t *Target) dial(ctx context.Context, h Host, hostKeys ssh.HostKeyCallback) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ssh: %s: %w", h.hostName(), err)
	}
	addr := h.dialAddress()
	d := net.Dialer{Timeout: t.timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, targets.Transient(fmt.Errorf("ssh: %s: connect: %w", h.hostName(), err), 0)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	_ = nc.SetDeadline(time.Now().Add(t.timeout))
	cfg := &ssh.ClientConfig{
		User:              t.user(),
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(t.signer)},
		HostKeyCallback:   hostKeys,
		HostKeyAlgorithms: pinnedAlgorithms(hostKeys, addr),
		Timeout:           t.timeout,
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ssh: %s: %w", h.hostName(), ctx.Err())
		}
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return nil, fmt.Errorf("ssh: %s (%s): host key is not in known_hosts %s: nothing was read from this host; check the key out of band and add it: %w",
					h.hostName(), addr, t.cfg.KnownHosts, err)
			}
			return nil, fmt.Errorf("ssh: %s (%s): HOST KEY CHANGED: the host does not present the key pinned in %s (line %d): nothing was read from this host (a reinstalled host or a man in the middle; check before updating known_hosts): %w",
				h.hostName(), addr, ke.Want[0].Filename, ke.Want[0].Line, err)
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("ssh: %s: login as %s with the configured key refused: %w", h.hostName(), t.user(), targets.ErrPermission)
		}
		return nil, targets.Transient(fmt.Errorf("ssh: %s: handshake: %w", h.hostName(), err), 0)
	}
	_ = nc.SetDeadline(time.Time{})
	return &conn{c: ssh.NewClient(c, chans, reqs), host: h, sudo: t.cfg.sudo(), timeout: t.timeout, redact: t.redact}, nil
}

func (c *conn) Close() error { return c.c.Close() }

// pinnedAlgorithms lists the host key algorithms of the keys known_hosts
// pins for addr, so that the server is asked for exactly those (a server
// with an RSA and an Ed25519 key must not offer the one we do not know).
func pinnedAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(probeKey))
	if err != nil {
		return nil
	}
	remote, _ := net.ResolveTCPAddr("tcp", addr)
	if remote == nil {
		remote = &net.TCPAddr{}
	}
	var ke *knownhosts.KeyError
	if err := cb(addr, remote, probe); !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algs []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algs = append(algs, a)
		}
	}
	for _, w := range ke.Want {
		switch typ := w.Key.Type(); typ {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
			add(ssh.KeyAlgoRSA)
		default:
			add(typ)
		}
	}
	return algs
}

// run runs script with sh -c on the host (through the sudo prefix when
// privileged), args as $1…, stdin as its standard input, and returns its
// standard output. A non-zero exit is an *exitError carrying the first part
// of standard error.
func (c *conn) run(ctx context.Context, privileged bool, script string, stdin []byte, args ...string) ([]byte, error) {
	var cmd strings.Builder
	if privileged {
		for _, p := range c.sudo {
			cmd.WriteString(shellQuote(p))
			cmd.WriteByte(' ')
		}
	}
	cmd.WriteString("sh -c ")
	cmd.WriteString(shellQuote(script))
	cmd.WriteString(" sh")
	for _, a := range args {
		cmd.WriteByte(' ')
		cmd.WriteString(shellQuote(a))
	}
	s, err := c.c.NewSession()
	if err != nil {
		return nil, targets.Transient(fmt.Errorf("ssh: %s: open session: %w", c.host.hostName(), err), 0)
	}
	defer s.Close()
	var out bytes.Buffer
	errBuf := &capped{max: 2048}
	s.Stdout, s.Stderr = &out, errBuf
	if stdin != nil {
		s.Stdin = bytes.NewReader(stdin)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	err = s.Run(cmd.String())
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, targets.Transient(fmt.Errorf("ssh: %s: remote command timed out after %s: %w", c.host.hostName(), c.timeout, ctx.Err()), 0)
		}
		return nil, fmt.Errorf("ssh: %s: %w", c.host.hostName(), ctx.Err())
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return out.Bytes(), &exitError{code: ee.ExitStatus(), stderr: strings.TrimSpace(c.redact.Excerpt(errBuf.Bytes()))}
	}
	if err != nil {
		return nil, targets.Transient(fmt.Errorf("ssh: %s: %w", c.host.hostName(), err), 0)
	}
	return out.Bytes(), nil
}

type exitError struct {
	code   int
	stderr string
}

func (e *exitError) Error() string {
	if e.stderr == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return fmt.Sprintf("exit status %d: %s", e.code, e.stderr)
}

// capped keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// loadKnownHosts reads the pinned host keys.
func loadKnownHosts(path string) (ssh.HostKeyCallback, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ssh: known_hosts: %w", err)
	}
	cb, err := knownhosts.New(path)
	if err != nil {
		return nil, fmt.Errorf("ssh: known_hosts %s: %w", path, err)
	}
	return cb, nil
}

var _ io.Writer = (*capped)(nil)

// probeKey is a fixed Ed25519 public key nobody pins; asking known_hosts
// about it reveals which keys are pinned for an address.
var probeKey = func() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i + 1)
	}
	return b
}()
