package trail

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/store"
)

// Export writes the trail's records at or after from to w, as JSON lines
// or (format "cef") ArcSight Common Event Format.
func Export(ctx context.Context, tr *store.AuditTrail, from time.Time, format string, w io.Writer) error {
	bw := bufio.NewWriter(w)
	err := tr.Records(ctx, 0, func(r store.AuditRecord) error {
		if r.At.Before(from) {
			return nil
		}
		if format == "cef" {
			_, err := fmt.Fprintln(bw, cefLine(r))
			return err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(bw, "%s\n", b)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// cefLine renders an audit record in ArcSight Common Event Format.
func cefLine(r store.AuditRecord) string {
	esc := strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`)
	hdr := strings.NewReplacer(`\`, `\\`, `|`, `\|`)
	sev := "3"
	switch r.Type {
	case "action_requested", "target_response", "verification", "hold_applied", "hold_added", "hold_removed",
		"hold_requested", "hold_approved", "exemption_requested", "exemption_approved", "exemption_removed", "manual_step_acknowledged":
		sev = "6"
	case "self_approval_refused": // an attempt to bypass segregation of duties
		sev = "8"
	}
	return fmt.Sprintf("CEF:0|accessrecon|accessrecon|1|%s|%s|%s|rt=%d suser=%s cs1Label=target cs1=%s cn1Label=run cn1=%d cs2Label=hash cs2=%s msg=%s",
		hdr.Replace(r.Type), hdr.Replace(r.Type), sev, r.At.UnixMilli(), esc.Replace(r.Actor), esc.Replace(r.Target), r.RunID, r.Hash, esc.Replace(string(r.Detail)))
}
