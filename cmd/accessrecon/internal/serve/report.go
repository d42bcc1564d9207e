package serve

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/period"
)

// Report jobs (`report: period`): at each activation, the period workbook
// of the last complete period (month or week) is written from the store;
// nothing is collected or acted on, so no run lock is taken. After
// downtime, catch-up writes it when its file is missing.

// reportWindow is the period a report job covers at now, and its file.
func (s *Server) reportWindow(cfg *config.Config, j config.JobConfig, now time.Time) (from, to time.Time, path string) {
	loc := period.Location(cfg)
	if j.Timezone != "" {
		if l, err := time.LoadLocation(j.Timezone); err == nil {
			loc = l
		}
	}
	from, to = period.Previous(cmp.Or(j.Period, period.Month), now, loc)
	dir := cfg.Resolve(cfg.Reports.XLSX.Dir)
	if dir == "" {
		dir = filepath.Join(s.outDir(cfg), j.Name)
	}
	return from, to, filepath.Join(dir, period.FileName(from, to, loc))
}

// reportDue says whether the report job's current file is missing.
func (s *Server) reportDue(cfg *config.Config, j config.JobConfig) bool {
	_, _, path := s.reportWindow(cfg, j, s.now())
	_, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist)
}

// reportJob writes the report job's period workbook.
func (s *Server) reportJob(cfg *config.Config, j config.JobConfig) {
	log := s.log.With("job", j.Name)
	from, to, path := s.reportWindow(cfg, j, s.now())
	if err := period.Write(s.stopping, cfg, s.st, from, to, path, log); err != nil {
		log.Error("period report failed", "from", from, "to", to, "err", err)
		return
	}
	log.Info("period report written", "from", from, "to", to, "path", path)
}
