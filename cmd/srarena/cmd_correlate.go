package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/srarena/srarena/analysis"
	"github.com/srarena/srarena/scoring"
)

func init() {
	register(command{name: "correlate", summary: "correlate runtime with every other metric of a results CSV", run: runCorrelate})
}

func runCorrelate(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("correlate --csv FILE [--json]", "correlate --csv FILE [--json]", stdout)
	csvPath := fs.String("csv", "", "results CSV; rows with ranked=1 are used (- for stdin)")
	asJSON := fs.Bool("json", false, "print one JSON object per metric (metric, n, pearson, spearman, kendall, *_ci, log_fit)")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *csvPath == "" {
		return fmt.Errorf("%w: need --csv FILE and no other arguments", errUsage)
	}
	tab, err := readResults(*csvPath)
	if err != nil {
		return err
	}
	cs, err := scoring.CorrelateResults(tab)
	if err != nil {
		return err
	}
	if *asJSON {
		return analysis.WriteJSON(stdout, cs) // the form POST /api/v1/analysis returns
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "runtime vs\tn\tpearson r [95% CI]\tspearman rho [95% CI]\tkendall tau-b [95% CI]\tlog-log slope")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%d\t%.4f [%.3f, %.3f]\t%.4f [%.3f, %.3f]\t%.4f [%.3f, %.3f]\t%.3f\n", c.Metric, c.N,
			c.Pearson, c.PearsonCI.Lo, c.PearsonCI.Hi, c.Spearman, c.SpearmanCI.Lo, c.SpearmanCI.Hi,
			c.Kendall, c.KendallCI.Lo, c.KendallCI.Hi, c.LogFit.Slope)
	}
	return tw.Flush()
}
