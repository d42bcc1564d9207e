package xlsx

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// AccountResolver finds the account a config reference (ID, username or
// email) names among the accounts a run collected from a target: n is how
// many matched, collected whether the run stored any account of the
// target. *store.Store implements it.
type AccountResolver interface {
	ResolveAccount(ctx context.Context, runID int64, target, ref string) (a targets.Account, n int, collected bool, err error)
}

// RunStore is what a run's workbook reads from the store beyond the
// Result: whether approved and exempted accounts still exist (Approvals)
// and HR webhook receipts (the Leavers clock). *store.Store implements it.
type RunStore interface {
	AccountResolver
	HREvents
}

// stillUsed says whether an approval or exemption is still used: the
// account still exists (and, for a privileged approval, is still
// privileged) in what run runID collected.
// a is the account when the reference names one.
func stillUsed(ctx context.Context, r AccountResolver, runID int64, target, ref string, privileged bool) (string, targets.Account, error) {
	if r == nil || runID == 0 {
		return "unknown (no run's accounts to check)", targets.Account{}, nil
	}
	a, n, collected, err := r.ResolveAccount(ctx, runID, target, ref)
	text, err := usedText(a, n, collected, err, runID, target, privileged)
	return text, a, err
}

func usedText(a targets.Account, n int, collected bool, err error, runID int64, target string, privileged bool) (string, error) {
	switch {
	case err != nil:
		return "", err
	case !collected:
		return fmt.Sprintf("unknown (run %d collected no account of %s)", runID, target), nil
	case n == 0:
		return "No: the account no longer exists", nil
	case n > 1:
		return "unknown: the reference matches several accounts", nil
	case privileged && !a.Privileged:
		return "No: the account is no longer privileged", nil
	case !a.Enabled:
		return "Yes: the account exists (disabled)", nil
	case privileged:
		return "Yes: exists and privileged", nil
	}
	return "Yes: the account exists", nil
}

// approvalsSheet writes the Approvals sheet: the policy's privileged
// approvals and the exemptions, with approver, reason, expiry and whether
// each is still used, checked against run runID's accounts.
func (w *writer) approvalsSheet(ctx context.Context, sheet string, approvals []reconcile.Approval, exemptions []reconcile.Exemption,
	r AccountResolver, runID int64, now time.Time) error {
	cols := []column{{"Type", 11}, {"Target", 12}, {"Account", 20}, {"Username", 14}, {"Display name", 18}, {"Approver", 14}, {"Owner", 14},
		{"Reason", 26}, {"Expires", 11}, {"Status", 9}, {"Still used (run " + fmt.Sprint(runID) + ")", 22}}
	cells := make([]any, len(cols))
	return w.table(sheet, cols, len(approvals)+len(exemptions), func(emit func([]any) error) error {
		for _, a := range approvals {
			used, acct, err := stillUsed(ctx, r, runID, a.Target, a.AccountID, true)
			if err != nil {
				return err
			}
			n := w.knownName(a.Target, a.AccountID, acct)
			cells = append(cells[:0], "privileged", a.Target, a.AccountID, n.username, n.display, a.Approver, "", a.Reason,
				nil, "active", used)
			if err := emit(cells); err != nil {
				return err
			}
		}
		for _, e := range exemptions {
			used, acct, err := stillUsed(ctx, r, runID, e.Target, e.AccountID, false)
			if err != nil {
				return err
			}
			status := "active"
			if e.Expired(now) {
				status = "EXPIRED"
			}
			n := w.knownName(e.Target, e.AccountID, acct)
			cells = append(cells[:0], "exemption", e.Target, e.AccountID, n.username, n.display, e.Approver, e.Owner, e.Reason,
				dateCell(e.Expires.Time, w.date), status, used)
			if err := emit(cells); err != nil {
				return err
			}
		}
		return nil
	})
}

// knownName is an account's username and display name: from the run's
// findings, else from the account the reference resolved to.
func (w *writer) knownName(target, ref string, a targets.Account) accountName {
	n := w.name(target, ref)
	return accountName{cmp.Or(n.username, a.Username), cmp.Or(n.display, a.DisplayName)}
}
