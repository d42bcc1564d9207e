// Package sshtarget lists the local accounts of SSH hosts and the public keys
// in their authorized_keys files, and revokes a key by removing exactly its
// line (optionally also locking the account).
//
// Each host is reached with golang.org/x/crypto/ssh, key authentication, its
// host key pinned by a known_hosts file. An account is host:user; each
// authorized key is a credential of it (ID = its SHA256 fingerprint). Keys
// are linked to people by a key registry (fingerprint → employee ID) or by
// an e-mail address in the key's comment; the account carries the employee
// ID and e-mail its keys agree on, for reconcile to correlate.
package sshtarget

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessrecon/accessrecon/targets"
)

// Target is an `ssh` target over the configured hosts.
type Target struct {
	cfg     Config
	log     *slog.Logger
	signer  ssh.Signer
	redact  *targets.Redactor
	timeout time.Duration
	now     func() time.Time
}

var (
	_ targets.Target            = (*Target)(nil)
	_ targets.Getter            = (*Target)(nil)
	_ targets.CredentialRevoker = (*Target)(nil)
	_ targets.Disabler          = (*Target)(nil)
	_ targets.Configurable      = (*Target)(nil)
)

// New checks cfg and parses the private key. known_hosts and the key
// registry are read here (to fail early) and again at every listing and
// action, so a daemon sees their changes.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(cfg.PrivateKey.Reveal()))
	if err != nil {
		var pe *ssh.PassphraseMissingError
		if errors.As(err, &pe) {
			return nil, errors.New("ssh: private key: it is protected by a passphrase; give accessrecon an unencrypted key readable only by it")
		}
		return nil, errors.New("ssh: private key: not an OpenSSH or PEM private key") // never echo key material
	}
	t := &Target{cfg: cfg, log: log, signer: signer, timeout: cfg.Timeout, now: time.Now, redact: targets.NewRedactor(cfg.PrivateKey)}
	if t.timeout <= 0 {
		t.timeout = 30 * time.Second
	}
	if _, err := t.load(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Target) user() string {
	if t.cfg.User == "" {
		return "root"
	}
	return t.cfg.User
}

// Capabilities lists get, disable and revoke_credential.
func (t *Target) Capabilities() []targets.Capability {
	return []targets.Capability{targets.CanGet, targets.CanDisable, targets.CanRevokeCredential}
}

// state is what a listing or action reads from local files at its start.
type state struct {
	hostKeys ssh.HostKeyCallback
	registry map[string]keyOwner
}

func (t *Target) load() (state, error) {
	var st state
	var err error
	if st.hostKeys, err = loadKnownHosts(t.cfg.KnownHosts); err != nil {
		return st, err
	}
	if t.cfg.KeyRegistry != "" {
		if st.registry, err = readRegistry(t.cfg.KeyRegistry); err != nil {
			return st, fmt.Errorf("ssh: %w", err)
		}
	}
	return st, nil
}

// Accounts lists every host's accounts, up to concurrency hosts at once,
// yielded host by host in the configured order. A host that fails (unknown
// or changed host key, refused login, unreadable files) yields nothing; the
// other hosts are still listed, and the listing ends with one error naming
// every failed host, so the collection is partial.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		st, err := t.load()
		if err != nil {
			yield(targets.Account{}, err)
			return
		}
		type result struct {
			accounts []targets.Account
			err      error
		}
		hosts := t.cfg.Hosts
		results := make([]chan result, len(hosts))
		for i := range results {
			results[i] = make(chan result, 1)
		}
		conc := t.cfg.Concurrency
		if conc == 0 {
			conc = 4
		}
		sem := make(chan struct{}, conc)
		go func() {
			for i, h := range hosts {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					results[i] <- result{err: fmt.Errorf("ssh: %s: %w", h.hostName(), ctx.Err())}
					continue
				}
				go func() {
					defer func() { <-sem }()
					as, err := t.readHost(ctx, st, h, "")
					results[i] <- result{as, err}
				}()
			}
		}()
		var errs []error
		for i := range hosts {
			r := <-results[i]
			if r.err != nil {
				t.log.Warn("host not listed", "host", hosts[i].hostName(), "err", r.err)
				errs = append(errs, r.err)
				continue
			}
			for _, a := range r.accounts {
				if !yield(a, nil) {
					return
				}
			}
		}
		if len(errs) > 0 {
			yield(targets.Account{}, errors.Join(errs...))
		}
	}
}

// Account re-reads one account (host:user).
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	h, user, err := t.parseID(id)
	if err != nil {
		return targets.Account{}, err
	}
	st, err := t.load()
	if err != nil {
		return targets.Account{}, err
	}
	as, err := t.readHost(ctx, st, h, user)
	if err != nil {
		return targets.Account{}, err
	}
	for _, a := range as {
		if a.ID == id {
			return a, nil
		}
	}
	// host:user/<person> whose keys are all gone: nothing of theirs is left.
	return targets.Account{ID: id, Privileged: as[0].Privileged}, nil
}

var userName = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.@-]*\$?$`)

// parseID splits host:user or host:user/<person> (the host name may itself
// hold colons, never a slash).
func (t *Target) parseID(id string) (Host, string, error) {
	id, _, _ = strings.Cut(id, "/")
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return Host{}, "", fmt.Errorf("ssh: account ID %q is not host:user: %w", id, targets.ErrNotFound)
	}
	name, user := id[:i], id[i+1:]
	if !userName.MatchString(user) {
		return Host{}, "", fmt.Errorf("ssh: account ID %q: %q is no user name: %w", id, user, targets.ErrNotFound)
	}
	for _, h := range t.cfg.Hosts {
		if h.hostName() == name {
			return h, user, nil
		}
	}
	return Host{}, "", fmt.Errorf("ssh: account ID %q: no configured host %q: %w", id, name, targets.ErrNotFound)
}

// passwdEntry is one line of getent passwd.
type passwdEntry struct {
	Name, Gecos, Home string
	UID               int
}

// shadowState is what the read script reports of a shadow entry: never the
// hash, only whether a password is usable, and the account expiry.
type shadowState struct {
	Password string // set, empty or locked
	Expire   string // days since 1970, or empty
}

type keyFile struct {
	Path  string
	Found bool
	MTime time.Time
	Mode  string
	Data  []byte
}

// readHost reads one host: all selected accounts, or with only set, that
// one account (ErrNotFound when the host has no such user).
func (t *Target) readHost(ctx context.Context, st state, h Host, only string) ([]targets.Account, error) {
	c, err := t.dial(ctx, h, st.hostKeys)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	users, privileged, err := t.passwd(ctx, c, only)
	if err != nil {
		return nil, err
	}
	if len(users) == 0 && only != "" {
		return nil, fmt.Errorf("ssh: %s: no user %s: %w", h.hostName(), only, targets.ErrNotFound)
	}
	if len(t.cfg.Users) > 0 && only == "" {
		users = slices.DeleteFunc(users, func(u passwdEntry) bool { return !slices.Contains(t.cfg.Users, u.Name) })
	}
	shadow, files, err := t.readFiles(ctx, c, users, only)
	if err != nil {
		return nil, err
	}
	out := make([]targets.Account, 0, len(users))
	for _, u := range users {
		as := t.accounts(h, u, shadow[u.Name], files[u.Name], st.registry)
		for i := range as {
			as[i].Privileged = u.UID == 0 || privileged[u.Name]
		}
		base := as[0]
		if only != "" || len(base.Credentials) > 0 || len(as) > 1 || slices.Contains(t.cfg.Users, u.Name) ||
			(u.UID >= t.cfg.minUID() && u.UID != 65534) {
			out = append(out, base)
		}
		out = append(out, as[1:]...)
	}
	return out, nil
}

// passwdScript prints getent passwd (everyone, or the users named as
// arguments: exit 2 when one is missing), a line "#", and the groups whose
// members may become root.
const passwdScript = `getent passwd "$@" || exit $?
echo '#'
getent group root sudo wheel admin
exit 0
`

// passwd reads the users (everyone, or one) and who of them is in a
// privileged group (root, sudo, wheel, admin).
func (t *Target) passwd(ctx context.Context, c *conn, only string) ([]passwdEntry, map[string]bool, error) {
	var args []string
	if only != "" {
		args = []string{only}
	}
	out, err := c.run(ctx, false, passwdScript, nil, args...)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == 2 && only != "" {
		return nil, nil, fmt.Errorf("ssh: %s: no user %s: %w", c.host.hostName(), only, targets.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("ssh: %s: getent passwd: %w", c.host.hostName(), err)
	}
	pw, gr, ok := strings.Cut(string(out), "\n#\n")
	if !ok {
		return nil, nil, fmt.Errorf("ssh: %s: unexpected output of getent passwd/group", c.host.hostName())
	}
	var users []passwdEntry
	for line := range strings.SplitSeq(pw, "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 {
			continue
		}
		uid, err := strconv.Atoi(f[2])
		if err != nil || !userName.MatchString(f[0]) || f[5] == "" || strings.ContainsAny(f[5], "\n\x00") {
			continue
		}
		if slices.ContainsFunc(users, func(u passwdEntry) bool { return u.Name == f[0] }) {
			continue // NSS may list a name twice (files and LDAP): the first wins, as for sshd
		}
		gecos, _, _ := strings.Cut(f[4], ",")
		users = append(users, passwdEntry{Name: f[0], UID: uid, Gecos: gecos, Home: f[5]})
	}
	privileged := map[string]bool{}
	for line := range strings.SplitSeq(gr, "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[3] == "" {
			continue
		}
		for _, u := range strings.Split(f[3], ",") {
			privileged[u] = true
		}
	}
	return users, privileged, nil
}

// readScript prints, as root, one S line per shadow entry (user, whether a
// password is usable, expiry day: never the hash); one F line per path read
// from standard input that is a file (mtime, uid, gid, mode, size, path);
// a line D; then the contents of those files, concatenated in the same
// order. A constant number of processes whatever the number of files.
const readScript = `[ "$(id -u)" = 0 ] || { echo "accessrecon: not root: configure sudo" >&2; exit 77; }
getent shadow "$@" | awk -F: '{ p = substr($2, 1, 1); s = "set"; if (p == "!" || p == "*") s = "locked"; else if ($2 == "") s = "empty"; print "S " $1 " " s " " $8 }'
l=$(mktemp) || exit 1
trap 'rm -f -- "$l"' EXIT
while IFS= read -r f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done > "$l"
xargs -0r stat -L -c 'F %Y %u %g %a %s %n' -- < "$l" || exit 1
echo D
xargs -0r cat -- < "$l" || exit 1
`

// keyPaths expands the AuthorizedKeysFile patterns for u.
func (t *Target) keyPaths(u passwdEntry) []string {
	var out []string
	for _, p := range t.cfg.keyFiles() {
		var b strings.Builder
		for i := 0; i < len(p); i++ {
			if p[i] != '%' || i+1 == len(p) {
				b.WriteByte(p[i])
				continue
			}
			i++
			switch p[i] {
			case 'h':
				b.WriteString(u.Home)
			case 'u':
				b.WriteString(u.Name)
			case 'U':
				b.WriteString(strconv.Itoa(u.UID))
			case '%':
				b.WriteByte('%')
			default:
				b.WriteByte('%')
				b.WriteByte(p[i])
			}
		}
		s := b.String()
		if !path.IsAbs(s) {
			s = path.Join(u.Home, s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (t *Target) readFiles(ctx context.Context, c *conn, users []passwdEntry, only string) (map[string]shadowState, map[string][]keyFile, error) {
	var in bytes.Buffer
	type ref struct{ user, path string }
	var refs []ref
	for _, u := range users {
		for _, p := range t.keyPaths(u) {
			refs = append(refs, ref{u.Name, p})
			in.WriteString(p)
			in.WriteByte('\n')
		}
	}
	var args []string
	if only != "" {
		args = []string{only}
	}
	out, err := c.run(ctx, true, readScript, in.Bytes(), args...)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) && ee.code == 77 {
			return nil, nil, fmt.Errorf("ssh: %s: reading other users' files needs root: log in as root or set sudo: %w", c.host.hostName(), targets.ErrPermission)
		}
		return nil, nil, fmt.Errorf("ssh: %s: reading authorized_keys: %w", c.host.hostName(), err)
	}
	bad := func(what string) error {
		return fmt.Errorf("ssh: %s: unexpected output of the read script: %s", c.host.hostName(), what)
	}
	shadow := map[string]shadowState{}
	found := map[string]*keyFile{}
	var order []*keyFile
	var sizes []int
	rest := out
	for {
		line, tail, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return nil, nil, bad("no end of the file list")
		}
		rest = tail
		f := strings.SplitN(string(line), " ", 7)
		if f[0] == "D" {
			break
		}
		switch {
		case f[0] == "S" && len(f) >= 3:
			s := shadowState{Password: f[2]}
			if len(f) >= 4 {
				s.Expire = f[3]
			}
			shadow[f[1]] = s
		case f[0] == "F" && len(f) == 7:
			sec, err1 := strconv.ParseInt(f[1], 10, 64)
			size, err2 := strconv.Atoi(f[5])
			if err1 != nil || err2 != nil {
				return nil, nil, bad(fmt.Sprintf("%.80q", line))
			}
			kf := &keyFile{Path: f[6], Found: true, MTime: time.Unix(sec, 0).UTC(), Mode: f[4]}
			found[kf.Path] = kf
			order = append(order, kf)
			sizes = append(sizes, size)
		default:
			return nil, nil, bad(fmt.Sprintf("%.80q", line))
		}
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total != len(rest) {
		return nil, nil, targets.Transient(fmt.Errorf("ssh: %s: authorized_keys files changed while being read (%d bytes, stat said %d)", c.host.hostName(), len(rest), total), 0)
	}
	for i, kf := range order {
		kf.Data, rest = rest[:sizes[i]:sizes[i]], rest[sizes[i]:]
	}
	files := map[string][]keyFile{}
	for _, r := range refs {
		kf := keyFile{Path: r.path}
		if f, ok := found[r.path]; ok {
			kf = *f
		}
		files[r.user] = append(files[r.user], kf)
	}
	return shadow, files, nil
}

// accounts builds the accounts of u from its shadow state and key files.
//
// host:user is the Unix account itself: it is never linked to a person by
// its keys (a key's owner is not necessarily the account's: root, deploy,
// or alice's key on bob's account), only by its user name or a confirmed
// link in reconcile. It holds the keys linked to nobody, and is enabled when
// those, or a password, let someone in.
//
// Each person whose keys are in the account's files has an account of their
// own, host:user/<employee ID, or e-mail when only that is known>, linked to
// them, holding exactly their keys, enabled while one of them is active. Its
// ID depends only on the person, so it does not change as other keys come
// and go; when the person's last key goes, it is no longer listed.
func (t *Target) accounts(h Host, u passwdEntry, sh shadowState, files []keyFile, registry map[string]keyOwner) []targets.Account {
	now := t.now()
	type key struct {
		cred      targets.Credential
		id, email string // the key's owner, when known
	}
	var keys []key
	seen := map[string]int{}
	for _, f := range files {
		if !f.Found {
			continue
		}
		for _, k := range parseAuthorizedKeys(f.Data, now) {
			if i, ok := seen[k.Fingerprint]; ok {
				c := &keys[i].cred
				if f.MTime.Before(c.Created) {
					c.Created = f.MTime
				}
				c.Active = c.Active || !k.Expired
				continue
			}
			seen[k.Fingerprint] = len(keys)
			owner := registry[k.Fingerprint]
			em := strings.ToLower(owner.Email)
			if em == "" {
				em = emailOf(k.Comment, t.cfg.EmailDomains)
			}
			keys = append(keys, key{cred: targets.Credential{ID: k.Fingerprint, Kind: describe(k), Created: f.MTime, Active: !k.Expired},
				id: owner.EmployeeID, email: em})
		}
	}
	// A registry row with an e-mail ties keys whose comment holds that
	// address to its employee ID.
	idOfEmail := map[string]string{}
	for _, o := range registry {
		if o.EmployeeID != "" && o.Email != "" {
			idOfEmail[strings.ToLower(o.Email)] = o.EmployeeID
		}
	}
	locked := expired(sh.Expire, now)
	password := sh.Password == "set" || sh.Password == "empty"
	base := targets.Account{ID: h.hostName() + ":" + u.Name, Username: u.Name, DisplayName: u.Gecos}
	out := []targets.Account{base}
	index := map[string]int{}
	for _, k := range keys {
		person := k.id
		if person == "" && k.email != "" {
			person = k.email
			if id, ok := idOfEmail[k.email]; ok {
				person = id
			}
		}
		if person == "" {
			out[0].Credentials = append(out[0].Credentials, k.cred)
			continue
		}
		i, ok := index[person]
		if !ok {
			i = len(out)
			index[person] = i
			a := targets.Account{ID: base.ID + "/" + person, DisplayName: fmt.Sprintf("keys of %s on %s@%s", person, u.Name, h.hostName())}
			if person != k.email {
				a.EmployeeID = person
			}
			out = append(out, a)
		}
		a := &out[i]
		a.Credentials = append(a.Credentials, k.cred)
		if k.email != "" && a.Email == "" {
			a.Email = k.email
		}
	}
	for i := range out {
		active := slices.ContainsFunc(out[i].Credentials, func(c targets.Credential) bool { return c.Active })
		out[i].Enabled = !locked && (active || i == 0 && password)
	}
	return out
}

// describe is a key's Kind: its type, comment and options, as a person
// reading a finding needs them to recognise the key.
func describe(k authorizedKey) string {
	s := k.Type + " key"
	if k.Comment != "" {
		s += " " + strconv.Quote(k.Comment)
	}
	if len(k.Options) > 0 {
		s += " [" + strings.Join(k.Options, ",") + "]"
	}
	if k.Expired {
		s += " (expired)"
	}
	return s
}

// expired says whether a shadow expiry day (days since 1970) has come.
func expired(day string, now time.Time) bool {
	if day == "" {
		return false
	}
	d, err := strconv.ParseInt(day, 10, 64)
	if err != nil {
		return false
	}
	return d <= now.Unix()/86400
}

// rewriteScript replaces file $1 by standard input if its content still has
// SHA-256 $2: a temporary file beside it gets the original's owner and mode
// and is renamed over it (atomic); $3, when not empty, receives a copy of the
// original first (cp -p: same owner, mode and times). A symlink is followed.
const rewriteScript = `f=$(readlink -f -- "$1") || exit 1
tmp=$(mktemp -- "$f.accessrecon-tmp.XXXXXX") || exit 1
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp" || exit 1
have=$(sha256sum < "$f" | cut -d' ' -f1) || exit 1
if [ "$have" != "$2" ]; then echo "accessrecon: $f changed while it was being rewritten" >&2; exit 75; fi
if [ -n "$3" ]; then cp -p -- "$f" "$3" || exit 1; fi
chown --reference="$f" -- "$tmp" && chmod --reference="$f" -- "$tmp" || exit 1
mv -f -- "$tmp" "$f" || exit 1
trap - EXIT
`

// RevokeCredential removes every line holding the key (fingerprint c.ID)
// from the account's authorized_keys files, keeping every other line, the
// owner and the mode, and a backup beside each rewritten file; then reads the
// files again to confirm the key is gone. A key that is already absent is
// success; an account that does not exist wraps ErrNotFound.
func (t *Target) RevokeCredential(ctx context.Context, a targets.Account, c targets.Credential) error {
	fp, err := normalizeFingerprint(c.ID)
	if err != nil {
		return fmt.Errorf("ssh: revoke %s: %w", a.ID, err)
	}
	h, user, err := t.parseID(a.ID)
	if err != nil {
		return err
	}
	st, err := t.load()
	if err != nil {
		return err
	}
	cn, err := t.dial(ctx, h, st.hostKeys)
	if err != nil {
		return err
	}
	defer cn.Close()
	users, _, err := t.passwd(ctx, cn, user)
	if err != nil {
		return err
	}
	_, files, err := t.readFiles(ctx, cn, users, user)
	if err != nil {
		return err
	}
	stamp := t.now().UTC().Format("20060102T150405Z")
	for _, f := range files[user] {
		if !f.Found {
			continue
		}
		data, n := removeKey(f.Data, fp)
		if n == 0 {
			continue
		}
		sum := sha256.Sum256(f.Data)
		bak := ""
		if t.cfg.backup() {
			bak = f.Path + ".accessrecon-" + stamp
		}
		if _, err := cn.run(ctx, true, rewriteScript, data, f.Path, hex.EncodeToString(sum[:]), bak); err != nil {
			var ee *exitError
			if errors.As(err, &ee) && ee.code == 75 {
				return targets.Transient(fmt.Errorf("ssh: %s: rewrite %s: %w", h.hostName(), f.Path, err), 0)
			}
			return fmt.Errorf("ssh: %s: rewrite %s: %w", h.hostName(), f.Path, err)
		}
		t.log.Info("removed authorized key", "account", a.ID, "file", f.Path, "fingerprint", fp, "lines", n, "backup", bak)
	}
	// Verify by reading every file again.
	_, files, err = t.readFiles(ctx, cn, users, user)
	if err != nil {
		return fmt.Errorf("ssh: %s: re-read after removing %s: %w", h.hostName(), fp, err)
	}
	for _, f := range files[user] {
		for _, k := range parseAuthorizedKeys(f.Data, t.now()) {
			if k.Fingerprint == fp {
				return fmt.Errorf("ssh: %s: key %s is still in %s after the rewrite", h.hostName(), fp, f.Path)
			}
		}
	}
	return nil
}

// lockScript locks account $1: no password (usermod -L) and expired
// (chage -E 0), which also stops key logins. Exit 2: no such user.
const lockScript = `getent passwd "$1" >/dev/null || exit 2
usermod -L "$1" && chage -E 0 "$1"
`

// Disable of a person's keys on an account (host:user/<person>) removes all
// of them (as RevokeCredential does, one by one). Disable of a Unix account
// (host:user) locks it (usermod -L and chage -E0 through the configured sudo)
// and verifies by re-reading, when lock_accounts is on; otherwise it fails
// saying so, for a person to decide.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	if strings.Contains(a.ID, "/") {
		// A person's keys on an account: remove them, never lock the account.
		cur, err := t.Account(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, c := range cur.Credentials {
			if err := t.RevokeCredential(ctx, cur, c); err != nil {
				return err
			}
		}
		return nil
	}
	h, user, err := t.parseID(a.ID)
	if err != nil {
		return err
	}
	if !t.cfg.LockAccounts {
		return fmt.Errorf("ssh: %s: locking local accounts is off (lock_accounts): lock %s by hand (usermod -L %s; chage -E 0 %s) or turn it on", h.hostName(), user, user, user)
	}
	st, err := t.load()
	if err != nil {
		return err
	}
	cn, err := t.dial(ctx, h, st.hostKeys)
	if err != nil {
		return err
	}
	defer cn.Close()
	if _, err := cn.run(ctx, true, lockScript, nil, user); err != nil {
		var ee *exitError
		if errors.As(err, &ee) && ee.code == 2 {
			return fmt.Errorf("ssh: %s: no user %s: %w", h.hostName(), user, targets.ErrNotFound)
		}
		return fmt.Errorf("ssh: %s: lock %s: %w", h.hostName(), user, err)
	}
	shadow, _, err := t.readFiles(ctx, cn, nil, user)
	if err != nil {
		return fmt.Errorf("ssh: %s: re-read after locking %s: %w", h.hostName(), user, err)
	}
	if s := shadow[user]; s.Password != "locked" || !expired(s.Expire, t.now()) {
		return fmt.Errorf("ssh: %s: %s is not locked and expired after usermod -L / chage -E0 (password %s, expiry %q)", h.hostName(), user, s.Password, s.Expire)
	}
	t.log.Info("locked local account", "account", a.ID)
	return nil
}
