package evidence

import (
	"fmt"
	"io"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/present"
)

// Print says, for people, what the pack holds: the period [start, end),
// its runs, and each file with its SHA-256.
func (p *Pack) Print(stdout io.Writer, start, end time.Time) {
	fmt.Fprintf(stdout, "evidence pack %s: %d runs from %s to %s (end excluded)\n", present.Shown(p.Path), p.Runs, start.Format(time.RFC3339), end.Format(time.RFC3339))
	if p.RunsWithoutConfigHash > 0 {
		fmt.Fprintf(stdout, "  %d run(s) were made before accessrecon recorded the configuration's SHA-256: runs.csv says so\n", p.RunsWithoutConfigHash)
	}
	if !p.AuditIntact {
		fmt.Fprintln(stdout, "  AUDIT TRAIL NOT INTACT: see audit/verification.json")
	}
	fmt.Fprintf(stdout, "%s (SHA-256 %s):\n", ManifestName, p.ManifestSHA256)
	for _, f := range p.Files {
		fmt.Fprintf(stdout, "%s  %s\n", f.SHA256, present.Shown(f.Name))
	}
}
