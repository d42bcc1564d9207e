// Package ldap is the accessrecon target connector for LDAP directories:
// Active Directory (and Samba AD), OpenLDAP with the ppolicy and memberof
// overlays, and generic LDAPv3 servers.
//
// It lists user entries with the paged results control (streamed page by
// page, referrals not chased), identifies each account by a stable native ID
// (AD objectGUID as a standard GUID string, OpenLDAP entryUUID) and names
// groups by DN. Disable sets ACCOUNTDISABLE in AD's userAccountControl
// (read-modify-write, other bits kept), locks the account with ppolicy's
// pwdAccountLockedTime in OpenLDAP, or replaces a configured attribute on a
// generic server. RemoveFromGroup deletes the user's DN from the group's
// member attribute. Sessions and credentials are not LDAP concepts: the
// target has no SessionRevoker or CredentialRevoker.
package ldap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/accessrecon/accessrecon/targets"
)

// AD userAccountControl bits.
const (
	uacAccountDisable = 0x2
)

// adminLock is ppolicy's "locked until an administrator unlocks" time.
const adminLock = "000001010000Z"

// Target is an LDAP directory.
type Target struct {
	s   *settings
	log *slog.Logger
	// pages counts paged-search requests sent (tests assert paging with it).
	pages atomic.Int64
}

// New validates cfg, reads the bind password and returns the target. It does
// not connect: every call dials, binds and closes its own connection.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Target{s: s, log: log.With("target_kind", "ldap", "flavor", s.Flavor)}, nil
}

// Capabilities implements targets.Configurable: a generic directory without a
// disable: block cannot disable.
func (t *Target) Capabilities() []targets.Capability {
	c := []targets.Capability{targets.CanGet, targets.CanRemoveFromGroup, targets.CanAddToGroup}
	if t.s.Flavor != FlavorGeneric || t.s.Disable.Attribute != "" {
		c = append(c, targets.CanDisable, targets.CanEnable)
	}
	return c
}

// connect dials, upgrades to TLS and binds. The connection is closed when ctx
// ends, which aborts any request in flight; the caller closes it when done.
func (t *Target) connect(ctx context.Context) (*goldap.Conn, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("ldap: connect: %w", err)
	}
	d := &net.Dialer{Timeout: t.s.Timeout}
	conn, err := goldap.DialURL(t.s.URL, goldap.DialWithDialer(d), goldap.DialWithTLSConfig(t.s.tls))
	if err != nil {
		return nil, nil, t.classify(ctx, fmt.Errorf("ldap: dial %s: %w", t.s.URL, err))
	}
	conn.SetTimeout(t.s.Timeout)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	done := func() {
		stop()
		_ = conn.Close()
	}
	if t.s.startTLS {
		if err := conn.StartTLS(t.s.tls); err != nil {
			done()
			return nil, nil, t.classify(ctx, fmt.Errorf("ldap: starttls %s: %w", t.s.URL, err))
		}
	}
	if err := conn.Bind(t.s.BindDN, t.s.password.Reveal()); err != nil {
		done()
		return nil, nil, t.classify(ctx, fmt.Errorf("ldap: bind as %s: %w", t.s.BindDN, err))
	}
	return conn, done, nil
}

// classify maps err to the contract's error kinds: a ctx that ended wins,
// then permission and transient LDAP result codes and network failures.
func (t *Target) classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case goldap.LDAPResultInvalidCredentials, goldap.LDAPResultInsufficientAccessRights,
			goldap.LDAPResultInappropriateAuthentication, goldap.LDAPResultStrongAuthRequired,
			goldap.LDAPResultConfidentialityRequired:
			return fmt.Errorf("%w: %w", targets.ErrPermission, err)
		case goldap.LDAPResultBusy, goldap.LDAPResultUnavailable, goldap.LDAPResultServerDown,
			goldap.LDAPResultTimeout, goldap.LDAPResultTimeLimitExceeded, goldap.LDAPResultConnectError,
			goldap.LDAPResultAdminLimitExceeded, goldap.LDAPResultOther, goldap.ErrorNetwork:
			return targets.Transient(err, 0)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, net.ErrClosed) {
		return targets.Transient(err, 0)
	}
	return err
}

// attributes lists what a user search asks for (operational ones by name).
func (t *Target) attributes() []string {
	a := t.s.attrs
	out := []string{a.ID, a.EmployeeID, a.Email, a.Username, a.DisplayName, a.Created}
	if a.LastLogin != "" {
		out = append(out, a.LastLogin)
	}
	if t.s.employeeFB != "" {
		out = append(out, t.s.employeeFB)
	}
	if !t.s.GroupSearch {
		out = append(out, "memberOf")
	}
	switch t.s.Flavor {
	case FlavorAD:
		out = append(out, "userAccountControl", "adminCount")
	case FlavorOpenLDAP:
		out = append(out, "pwdAccountLockedTime")
	case FlavorGeneric:
		if t.s.Disable.Attribute != "" {
			out = append(out, t.s.Disable.Attribute)
		}
	}
	return out
}

// Accounts lists every user entry under base_dn matching user_filter, one
// page (page_size entries) at a time.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops the search goroutine when the consumer breaks
		conn, done, err := t.connect(ctx)
		if err != nil {
			yield(targets.Account{}, err)
			return
		}
		defer done()
		var nest *groupGraph
		if t.s.NestedGroups {
			if nest, err = t.loadGroupGraph(ctx, conn); err != nil {
				yield(targets.Account{}, err)
				return
			}
		}
		req := goldap.NewSearchRequest(t.s.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			0, 0, false, t.s.UserFilter, t.attributes(), nil)
		err = t.pagedSearch(ctx, conn, req, func(e *goldap.Entry) bool {
			a, err := t.account(ctx, conn, e, nest)
			if err != nil {
				yield(targets.Account{}, err)
				return false
			}
			return yield(a, nil)
		})
		if err != nil {
			yield(targets.Account{}, err)
		}
	}
}

// pagedSearch runs req with the paged results control and hands the entries
// of each page to fn. One page (page_size entries) is read completely before
// fn sees it: go-ldap drops a response a consumer leaves unread for longer
// than the request timeout, and its request timer would otherwise also count
// the consumer's time, so a slow consumer must not hold the connection's
// reader. It returns nil when fn returns false, an error wrapping ctx.Err()
// when ctx ends, and ignores continuation references (referrals).
func (t *Target) pagedSearch(ctx context.Context, conn *goldap.Conn, req *goldap.SearchRequest, fn func(*goldap.Entry) bool) error {
	paging := goldap.NewControlPaging(uint32(t.s.PageSize))
	req.Controls = append(req.Controls, paging)
	for page := 1; ; page++ {
		t.pages.Add(1)
		res, err := conn.Search(req)
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("ldap: search %s: %w", req.BaseDN, cerr)
		}
		if err != nil {
			return t.classify(ctx, fmt.Errorf("ldap: search %s page %d: %w", req.BaseDN, page, err))
		}
		t.log.DebugContext(ctx, "ldap: page", "base", req.BaseDN, "page", page,
			"entries", len(res.Entries), "referrals_ignored", len(res.Referrals))
		for i, e := range res.Entries {
			res.Entries[i] = nil // let the consumer's copy be the only one
			if !fn(e) {
				return nil // the caller closes the connection, which ends the paged search
			}
			if cerr := ctx.Err(); cerr != nil {
				return fmt.Errorf("ldap: search %s: %w", req.BaseDN, cerr)
			}
		}
		c, ok := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if !ok || len(c.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(c.Cookie)
	}
}

// account converts one user entry.
func (t *Target) account(ctx context.Context, conn *goldap.Conn, e *goldap.Entry, nest *groupGraph) (targets.Account, error) {
	at := t.s.attrs
	a := targets.Account{
		Username:    e.GetEqualFoldAttributeValue(at.Username),
		Email:       e.GetEqualFoldAttributeValue(at.Email),
		EmployeeID:  e.GetEqualFoldAttributeValue(at.EmployeeID),
		DisplayName: e.GetEqualFoldAttributeValue(at.DisplayName),
		DN:          e.DN,
		Enabled:     true,
	}
	if a.EmployeeID == "" && t.s.employeeFB != "" {
		a.EmployeeID = e.GetEqualFoldAttributeValue(t.s.employeeFB)
	}
	if strings.EqualFold(at.ID, "objectGUID") {
		raw := e.GetEqualFoldRawAttributeValue(at.ID)
		if len(raw) != 16 {
			return targets.Account{}, fmt.Errorf("ldap: %s: objectGUID has %d bytes, want 16 (is the bind account allowed to read it?)", e.DN, len(raw))
		}
		a.ID = formatGUID(raw)
	} else {
		a.ID = e.GetEqualFoldAttributeValue(at.ID)
	}
	if a.ID == "" {
		return targets.Account{}, fmt.Errorf("ldap: %s: no %s attribute (is it readable by the bind account?)", e.DN, at.ID)
	}
	var err error
	if a.Created, err = parseTime(e.GetEqualFoldAttributeValue(at.Created)); err != nil {
		return targets.Account{}, fmt.Errorf("ldap: %s: %s: %w", e.DN, at.Created, err)
	}
	if at.LastLogin != "" {
		a.LoginTracked = true
		if a.LastLogin, err = parseTime(e.GetEqualFoldAttributeValue(at.LastLogin)); err != nil {
			return targets.Account{}, fmt.Errorf("ldap: %s: %s: %w", e.DN, at.LastLogin, err)
		}
	}
	switch t.s.Flavor {
	case FlavorAD:
		uac, err := parseUAC(e)
		if err != nil {
			return targets.Account{}, err
		}
		a.Enabled = uac&uacAccountDisable == 0
		if e.GetEqualFoldAttributeValue("adminCount") == "1" {
			a.Privileged = true
		}
	case FlavorOpenLDAP:
		a.Enabled = e.GetEqualFoldAttributeValue("pwdAccountLockedTime") != adminLock
	case FlavorGeneric:
		if d := t.s.Disable; d.Attribute != "" {
			for _, v := range e.GetEqualFoldAttributeValues(d.Attribute) {
				if strings.EqualFold(v, d.Value) {
					a.Enabled = false
				}
			}
		}
	}
	var dns []string
	if t.s.GroupSearch {
		if dns, err = t.searchGroups(ctx, conn, e.DN); err != nil {
			return targets.Account{}, err
		}
	} else {
		dns = e.GetEqualFoldAttributeValues("memberOf")
	}
	if nest != nil {
		dns = nest.expand(dns)
	}
	a.Groups = make([]targets.Group, 0, len(dns))
	for _, dn := range dns {
		a.Groups = append(a.Groups, targets.Group{ID: dn, Name: cmp.Or(firstRDNValue(dn), dn)})
		if t.isPrivileged(dn) {
			a.Privileged = true
		}
	}
	return a, nil
}

func parseUAC(e *goldap.Entry) (int64, error) {
	v := e.GetEqualFoldAttributeValue("userAccountControl")
	uac, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ldap: %s: userAccountControl %q: not a number (is it readable by the bind account?)", e.DN, v)
	}
	return uac, nil
}

// isPrivileged says whether group DN g is named by privileged_groups, by DN
// or by CN.
func (t *Target) isPrivileged(g string) bool {
	if len(t.s.privileged) == 0 {
		return false
	}
	if t.s.privileged[strings.ToLower(g)] {
		return true
	}
	return t.s.privileged[strings.ToLower(firstRDNValue(g))]
}

// firstRDNValue is "Domain Admins" for "CN=Domain Admins,CN=Users,DC=x".
func firstRDNValue(dn string) string {
	p, err := goldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return ""
	}
	return p.RDNs[0].Attributes[0].Value
}

// searchGroups finds the groups naming dn as a member (group_search: true).
func (t *Target) searchGroups(ctx context.Context, conn *goldap.Conn, dn string) ([]string, error) {
	f := fmt.Sprintf("(|(&(objectClass=groupOfNames)(member=%[1]s))(&(objectClass=groupOfUniqueNames)(uniqueMember=%[1]s)))", goldap.EscapeFilter(dn))
	req := goldap.NewSearchRequest(t.s.GroupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, f, []string{"1.1"}, nil)
	var out []string
	err := t.pagedSearch(ctx, conn, req, func(e *goldap.Entry) bool {
		out = append(out, e.DN)
		return true
	})
	return out, err
}

// lookup finds the entry of the account with native ID id, asking for attrs.
// An ID that cannot exist, or no entry, is ErrNotFound.
func (t *Target) lookup(ctx context.Context, conn *goldap.Conn, id string, attrs []string) (*goldap.Entry, error) {
	var val string
	if strings.EqualFold(t.s.attrs.ID, "objectGUID") {
		raw, ok := parseGUID(id)
		if !ok {
			return nil, fmt.Errorf("ldap: account %q: not a GUID: %w", id, targets.ErrNotFound)
		}
		var b strings.Builder
		for _, c := range raw {
			fmt.Fprintf(&b, `\%02x`, c)
		}
		val = b.String()
	} else {
		if strings.EqualFold(t.s.attrs.ID, "entryUUID") {
			if _, ok := parseUUID(id); !ok {
				return nil, fmt.Errorf("ldap: account %q: not a UUID: %w", id, targets.ErrNotFound)
			}
		}
		val = goldap.EscapeFilter(id)
	}
	f := fmt.Sprintf("(&%s(%s=%s))", t.s.UserFilter, t.s.attrs.ID, val)
	req := goldap.NewSearchRequest(t.s.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, 0, false, f, attrs, nil)
	res, err := conn.Search(req)
	if err != nil {
		return nil, t.classify(ctx, fmt.Errorf("ldap: search %s for %s=%s: %w", t.s.BaseDN, t.s.attrs.ID, id, err))
	}
	switch len(res.Entries) {
	case 0:
		return nil, fmt.Errorf("ldap: account %s: %w", id, targets.ErrNotFound)
	case 1:
		return res.Entries[0], nil
	}
	return nil, fmt.Errorf("ldap: account %s: %d entries have %s=%s", id, len(res.Entries), t.s.attrs.ID, id)
}

// Account re-reads one account by its native ID.
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	conn, done, err := t.connect(ctx)
	if err != nil {
		return targets.Account{}, err
	}
	defer done()
	e, err := t.lookup(ctx, conn, id, t.attributes())
	if err != nil {
		return targets.Account{}, err
	}
	var nest *groupGraph
	if t.s.NestedGroups {
		nest, err = t.chainGroups(ctx, conn, e.DN)
		if err != nil {
			return targets.Account{}, err
		}
	}
	return t.account(ctx, conn, e, nest)
}

// Disable disables the account: AD sets ACCOUNTDISABLE in userAccountControl
// keeping every other bit; OpenLDAP locks it with pwdAccountLockedTime
// 000001010000Z (until an administrator unlocks it); generic replaces the
// configured attribute with the configured value.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	if t.s.Flavor == FlavorGeneric && t.s.Disable.Attribute == "" {
		return errors.New("ldap: disable: no disable: attribute configured for this generic directory")
	}
	conn, done, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	switch t.s.Flavor {
	case FlavorAD:
		// Re-read the current value right before writing, and write it as
		// delete-old + add-new in one modify: if another writer changed the
		// value in between, the delete fails instead of clobbering it.
		e, err := t.lookup(ctx, conn, a.ID, []string{"userAccountControl"})
		if err != nil {
			return err
		}
		uac, err := parseUAC(e)
		if err != nil {
			return err
		}
		if uac&uacAccountDisable != 0 {
			return nil
		}
		m := goldap.NewModifyRequest(e.DN, nil)
		m.Delete("userAccountControl", []string{strconv.FormatInt(uac, 10)})
		m.Add("userAccountControl", []string{strconv.FormatInt(uac|uacAccountDisable, 10)})
		if err := conn.Modify(m); err != nil {
			if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchAttribute) {
				return targets.Transient(fmt.Errorf("ldap: disable %s: userAccountControl changed while writing: %w", e.DN, err), 0)
			}
			return t.classify(ctx, fmt.Errorf("ldap: disable %s: %w", e.DN, err))
		}
		t.log.InfoContext(ctx, "ldap: disabled", "dn", e.DN, "userAccountControl_before", uac)
		return nil
	case FlavorOpenLDAP:
		return t.replace(ctx, conn, a.ID, "pwdAccountLockedTime", adminLock)
	default:
		return t.replace(ctx, conn, a.ID, t.s.Disable.Attribute, t.s.Disable.Value)
	}
}

// replace sets attr to val on the account's entry (idempotent).
func (t *Target) replace(ctx context.Context, conn *goldap.Conn, id, attr, val string) error {
	e, err := t.lookup(ctx, conn, id, []string{attr})
	if err != nil {
		return err
	}
	if v := e.GetEqualFoldAttributeValues(attr); len(v) == 1 && v[0] == val {
		return nil
	}
	m := goldap.NewModifyRequest(e.DN, nil)
	m.Replace(attr, []string{val})
	if err := conn.Modify(m); err != nil {
		return t.classify(ctx, fmt.Errorf("ldap: disable %s (replace %s): %w", e.DN, attr, err))
	}
	t.log.InfoContext(ctx, "ldap: disabled", "dn", e.DN, "attribute", attr)
	return nil
}

// RemoveFromGroup deletes the account's DN from the member attribute (or
// uniqueMember, for groupOfUniqueNames) of the group whose DN is g.ID, as
// Account.Groups lists it. Not being a direct member is success; a missing group or account is
// ErrNotFound. With nested_groups, a membership inherited through another
// group cannot be removed here and is reported as an error naming that.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	group := g.ID
	if _, err := goldap.ParseDN(group); err != nil {
		return fmt.Errorf("ldap: remove from group %q: not a DN (groups are named by DN): %w", group, targets.ErrNotFound)
	}
	conn, done, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	e, err := t.lookup(ctx, conn, a.ID, []string{"1.1"})
	if err != nil {
		return err
	}
	dn := e.DN
	for _, attr := range []string{"member", "uniqueMember"} {
		direct, err := t.hasValue(ctx, conn, group, attr, dn)
		if err != nil {
			return err
		}
		if !direct {
			continue
		}
		m := goldap.NewModifyRequest(group, nil)
		m.Delete(attr, []string{dn})
		err = conn.Modify(m)
		switch {
		case err == nil:
			t.log.InfoContext(ctx, "ldap: removed from group", "dn", dn, "group", group)
		case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchAttribute):
			// removed concurrently: the goal is reached
		case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
			return fmt.Errorf("ldap: group %s: %w", group, targets.ErrNotFound)
		default:
			return t.classify(ctx, fmt.Errorf("ldap: remove %s from %s: %w", dn, group, err))
		}
	}
	if t.s.NestedGroups {
		chain, err := t.chainGroups(ctx, conn, dn)
		if err != nil {
			return err
		}
		for _, x := range chain.expand(nil) {
			if strings.EqualFold(x, group) {
				return fmt.Errorf("ldap: %s is still a member of %s through a nested group: remove it from the intermediate group instead", dn, group)
			}
		}
	}
	return nil
}

// hasValue reports whether entry dn has attr=val. A missing entry is
// ErrNotFound.
func (t *Target) hasValue(ctx context.Context, conn *goldap.Conn, dn, attr, val string) (bool, error) {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		fmt.Sprintf("(%s=%s)", attr, goldap.EscapeFilter(val)), []string{"1.1"}, nil)
	res, err := conn.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return false, fmt.Errorf("ldap: group %s: %w", dn, targets.ErrNotFound)
	}
	if err != nil {
		return false, t.classify(ctx, fmt.Errorf("ldap: read group %s: %w", dn, err))
	}
	return len(res.Entries) > 0, nil
}

// parseTime reads a generalized time (20240131120000Z, 20240131120000.0Z) or
// an AD FILETIME (100 ns intervals since 1601-01-01 UTC; 0 and the maximum
// int64 mean never). An empty value is the zero time.
func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return fromFiletime(n), nil
	}
	for _, layout := range []string{"20060102150405Z0700", "20060102150405.999999999Z0700", "200601021504Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a generalized time nor a FILETIME", v)
}

// filetimeEpoch is 1601-01-01 in Unix seconds.
const filetimeEpoch = -11644473600

func fromFiletime(n int64) time.Time {
	if n <= 0 || n == 1<<63-1 {
		return time.Time{}
	}
	return time.Unix(filetimeEpoch+n/1e7, (n%1e7)*100).UTC()
}

func toFiletime(t time.Time) int64 {
	return (t.Unix()-filetimeEpoch)*1e7 + int64(t.Nanosecond()/100)
}

// formatGUID renders AD's objectGUID bytes as the standard GUID string (the
// first three groups are little-endian).
func formatGUID(b []byte) string {
	const hexDigits = "0123456789abcdef"
	var out [36]byte
	i := 0
	for n, j := range [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15} {
		if n == 4 || n == 6 || n == 8 || n == 10 {
			out[i] = '-'
			i++
		}
		out[i], out[i+1] = hexDigits[b[j]>>4], hexDigits[b[j]&0xf]
		i += 2
	}
	return string(out[:])
}

// parseGUID is formatGUID's inverse; it also accepts 32 hex digits in wire
// order.
func parseGUID(s string) ([]byte, bool) {
	if len(s) == 32 {
		return parseHex(s)
	}
	u, ok := parseUUID(s)
	if !ok {
		return nil, false
	}
	return []byte{u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6],
		u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]}, true
}

// parseUUID reads 8-4-4-4-12 hex digits into 16 bytes in text order.
func parseUUID(s string) ([]byte, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	return parseHex(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
}

func parseHex(s string) ([]byte, bool) {
	if len(s) != 32 {
		return nil, false
	}
	out := make([]byte, 16)
	for i := range out {
		n, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, false
		}
		out[i] = byte(n)
	}
	return out, true
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.Getter       = (*Target)(nil)
	_ targets.Disabler     = (*Target)(nil)
	_ targets.GroupRemover = (*Target)(nil)
	_ targets.Configurable = (*Target)(nil)
)
