package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
)

// withStoreExemptions is the config's exemptions followed by those added
// and approved from the command line (accessrecon exempt add/approve): the
// engine applies both alike, the approver carried into the audit trail.
func withStoreExemptions(ctx context.Context, st storefile.Store, config []reconcile.Exemption) ([]reconcile.Exemption, error) {
	approved, err := st.ApprovedExemptions(ctx)
	if err != nil || len(approved) == 0 {
		return config, err
	}
	out := slices.Clone(config)
	for _, e := range approved {
		out = append(out, reconcile.Exemption{Target: e.Target, AccountID: e.AccountID, Owner: e.Owner, Reason: e.Reason,
			Approver: e.ApprovedBy, Expires: reconcile.Date{Time: e.Expires}})
	}
	return out, nil
}

// canaryExemptions exempts the drill canaries' accounts (drills.canaries)
// from every run but a drill's: a canary's employee ID is in no HR file, so
// without them each canary account would be an orphan, a standing ticket,
// every night. Each is an exemption like any other (the Exemptions sheet
// and the audit trail show it, owned by drills.canaries), resolved like
// every account reference, but a canary account that is not there is a
// warning naming drills.canaries[i].accounts.TARGET, not a stop: a missing
// test identity must not keep real leavers' access (the drill itself
// refuses it). One that names several accounts stops the run.
func canaryExemptions(cfg *config.Config, asOf time.Time) []reconcile.Exemption {
	var out []reconcile.Exemption
	for i, c := range cfg.Drills.Canaries {
		for _, target := range slices.Sorted(maps.Keys(c.Accounts)) {
			out = append(out, reconcile.Exemption{Target: target, AccountID: c.Accounts[target], Owner: "drills.canaries",
				Reason:   "drill canary " + c.EmployeeID + ": a test identity exercised by accessrecon drill, left alone by every other run",
				Approver: "the configuration (drills.canaries)", Expires: reconcile.Date{Time: asOf.AddDate(1, 0, 0)},
				Key: fmt.Sprintf("drills.canaries[%d].accounts.%s", i, target), IfPresent: true})
		}
	}
	return out
}
