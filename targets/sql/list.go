package sqltarget

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/accessrecon/accessrecon/targets"
)

// cursor is one of the three ordered streams of a listing.
type cursor struct {
	key  string // which query, for messages
	rows *sql.Rows
	row  *scanRow

	has  bool   // a current row is loaded
	id   string // its account_id
	prev string // the previous row's account_id
	n    int    // rows read
}

// open runs query (already wrapped) and checks its columns.
func (t *Target) open(ctx context.Context, key, query string, known, required []string, args ...any) (*cursor, error) {
	rows, err := t.db.QueryContext(ctx, query, args...)
	if err != nil {
		// A missing account_id makes the wrapper's ORDER BY or WHERE fail
		// with the database's own words; say which column is missing.
		if perr := t.probe(ctx, key, known, required); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("%s: %w", key, classify(err))
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, fmt.Errorf("%s: %w", key, classify(err))
	}
	idx, err := columns(key, cols, known, required)
	if err != nil {
		rows.Close()
		return nil, err
	}
	return &cursor{key: key, rows: rows, row: newScanRow(idx, len(cols))}, nil
}

// probe runs the configured query returning no rows, to check its columns.
// It returns nil when the columns are right or the query fails as such.
func (t *Target) probe(ctx context.Context, key string, known, required []string) error {
	q := map[string]string{"accounts_query": t.accountsQuery, "groups_query": t.groupsQuery, "credentials_query": t.credentialsQuery}[key]
	rows, err := t.db.QueryContext(ctx, "SELECT * FROM ("+q+") AS p WHERE 1 = 0")
	if err != nil {
		return nil
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil
	}
	_, err = columns(key, cols, known, required)
	return err
}

// next loads the next row; c.has is false at the end. It checks that the
// rows come in byte-wise account_id order, which the merge join relies on.
func (c *cursor) next(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.rows.Next() {
		c.has = false
		if err := c.rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", c.key, classify(err))
		}
		return nil
	}
	if err := c.rows.Scan(c.row.ptrs...); err != nil {
		return fmt.Errorf("%s: row %d: %w", c.key, c.n+1, classify(err))
	}
	c.n++
	c.has = true
	c.prev, c.id = c.id, c.row.str("account_id")
	if c.n > 1 && c.id < c.prev {
		return fmt.Errorf("%s: rows are not in byte-wise account_id order (%q after %q): the database's ORDER BY collation differs from the one this connector merges by", c.key, c.id, c.prev)
	}
	return nil
}

func (c *cursor) close() {
	if c != nil {
		c.rows.Close()
	}
}

// Accounts streams the accounts. The accounts, groups and credentials
// queries are each wrapped as SELECT * FROM (<query>) ORDER BY account_id and
// merge-joined, so memory does not grow with the table. Groups and
// credentials of accounts the accounts query does not list are skipped (and
// counted in a log line).
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		if err := t.list(ctx, yield); err != nil {
			yield(targets.Account{}, fmt.Errorf("sql: %w", err))
		}
	}
}

func (t *Target) list(ctx context.Context, yield func(targets.Account, error) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	order := " ORDER BY " + t.dialect.orderKey
	acc, err := t.open(ctx, "accounts_query", "SELECT * FROM ("+t.accountsQuery+") AS q"+order, accountColumns, []string{"account_id", "enabled"})
	if err != nil {
		return err
	}
	defer acc.close()
	loginTracked := acc.row.has("last_login")

	var grp, crd *cursor
	if t.groupsQuery != "" {
		if grp, err = t.open(ctx, "groups_query", "SELECT * FROM ("+t.groupsQuery+") AS g"+order, groupColumns, groupColumns); err != nil {
			return err
		}
		defer grp.close()
		if err := grp.next(ctx); err != nil {
			return err
		}
	}
	if t.credentialsQuery != "" {
		if crd, err = t.open(ctx, "credentials_query", "SELECT * FROM ("+t.credentialsQuery+") AS c"+order, credentialColumns, []string{"account_id", "credential_id", "active"}); err != nil {
			return err
		}
		defer crd.close()
		if err := crd.next(ctx); err != nil {
			return err
		}
	}

	var orphanGroups, orphanCreds int
	for {
		if err := acc.next(ctx); err != nil {
			return err
		}
		if !acc.has {
			break
		}
		a, err := acc.row.account(loginTracked)
		if err != nil {
			return fmt.Errorf("accounts_query: row %d (account %q): %w", acc.n, acc.id, err)
		}
		if acc.n > 1 && a.ID == acc.prev {
			return fmt.Errorf("accounts_query: duplicate account_id %q", a.ID)
		}
		if grp != nil {
			skipped, err := joinGroups(ctx, grp, &a)
			orphanGroups += skipped
			if err != nil {
				return err
			}
		}
		if crd != nil {
			skipped, err := joinCredentials(ctx, crd, &a)
			orphanCreds += skipped
			if err != nil {
				return err
			}
		}
		if !yield(a, nil) {
			return nil
		}
	}
	// What is left belongs to accounts after the last one.
	for grp != nil && grp.has {
		orphanGroups++
		if err := grp.next(ctx); err != nil {
			return err
		}
	}
	for crd != nil && crd.has {
		orphanCreds++
		if err := crd.next(ctx); err != nil {
			return err
		}
	}
	if orphanGroups > 0 || orphanCreds > 0 {
		t.log.Info("rows for accounts the accounts query does not list were skipped",
			"group_rows", orphanGroups, "credential_rows", orphanCreds)
	}
	t.log.Debug("listed accounts", "accounts", acc.n)
	return nil
}

// joinGroups advances the groups cursor (ordered like the accounts) past
// the rows of accounts before a, counting them, and adds the rows of a to
// its groups.
func joinGroups(ctx context.Context, grp *cursor, a *targets.Account) (skipped int, err error) {
	for grp.has && grp.id < a.ID {
		skipped++
		if err := grp.next(ctx); err != nil {
			return skipped, err
		}
	}
	for grp.has && grp.id == a.ID {
		if g := grp.row.str("group_name"); g != "" {
			a.Groups = append(a.Groups, targets.Group{ID: g, Name: g})
		}
		if err := grp.next(ctx); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}

// joinCredentials advances the credentials cursor (ordered like the
// accounts) past the rows of accounts before a, counting them, and adds the
// rows of a to its credentials.
func joinCredentials(ctx context.Context, crd *cursor, a *targets.Account) (skipped int, err error) {
	for crd.has && crd.id < a.ID {
		skipped++
		if err := crd.next(ctx); err != nil {
			return skipped, err
		}
	}
	for crd.has && crd.id == a.ID {
		c, err := crd.row.credential()
		if err != nil {
			return skipped, fmt.Errorf("credentials_query: row %d (account %q): %w", crd.n, a.ID, err)
		}
		a.Credentials = append(a.Credentials, c)
		if err := crd.next(ctx); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}
