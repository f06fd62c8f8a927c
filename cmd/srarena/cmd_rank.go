package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/srarena/srarena/scoring"
)

func init() {
	register(command{name: "rank", summary: "rank an offline results CSV with a challenge's rules", run: runRank})
}

func runRank(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("rank --rules NAME|FILE.json --csv FILE", "rank --rules NAME|FILE.json --csv FILE", stdout)
	rulesArg := fs.String("rules", "", "preset ("+strings.Join(scoring.PresetNames(), ", ")+") or a rules JSON file")
	csvPath := fs.String("csv", "", "results CSV (columns as design/data/ntire2023_esr_results.csv; - for stdin)")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *rulesArg == "" || *csvPath == "" {
		return fmt.Errorf("%w: need --rules and --csv and no other arguments", errUsage)
	}
	rules, err := loadRules(*rulesArg)
	if err != nil {
		return err
	}
	tab, err := readResults(*csvPath)
	if err != nil {
		return err
	}
	out, _, err := scoring.RankResults(tab, rules, nil)
	if err != nil {
		return err
	}
	return out.WriteCSV(stdout)
}

func loadRules(arg string) (scoring.Rules, error) {
	if r, ok := scoring.Preset(arg); ok {
		return r, nil
	}
	if !strings.HasSuffix(arg, ".json") {
		return scoring.Rules{}, fmt.Errorf("%w: unknown rules %q (presets: %s)", errUsage, arg, strings.Join(scoring.PresetNames(), ", "))
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return scoring.Rules{}, err
	}
	var r scoring.Rules
	if err := json.Unmarshal(b, &r); err != nil {
		return scoring.Rules{}, fmt.Errorf("%s: %w", arg, err)
	}
	return r, r.Validate()
}

func readResults(path string) (*scoring.Results, error) {
	if path == "-" {
		return scoring.ReadResultsCSV(os.Stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := scoring.ReadResultsCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
