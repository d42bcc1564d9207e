-- A dry run is recorded, marked as such, and never becomes the baseline that
-- drift and the HR-shrink rail compare against (issue 10 item 5).
ALTER TABLE runs ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
-- A run whose HR snapshot tripped the HR-shrink rail: its snapshot is never
-- the baseline of the next. Set from the rail's kind, not its text; rows of
-- earlier versions are converted once from the text they stored.
ALTER TABLE runs ADD COLUMN hr_suspect INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET hr_suspect = 1 WHERE guards LIKE 'hr_shrink%' OR guards LIKE '%' || char(10) || 'hr_shrink%';
