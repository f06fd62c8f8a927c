package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
)

func TestInspectCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, build func() ([]byte, error)) string {
		t.Helper()
		b, err := build()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	espcn := write("espcn.onnx", func() ([]byte, error) { return onnxbuild.ESPCN(4, 1) })
	ident := write("ident.onnx", onnxbuild.Identity)
	x2 := write("x2.onnx", func() ([]byte, error) { return onnxbuild.Nearest(2) })
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"valid text", []string{"inspect", espcn}, 0, []string{"valid ×4", "conv layers   2"}},
		{"valid json, flags after model", []string{"inspect", espcn, "--json", "--lr", "64x32"}, 0, []string{`"valid": true`, `"conv_layers": 2`, `"conv_macs": 16613376`, `"opset": 17`}},
		{"wrong scale", []string{"inspect", ident, "--json"}, 1, []string{`"valid": false`, "want [1,3,1024,1024]"}},
		{"scale flag", []string{"inspect", "--scale", "2", x2}, 0, []string{"valid ×2"}},
		{"bad lr", []string{"inspect", espcn, "--lr", "big"}, 2, nil},
		{"no model", []string{"inspect"}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(strings.Join(tc.args, " "), "--json") {
				var v map[string]any
				if err := json.Unmarshal(out.Bytes(), &v); err != nil {
					t.Errorf("bad JSON: %v", err)
				}
			}
		})
	}
}
