package main

import (
	"context"
	"flag"
	"io"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/demo"
)

// The demo (internal/demo writes its data and runs it): day one collected and enforced
// on the in-house directory, day two showing every kind of finding.

func defineDemo(fs *flag.FlagSet) action {
	out := fs.String("out", "", "`DIR`ectory to write the demo into (default: a new temporary directory)")
	return func(ctx context.Context, stdout, stderr io.Writer) (int, error) {
		res, err := demo.Run(ctx, *out, stdout, stderr)
		return exitFor(res, err), err
	}
}
