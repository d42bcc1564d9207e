package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/accessrecon/accessrecon/reconcile/gen"
)

// writeGen writes a reproducible data set (HR CSV, one account CSV per target
// and a schedule.yaml reading them) for load tests: the same flags always
// write the same files.
func defineGen(fs *flag.FlagSet) action {
	people := fs.Int("people", 100000, "HR records (`N`)")
	tgts := fs.Int("targets", 10, "targets (`T`), each with an account for nearly every person")
	seed := fs.Uint64("seed", 1, "seed (`S`): the same seed writes the same data")
	asOf := fs.String("as-of", "2026-11-25", "dates are spread before this `DATE`")
	day := fs.Int("day", 1, "write day `N` of a series: day N is day N-1 with 0.1% of the accounts changed and a few leavers and joiners, judged as of --as-of plus N-1 days")
	shuffled := fs.Bool("shuffled", false, "list people and accounts in no ID order, as a directory does (the same order every day)")
	out := fs.String("out", "", "`DIR`ectory to write into")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		return exitOK, writeGen(*people, *tgts, *seed, *asOf, *day, *shuffled, *out, stdout)
	}
}

func writeGen(people, tgts int, seed uint64, asOf string, day int, shuffled bool, out string, stdout io.Writer) error {
	if out == "" || people <= 0 || tgts <= 0 || day <= 0 {
		return usageError{Msg: "gen: --out, and positive --people, --targets and --day, are required"}
	}
	t, err := time.Parse("2006-01-02", asOf)
	if err != nil {
		return usageError{Msg: "gen: --as-of: " + err.Error()}
	}
	spec := gen.Spec{People: people, Targets: tgts, Seed: seed, AsOf: t, Day: day, Shuffled: shuffled}
	if err := gen.WriteCSV(spec, out); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	fmt.Fprintf(stdout, "wrote day %d: %d people and %d targets (%d orphans each) to %s; run: accessrecon run --config %s/schedule.yaml --as-of %s\n",
		day, people+(day-1)*spec.JoinersPerDay(), tgts, spec.Orphans(), out, out, spec.DayAsOf().Format("2006-01-02"))
	return nil
}
