package ldap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/accessrecon/accessrecon/targets"
)

// Enable undoes Disable (drill canaries only: the wiring in cmd refuses
// any other account): AD clears ACCOUNTDISABLE in userAccountControl,
// OpenLDAP deletes pwdAccountLockedTime, a generic directory deletes the
// configured disable attribute's value. Already enabled is success.
func (t *Target) Enable(ctx context.Context, a targets.Account) error {
	if t.s.Flavor == FlavorGeneric && t.s.Disable.Attribute == "" {
		return errors.New("ldap: enable: no disable: attribute configured for this generic directory")
	}
	conn, done, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer done()
	switch t.s.Flavor {
	case FlavorAD:
		e, err := t.lookup(ctx, conn, a.ID, []string{"userAccountControl"})
		if err != nil {
			return err
		}
		uac, err := parseUAC(e)
		if err != nil {
			return err
		}
		if uac&uacAccountDisable == 0 {
			return nil
		}
		m := goldap.NewModifyRequest(e.DN, nil)
		m.Delete("userAccountControl", []string{strconv.FormatInt(uac, 10)})
		m.Add("userAccountControl", []string{strconv.FormatInt(uac&^uacAccountDisable, 10)})
		if err := conn.Modify(m); err != nil {
			return t.classify(ctx, fmt.Errorf("ldap: enable %s: %w", e.DN, err))
		}
		return nil
	case FlavorOpenLDAP:
		return t.clear(ctx, conn, a.ID, "pwdAccountLockedTime")
	default:
		return t.clear(ctx, conn, a.ID, t.s.Disable.Attribute)
	}
}

// clear deletes every value of attr on the account's entry (idempotent).
func (t *Target) clear(ctx context.Context, conn *goldap.Conn, id, attr string) error {
	e, err := t.lookup(ctx, conn, id, []string{attr})
	if err != nil {
		return err
	}
	if len(e.GetEqualFoldAttributeValues(attr)) == 0 {
		return nil
	}
	m := goldap.NewModifyRequest(e.DN, nil)
	m.Delete(attr, nil)
	if err := conn.Modify(m); err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchAttribute) {
		return t.classify(ctx, fmt.Errorf("ldap: enable %s (delete %s): %w", e.DN, attr, err))
	}
	t.log.InfoContext(ctx, "ldap: enabled", "dn", e.DN, "attribute", attr)
	return nil
}

// AddToGroup adds the account's DN to the group whose DN is g.ID (drill
// canaries only): uniqueMember for a groupOfUniqueNames, member otherwise.
// Already a member is success.
func (t *Target) AddToGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	group := g.ID
	if _, err := goldap.ParseDN(group); err != nil {
		return fmt.Errorf("ldap: add to group %q: not a DN (groups are named by DN): %w", group, targets.ErrNotFound)
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
	res, err := conn.Search(goldap.NewSearchRequest(group, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"objectClass"}, nil))
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) || (err == nil && len(res.Entries) == 0) {
		return fmt.Errorf("ldap: group %s: %w", group, targets.ErrNotFound)
	}
	if err != nil {
		return t.classify(ctx, fmt.Errorf("ldap: read group %s: %w", group, err))
	}
	attr := "member"
	for _, oc := range res.Entries[0].GetAttributeValues("objectClass") {
		if strings.EqualFold(oc, "groupOfUniqueNames") {
			attr = "uniqueMember"
		}
	}
	in, err := t.hasValue(ctx, conn, group, attr, e.DN)
	if err != nil || in {
		return err
	}
	m := goldap.NewModifyRequest(group, nil)
	m.Add(attr, []string{e.DN})
	if err := conn.Modify(m); err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultAttributeOrValueExists) {
		return t.classify(ctx, fmt.Errorf("ldap: add %s to %s: %w", e.DN, group, err))
	}
	t.log.InfoContext(ctx, "ldap: added to group", "dn", e.DN, "group", group)
	return nil
}

var (
	_ targets.Enabler    = (*Target)(nil)
	_ targets.GroupAdder = (*Target)(nil)
)
