// Package evidence is `accessrecon evidence`: the pack a compliance officer
// hands an auditor for a period. One zip holding the period workbook, the
// run workbooks found for the period, the audit trail's records of the
// period with the verification of the whole chain, the SLA summary (share
// within SLA per tier and kind), the drills, the exemptions and holds with
// their approvers, the runs with the SHA-256 of the configuration each was
// made with, and MANIFEST.sha256 over every other file.
package evidence

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/sla"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/trail"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/xlsx"
)

// ManifestName is the pack's list of SHA-256 sums (sha256sum -c reads it).
const ManifestName = "MANIFEST.sha256"

// Pack is what was written.
type Pack struct {
	Path  string
	Files []File
	// ManifestSHA256 is the sum of MANIFEST.sha256 itself.
	ManifestSHA256 string
	// AuditIntact says whether the audit trail verified.
	AuditIntact bool
	Runs        int
	// RunsWithoutConfigHash counts the period's runs recorded before the
	// configuration's hash was kept.
	RunsWithoutConfigHash int
}

// File is one file of the pack.
type File struct {
	Name   string
	SHA256 string
	Size   int
}

// NoConfigHash is what the runs listing says of a run recorded before the
// configuration's hash was kept.
const NoConfigHash = "none recorded (run made before accessrecon kept it)"

// Write builds the pack of the runs started in [from, to) into out.
func Write(ctx context.Context, cfg *config.Config, st storefile.Store, from, to time.Time, out string, log *slog.Logger) (*Pack, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("evidence: --from %s is not before --to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tmp, err := os.MkdirTemp("", "accessrecon-evidence-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	p := &packWriter{Pack: &Pack{Path: out}}

	runs, err := st.RunsBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	p.Runs = len(runs)
	drills, err := st.Drills(ctx, from, to)
	if err != nil {
		return nil, err
	}
	drillRuns := map[int64]bool{}
	for _, d := range drills {
		drillRuns[d.RunID] = true
	}
	check, err := p.addAudit(ctx, trail.Open(cfg, st, log), from, to)
	if err != nil {
		return nil, err
	}
	books, err := p.addWorkbooks(ctx, cfg, st, tmp, from, to, runs, check)
	if err != nil {
		return nil, err
	}
	if err := p.addRuns(ctx, st, runs, drillRuns); err != nil {
		return nil, err
	}
	// The SLA summary: revocations of the period's runs (drills excluded:
	// they have a file of their own), per tier and kind.
	p.add("sla-summary.json", mustJSON(slaSummary(ctx, cfg, st, runs, drillRuns)))
	p.add("drills.json", mustJSON(drills))
	if err := p.addExemptionsAndHolds(ctx, cfg, st, from, to); err != nil {
		return nil, err
	}
	p.add("README.txt", []byte(readme(cfg, from, to, p.Pack, len(books))))
	if err := p.seal(out); err != nil {
		return nil, err
	}
	return p.Pack, nil
}

// packFile is one file of the pack being written.
type packFile = struct {
	name string
	body []byte
}

// packWriter is a pack being written: its files, in the pack's order, and
// what it says.
type packWriter struct {
	*Pack
	files []packFile
}

func (p *packWriter) add(name string, body []byte) {
	p.files = append(p.files, packFile{name, body})
}

// addAudit adds the audit trail: verified whole, its records of the period
// exported. The check is returned for the period workbook.
func (p *packWriter) addAudit(ctx context.Context, tr *store.AuditTrail, from, to time.Time) (*xlsx.AuditCheck, error) {
	check := &xlsx.AuditCheck{At: time.Now().UTC()}
	check.Result, check.Err = tr.Verify(ctx)
	p.AuditIntact = check.Err == nil
	verification := map[string]any{"checked_at": check.At, "intact": p.AuditIntact, "store_records": check.Result.StoreRecords,
		"file_records": check.Result.FileRecords, "last_hash": check.Result.LastHash}
	if tr.Path() != "" { // none: a PostgreSQL store's trail has no file
		verification["trail_file"] = filepath.Base(tr.Path())
	}
	if check.Err != nil {
		verification["error"] = check.Err.Error()
	}
	var export bytes.Buffer
	n := 0
	err := tr.Records(ctx, 0, func(r store.AuditRecord) error {
		if r.At.Before(from) || !r.At.Before(to) {
			return nil
		}
		n++
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		export.Write(b)
		export.WriteByte('\n')
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evidence: audit export: %w", err)
	}
	verification["period_records"] = n
	verification["note"] = "the chain is verified whole (store and file); audit-export.jsonl holds the records of the period, each with its hash and the previous record's"
	p.add("audit/audit-export.jsonl", export.Bytes())
	p.add("audit/verification.json", mustJSON(verification))
	return check, nil
}

// addWorkbooks adds the period workbook (written in tmp), then the run
// workbooks found for the period's runs, whose paths it returns.
func (p *packWriter) addWorkbooks(ctx context.Context, cfg *config.Config, st storefile.Store, tmp string, from, to time.Time, runs []store.Run, check *xlsx.AuditCheck) ([]string, error) {
	loc, err := time.LoadLocation(cmp.Or(cfg.Timezone, "UTC"))
	if err != nil {
		return nil, err
	}
	period := filepath.Join(tmp, xlsx.PeriodFileName(from, to))
	if err := xlsx.WritePeriod(ctx, st, from, to, period, xlsx.PeriodOptions{Policy: cfg.Policy.Policy, Location: loc, Audit: check}); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	body, err := os.ReadFile(period)
	if err != nil {
		return nil, err
	}
	p.add("workbooks/"+filepath.Base(period), body)
	books, err := runWorkbooks(cfg, runs)
	if err != nil {
		return nil, err
	}
	for _, b := range books {
		body, err := os.ReadFile(b)
		if err != nil {
			return nil, err
		}
		p.add("workbooks/runs/"+filepath.Base(b), body)
	}
	return books, nil
}

// addRuns adds runs.csv: the runs and their configuration's hash.
func (p *packWriter) addRuns(ctx context.Context, st storefile.Store, runs []store.Run, drillRuns map[int64]bool) error {
	ids := make([]int64, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	hashes, err := st.RunConfigHashes(ctx, ids)
	if err != nil {
		return err
	}
	var rb bytes.Buffer
	cw := csv.NewWriter(&rb)
	_ = cw.Write([]string{"run", "started_at", "as_of", "job", "scope", "mode", "status", "drill", "config_sha256"})
	for _, r := range runs {
		h := hashes[r.ID]
		if h == "" {
			h = NoConfigHash
			p.RunsWithoutConfigHash++
		}
		_ = cw.Write([]string{strconv.FormatInt(r.ID, 10), r.StartedAt.UTC().Format(time.RFC3339), r.AsOf.UTC().Format(time.RFC3339), r.Job, r.Scope, r.Mode, string(r.Status),
			yesNo(drillRuns[r.ID]), h})
	}
	cw.Flush()
	p.add("runs.csv", rb.Bytes())
	return nil
}

// addExemptionsAndHolds adds the exemptions (of the configuration and
// added with exempt add) and the holds in force at some time of the
// period, with their two-person approvals.
func (p *packWriter) addExemptionsAndHolds(ctx context.Context, cfg *config.Config, st storefile.Store, from, to time.Time) error {
	holds, err := st.Holds(ctx, true)
	if err != nil {
		return err
	}
	holds = slices.DeleteFunc(holds, func(h store.Hold) bool {
		end := h.Until
		if !h.RemovedAt.IsZero() && h.RemovedAt.Before(end) {
			end = h.RemovedAt
		}
		return !h.CreatedAt.Before(to) || end.Before(from)
	})
	approvals, err := st.HoldApprovals(ctx)
	if err != nil {
		return err
	}
	type holdRow struct {
		store.Hold
		store.HoldApproval
	}
	hs := make([]holdRow, len(holds))
	for i, h := range holds {
		hs[i] = holdRow{h, approvals[h.ID]}
	}
	stored, err := st.Exemptions(ctx, true)
	if err != nil {
		return err
	}
	p.add("exemptions-and-holds.json", mustJSON(map[string]any{
		"config_exemptions": cfg.Policy.Exemptions, "cli_exemptions": stored, "holds": hs,
		"note": "exemptions of the configuration now (owner, reason, approver, expiry) and every exemption added with exempt add (requester, approver); holds in force at some time of the period (created_by, approved_by when two-person, removed_by)"}))
	return nil
}

// seal adds the manifest of the files' sums, then writes the zip to out.
func (p *packWriter) seal(out string) error {
	var manifest strings.Builder
	for _, f := range p.files {
		s := sha256.Sum256(f.body)
		sum := hex.EncodeToString(s[:])
		p.Files = append(p.Files, File{Name: f.name, SHA256: sum, Size: len(f.body)})
		fmt.Fprintf(&manifest, "%s  %s\n", sum, f.name)
	}
	ms := sha256.Sum256([]byte(manifest.String()))
	p.ManifestSHA256 = hex.EncodeToString(ms[:])
	p.add(ManifestName, []byte(manifest.String()))
	if err := writeZip(out, p.files); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	return nil
}

// bookName is a run workbook's name: accessrecon-<as-of>-<run>.xlsx.
var bookName = regexp.MustCompile(`^accessrecon-\d{4}-\d{2}-\d{2}-(\d+)\.xlsx$`)

// runWorkbooks finds the workbooks of runs in the configured folders:
// reports.xlsx.dir, and serve.out_dir (or out) with its job folders.
func runWorkbooks(cfg *config.Config, runs []store.Run) ([]string, error) {
	want := map[int64]bool{}
	for _, r := range runs {
		want[r.ID] = true
	}
	var dirs []string
	if cfg.Reports.XLSX.Dir != "" {
		dirs = append(dirs, cfg.Resolve(cfg.Reports.XLSX.Dir))
	}
	serveOut := cfg.Resolve(cmp.Or(cfg.Serve.OutDir, "out"))
	dirs = append(dirs, serveOut)
	if es, err := os.ReadDir(serveOut); err == nil {
		for _, e := range es {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(serveOut, e.Name()))
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		es, err := os.ReadDir(d)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			m := bookName.FindStringSubmatch(e.Name())
			if m == nil || e.IsDir() || seen[e.Name()] {
				continue
			}
			id, _ := strconv.ParseInt(m[1], 10, 64)
			if want[id] {
				seen[e.Name()] = true
				out = append(out, filepath.Join(d, e.Name()))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// SLAFigure is one tier and kind's share of revocations within the SLA.
type SLAFigure struct {
	Tier    string  `json:"tier"`
	Kind    string  `json:"kind"`
	Allowed string  `json:"allowed"`
	Revoked int     `json:"revoked"`
	Within  int     `json:"within_sla"`
	Percent float64 `json:"percent_within_sla"`
}

func slaSummary(ctx context.Context, cfg *config.Config, st storefile.Store, runs []store.Run, drillRuns map[int64]bool) map[string]any {
	inPeriod := map[int64]bool{}
	var since time.Time
	for i, r := range runs {
		inPeriod[r.ID] = !drillRuns[r.ID]
		if i == 0 || r.StartedAt.Before(since) {
			since = r.StartedAt
		}
	}
	out := map[string]any{"note": "revocations by the period's runs, measured from HR's effective date (or the webhook's receipt) to the verified revocation; drill runs are excluded (see drills.json)"}
	if len(runs) == 0 {
		out["figures"] = []SLAFigure{}
		return out
	}
	entries, err := sla.Entries(ctx, cfg, st, since)
	if err != nil {
		out["error"] = err.Error()
		return out
	}
	byKey := map[[2]string]*SLAFigure{}
	var total, within int
	for _, e := range entries {
		if !inPeriod[e.RunID] {
			continue
		}
		k := [2]string{e.Tier, e.Kind}
		f := byKey[k]
		if f == nil {
			f = &SLAFigure{Tier: e.Tier, Kind: e.Kind, Allowed: e.Allowed.String()}
			byKey[k] = f
		}
		f.Revoked++
		total++
		if e.Within {
			f.Within++
			within++
		}
	}
	figs := make([]SLAFigure, 0, len(byKey))
	for _, f := range byKey {
		f.Percent = percent(f.Within, f.Revoked)
		figs = append(figs, *f)
	}
	slices.SortFunc(figs, func(a, b SLAFigure) int { return cmp.Or(cmp.Compare(a.Tier, b.Tier), cmp.Compare(a.Kind, b.Kind)) })
	out["figures"], out["revoked"], out["within_sla"], out["percent_within_sla"] = figs, total, within, percent(within, total)
	return out
}

func percent(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return float64(int(1000*float64(a)/float64(b)+0.5)) / 10
}

func readme(cfg *config.Config, from, to time.Time, p *Pack, books int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "accessrecon evidence pack, runs started %s to %s (UTC, end excluded)\n", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "%s\n\n", xlsx.ControlReference)
	fmt.Fprintf(&b, "configuration now: %s, SHA-256 %s\n", filepath.Base(cfg.Path()), cfg.SHA256())
	fmt.Fprintf(&b, "runs: %d (%d recorded before the configuration's hash was kept: runs.csv says so)\n", p.Runs, p.RunsWithoutConfigHash)
	fmt.Fprintf(&b, "audit trail intact: %s (audit/verification.json)\n", yesNo(p.AuditIntact))
	fmt.Fprintf(&b, "workbooks: the period workbook and %d run workbook(s) found in the configured folders\n\n", books)
	b.WriteString("Check the files with: sha256sum -c " + ManifestName + "\n")
	return b.String()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only plain data is marshalled
	}
	return append(b, '\n')
}

// writeZip writes the files into a new zip at path (via a temporary file:
// a half-written pack never has the final name).
func writeZip(path string, files []packFile) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".evidence-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	zw := zip.NewWriter(f)
	for _, x := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: x.name, Method: zip.Deflate, Modified: time.Now().UTC()})
		if err != nil {
			f.Close()
			return err
		}
		if _, err := io.Copy(w, bytes.NewReader(x.body)); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
