package runner

import (
	"context"
	"slices"

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
