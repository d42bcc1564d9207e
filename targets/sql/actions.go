package sqltarget

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"

	"github.com/accessrecon/accessrecon/targets"
)

// Account re-reads one account (with its groups and credentials) by running
// each configured query wrapped as SELECT * FROM (<query>) WHERE
// account_id = ?. An unknown ID returns an error wrapping ErrNotFound.
//
// When the database rejects the ID as no valid value of account_id's type
// (PostgreSQL: a text ID against an integer column, SQLSTATE class 22), the
// queries are re-run comparing CAST(account_id AS TEXT), the same text the
// listing orders by and returns, so such an ID is simply not found.
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	a, err := t.get(ctx, id)
	if err != nil {
		return targets.Account{}, fmt.Errorf("sql: get %s: %w", id, err)
	}
	return a, nil
}

func (t *Target) get(ctx context.Context, id string) (targets.Account, error) {
	where := " WHERE account_id = " + t.dialect.placeholder(1)
	arg := t.dialect.arg(1, id)
	acc, err := t.open(ctx, "accounts_query", "SELECT * FROM ("+t.accountsQuery+") AS q"+where, accountColumns, []string{"account_id", "enabled"}, arg)
	if err != nil && invalidValue(err) {
		where = " WHERE CAST(account_id AS TEXT) = " + t.dialect.placeholder(1)
		acc, err = t.open(ctx, "accounts_query", "SELECT * FROM ("+t.accountsQuery+") AS q"+where, accountColumns, []string{"account_id", "enabled"}, arg)
	}
	if err != nil {
		return targets.Account{}, err
	}
	defer acc.close()
	if err := acc.next(ctx); err != nil {
		return targets.Account{}, err
	}
	if !acc.has {
		return targets.Account{}, fmt.Errorf("no such account: %w", targets.ErrNotFound)
	}
	a, err := acc.row.account(acc.row.has("last_login"))
	if err != nil {
		return targets.Account{}, fmt.Errorf("accounts_query: %w", err)
	}
	if err := acc.next(ctx); err != nil {
		return targets.Account{}, err
	}
	if acc.has {
		return targets.Account{}, fmt.Errorf("accounts_query: more than one row has account_id %q", id)
	}
	acc.close()
	if t.groupsQuery != "" {
		g, err := t.open(ctx, "groups_query", "SELECT * FROM ("+t.groupsQuery+") AS g"+where, groupColumns, groupColumns, arg)
		if err != nil {
			return targets.Account{}, err
		}
		defer g.close()
		for {
			if err := g.next(ctx); err != nil {
				return targets.Account{}, err
			}
			if !g.has {
				break
			}
			if name := g.row.str("group_name"); name != "" {
				a.Groups = append(a.Groups, targets.Group{ID: name, Name: name})
			}
		}
		g.close()
	}
	if t.credentialsQuery != "" {
		c, err := t.open(ctx, "credentials_query", "SELECT * FROM ("+t.credentialsQuery+") AS c"+where, credentialColumns, []string{"account_id", "credential_id", "active"}, arg)
		if err != nil {
			return targets.Account{}, err
		}
		defer c.close()
		for {
			if err := c.next(ctx); err != nil {
				return targets.Account{}, err
			}
			if !c.has {
				break
			}
			cr, err := c.row.credential()
			if err != nil {
				return targets.Account{}, fmt.Errorf("credentials_query: %w", err)
			}
			a.Credentials = append(a.Credentials, cr)
		}
	}
	return a, nil
}

// exec runs st and returns the rows it affected (-1 when the driver cannot
// say). When maxRows > 0 it runs in a transaction that is rolled back if the
// statement affected more rows than that: a disable statement that matches
// many accounts is a configuration error, not something to commit.
func (t *Target) exec(ctx context.Context, key string, st *statement, values map[string]string, maxRows int64) (int64, error) {
	args := st.args(t.dialect, values)
	if maxRows <= 0 {
		res, err := t.db.ExecContext(ctx, st.query, args...)
		if err != nil {
			return 0, classify(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return -1, nil
		}
		return n, nil
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify(err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	res, err := tx.ExecContext(ctx, st.query, args...)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		n = -1
	}
	if n > maxRows {
		return n, fmt.Errorf("%s affected %d rows, more than %d: rolled back (make the statement match one account's row)", key, n, maxRows)
	}
	if err := tx.Commit(); err != nil {
		return 0, classify(err)
	}
	return n, nil
}

// Disable runs disable_statement. When it changes no row, the account is
// re-read: missing is ErrNotFound, already disabled is success.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	if err := t.disableAccount(ctx, a); err != nil {
		return fmt.Errorf("sql: disable %s: %w", a.ID, err)
	}
	return nil
}

func (t *Target) disableAccount(ctx context.Context, a targets.Account) error {
	if a.ID == "" {
		return errors.New("empty account ID")
	}
	n, err := t.exec(ctx, "disable_statement", t.disable, map[string]string{"account_id": a.ID}, 1)
	if err != nil || n > 0 {
		return t.missingIfInvalid(ctx, a.ID, err)
	}
	cur, err := t.get(ctx, a.ID)
	if err != nil {
		return err
	}
	if cur.Enabled {
		return errors.New("disable_statement changed no row and the account is still enabled")
	}
	return nil
}

// RemoveFromGroup runs remove_group_statement. When it changes no row, the
// account is re-read: missing is ErrNotFound, no longer in the group is
// success.
// An SQL target names groups by name only: g.ID is the group_name.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	group := g.ID
	if err := t.removeFromGroup(ctx, a, group); err != nil {
		return fmt.Errorf("sql: remove %s from group %s: %w", a.ID, group, err)
	}
	return nil
}

func (t *Target) removeFromGroup(ctx context.Context, a targets.Account, group string) error {
	if t.removeGroup == nil {
		return errors.New("remove_group_statement is not configured")
	}
	if a.ID == "" || group == "" {
		return errors.New("empty account ID or group")
	}
	n, err := t.exec(ctx, "remove_group_statement", t.removeGroup, map[string]string{"account_id": a.ID, "group": group}, 0)
	if err != nil || n > 0 {
		return t.missingIfInvalid(ctx, a.ID, err)
	}
	cur, err := t.get(ctx, a.ID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(cur.Groups, func(g targets.Group) bool { return g.ID == group }) {
		return errors.New("remove_group_statement changed no row and the account is still in the group")
	}
	return nil
}

// RevokeSessions runs revoke_sessions_statement. When it changes no row, the
// account is re-read: missing is ErrNotFound, present means it had no
// sessions left.
func (t *Target) RevokeSessions(ctx context.Context, a targets.Account) error {
	if err := t.revokeSessionsOf(ctx, a); err != nil {
		return fmt.Errorf("sql: revoke sessions of %s: %w", a.ID, err)
	}
	return nil
}

func (t *Target) revokeSessionsOf(ctx context.Context, a targets.Account) error {
	if t.revokeSessions == nil {
		return errors.New("revoke_sessions_statement is not configured")
	}
	if a.ID == "" {
		return errors.New("empty account ID")
	}
	n, err := t.exec(ctx, "revoke_sessions_statement", t.revokeSessions, map[string]string{"account_id": a.ID}, 0)
	if err != nil || n > 0 {
		return t.missingIfInvalid(ctx, a.ID, err)
	}
	_, err = t.get(ctx, a.ID)
	return err
}

// RevokeCredential runs revoke_credential_statement. When it changes no row,
// the account is re-read: a missing account or credential is ErrNotFound, an
// inactive credential is success.
func (t *Target) RevokeCredential(ctx context.Context, a targets.Account, c targets.Credential) error {
	if err := t.revokeCredentialOf(ctx, a, c); err != nil {
		return fmt.Errorf("sql: revoke credential %s of %s: %w", c.ID, a.ID, err)
	}
	return nil
}

func (t *Target) revokeCredentialOf(ctx context.Context, a targets.Account, c targets.Credential) error {
	if t.revokeCredential == nil {
		return errors.New("revoke_credential_statement is not configured")
	}
	if a.ID == "" || c.ID == "" {
		return errors.New("empty account or credential ID")
	}
	n, err := t.exec(ctx, "revoke_credential_statement", t.revokeCredential, map[string]string{"account_id": a.ID, "credential_id": c.ID}, 1)
	if err != nil && invalidValue(err) {
		// An ID the column's type rejects: not found if the account or
		// the credential is missing, else the database's error.
		cur, gerr := t.get(ctx, a.ID)
		if gerr != nil {
			if errors.Is(gerr, targets.ErrNotFound) {
				return gerr
			}
			return err
		}
		if !slices.ContainsFunc(cur.Credentials, func(cr targets.Credential) bool { return cr.ID == c.ID }) {
			return fmt.Errorf("credential: %w", targets.ErrNotFound)
		}
		return err
	}
	if err != nil || n > 0 {
		return err
	}
	cur, err := t.get(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, cr := range cur.Credentials {
		if cr.ID == c.ID {
			if cr.Active {
				return errors.New("revoke_credential_statement changed no row and the credential is still active")
			}
			return nil
		}
	}
	return fmt.Errorf("credential: %w", targets.ErrNotFound)
}

// missingIfInvalid returns err, unless the database rejected id as no valid
// value of the column's type (see invalidValue) and the account does not
// exist: then the error wraps ErrNotFound.
func (t *Target) missingIfInvalid(ctx context.Context, id string, err error) error {
	if err == nil || !invalidValue(err) {
		return err
	}
	if _, gerr := t.get(ctx, id); errors.Is(gerr, targets.ErrNotFound) {
		return gerr
	}
	return err
}

// invalidValue reports whether err is a PostgreSQL data exception (SQLSTATE
// class 22: invalid text representation, out of range, ...), as when a text
// account ID is compared with an integer or uuid column.
func invalidValue(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22")
}

// classify marks database errors worth retrying as transient and refusals
// as ErrPermission. Context errors pass through unchanged.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return targets.Transient(err, 0)
		case sqlite3.ErrPerm, sqlite3.ErrReadonly, sqlite3.ErrAuth:
			return fmt.Errorf("%w: %w", err, targets.ErrPermission)
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			pe.Code == "55P03",                                         // lock not available
			pe.Code == "53300",                                         // too many connections
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutdown, cannot connect now
			return targets.Transient(err, 0)
		case pe.Code == "42501", // insufficient privilege
			pe.Code == "25006",               // read-only transaction
			strings.HasPrefix(pe.Code, "28"): // invalid authorization
			return fmt.Errorf("%w: %w", err, targets.ErrPermission)
		}
		return err
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return targets.Transient(err, 0)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return targets.Transient(err, 0)
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"database is locked", "database table is locked", "database is busy",
		"connection refused", "connection reset", "broken pipe", "bad connection",
		"too many connections", "sqlstate 08", "sqlstate 40001", "sqlstate 40p01",
		"sqlstate 57p01", "sqlstate 57p03", "sqlstate 53300", "deadlock detected",
		"the database system is starting up", "the database system is shutting down",
	} {
		if strings.Contains(msg, s) {
			return targets.Transient(err, 0)
		}
	}
	for _, s := range []string{"permission denied", "access denied", "sqlstate 42501", "readonly database", "read-only"} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%w: %w", err, targets.ErrPermission)
		}
	}
	return err
}

// Enable runs enable_statement (drill canaries only: the wiring in cmd
// refuses any other account). When it changes no row, the account is
// re-read: missing is ErrNotFound, enabled is success.
func (t *Target) Enable(ctx context.Context, a targets.Account) error {
	if t.enable == nil {
		return errors.New("sql: enable: enable_statement is not configured")
	}
	if a.ID == "" {
		return errors.New("sql: enable: empty account ID")
	}
	n, err := t.exec(ctx, "enable_statement", t.enable, map[string]string{"account_id": a.ID}, 1)
	if err != nil || n > 0 {
		if err = t.missingIfInvalid(ctx, a.ID, err); err != nil {
			return fmt.Errorf("sql: enable %s: %w", a.ID, err)
		}
		return nil
	}
	cur, err := t.get(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("sql: enable %s: %w", a.ID, err)
	}
	if !cur.Enabled {
		return fmt.Errorf("sql: enable %s: enable_statement changed no row and the account is still disabled", a.ID)
	}
	return nil
}

// AddToGroup runs add_group_statement (drill canaries only). When it
// changes no row, the account is re-read: already in the group is success.
func (t *Target) AddToGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	if t.addGroup == nil {
		return errors.New("sql: add to group: add_group_statement is not configured")
	}
	if a.ID == "" || g.ID == "" {
		return errors.New("sql: add to group: empty account ID or group")
	}
	n, err := t.exec(ctx, "add_group_statement", t.addGroup, map[string]string{"account_id": a.ID, "group": g.ID}, 0)
	if err != nil || n > 0 {
		if err = t.missingIfInvalid(ctx, a.ID, err); err != nil {
			return fmt.Errorf("sql: add %s to group %s: %w", a.ID, g.ID, err)
		}
		return nil
	}
	cur, err := t.get(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("sql: add %s to group %s: %w", a.ID, g.ID, err)
	}
	if !slices.ContainsFunc(cur.Groups, func(x targets.Group) bool { return x.ID == g.ID }) {
		return fmt.Errorf("sql: add %s to group %s: add_group_statement changed no row and the account is not in the group", a.ID, g.ID)
	}
	return nil
}

var (
	_ targets.Enabler    = (*Target)(nil)
	_ targets.GroupAdder = (*Target)(nil)
)
