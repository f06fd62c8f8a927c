package config

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(t *testing.T, c Config)
		err   string
	}{
		{"defaults", nil, nil, func(t *testing.T, c Config) {
			if c.Addr != "127.0.0.1:8080" || c.Repeats != 3 || c.EvalTimeout != 10*time.Minute || !c.Seed || c.BaseURL != "http://127.0.0.1:8080" {
				t.Fatalf("%+v", c)
			}
		}, ""},
		{"env", map[string]string{"SRARENA_ADDR": ":9000", "SRARENA_REPEATS": "5"}, nil, func(t *testing.T, c Config) {
			if c.Addr != ":9000" || c.Repeats != 5 {
				t.Fatalf("%+v", c)
			}
		}, ""},
		{"flag beats env", map[string]string{"SRARENA_ADDR": ":9000"}, []string{"--addr", ":7000"}, func(t *testing.T, c Config) {
			if c.Addr != ":7000" {
				t.Fatalf("%+v", c)
			}
		}, ""},
		{"bad number", nil, []string{"--repeats", "x"}, nil, "repeats"},
		{"bad queue", map[string]string{"SRARENA_QUEUE": "tpu"}, nil, nil, "queue"},
		{"zero threads", nil, []string{"--threads", "0"}, nil, "at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range settings {
				t.Setenv(s.env, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			Register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			c, err := Load(fs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// The README's configuration table is this list; keep them one.
func TestREADMEHasTheTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), Describe()) {
		t.Fatalf("README.md's configuration table is stale; paste config.Describe():\n%s", Describe())
	}
}
