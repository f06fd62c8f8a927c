package onnxmodel_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/onnxmodel"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

type manifestModel struct {
	File        string  `json:"file"`
	Params      int64   `json:"params"`
	ConvMACs    int64   `json:"conv_macs_256"`
	Acts        int64   `json:"acts_256"`
	ConvLayers  int     `json:"conv_layers"`
	ReluElems   int64   `json:"relu_elems_256"`
	NTIREFlopsG float64 `json:"flops_256_G_ntire_convention"`
	Published   *struct {
		FlopsG float64 `json:"flops_G"`
	} `json:"published"`
}

func loadManifest(t *testing.T) (string, []manifestModel) {
	t.Helper()
	root := fixtures.Dir(t)
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Models       []manifestModel `json:"models"`
		RandomModels []manifestModel `json:"random_models"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return root, append(m.Models, m.RandomModels...)
}

// TestManifestModels reproduces fixtures/manifest.json: params, activations,
// conv layers and conv MACs exactly; KAIR FLOPs within 0.5 % of the
// published figure (see the Profile doc for why it is not exact).
func TestManifestModels(t *testing.T) {
	root, models := loadManifest(t)
	if len(models) < 11 {
		t.Fatalf("manifest lists %d models, want 11", len(models))
	}
	for _, mm := range models {
		t.Run(filepath.Base(mm.File), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, mm.File))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := onnxmodel.Inspect(data, onnxmodel.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Valid {
				t.Fatalf("rejected: %v", rep.Problems)
			}
			p := rep.Profile
			if p.Params != mm.Params || p.ConvMACs != mm.ConvMACs || p.Activations != mm.Acts || p.ConvLayers != mm.ConvLayers {
				t.Errorf("got params %d macs %d acts %d conv %d, want %d %d %d %d",
					p.Params, p.ConvMACs, p.Activations, p.ConvLayers, mm.Params, mm.ConvMACs, mm.Acts, mm.ConvLayers)
			}
			if want := mm.ConvMACs + mm.ReluElems; p.FlopsKAIR != want {
				t.Errorf("KAIR FLOPs %d, want conv MACs + relu elements %d", p.FlopsKAIR, want)
			}
			if got := float64(p.FlopsKAIR) / 1e9; math.Abs(got-mm.NTIREFlopsG) > 1e-4*mm.NTIREFlopsG {
				t.Errorf("KAIR FLOPs %.4f G, manifest %.4f G", got, mm.NTIREFlopsG)
			}
			if mm.Published != nil && mm.Published.FlopsG > 0 {
				got := float64(p.FlopsKAIR) / 1e9
				if d := math.Abs(got-mm.Published.FlopsG) / mm.Published.FlopsG; d > 0.005 {
					t.Errorf("KAIR FLOPs %.4f G differ from published %.2f G by %.2f%%", got, mm.Published.FlopsG, 100*d)
				}
			}
			if p.FlopsFvcore < p.ConvMACs {
				t.Errorf("fvcore FLOPs %d below conv MACs %d", p.FlopsFvcore, p.ConvMACs)
			}
			if rep.Opset != 13 {
				t.Errorf("opset %d", rep.Opset)
			}
			again, err := onnxmodel.Inspect(rep.Model.Bytes(), onnxmodel.Options{})
			if err != nil || !again.Valid || again.Profile.ConvMACs != p.ConvMACs {
				t.Errorf("re-serialised model does not inspect the same: %v %v", err, again.Problems)
			}
		})
	}
}

// TestFvcoreRLFN checks the one fvcore figure published for a fixture:
// RLFN NTIRE 19.6749 G (NTIRE 2024 log), conv MACs + bilinear Resize ×4.
func TestFvcoreRLFN(t *testing.T) {
	dir := fixtures.Dir(t, "models", "trained")
	data, err := os.ReadFile(filepath.Join(dir, "rlfn_ntire_x4.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := onnxmodel.Inspect(data, onnxmodel.Options{})
	if err != nil || !rep.Valid {
		t.Fatal(err, rep.Problems)
	}
	if g := float64(rep.Profile.FlopsFvcore) / 1e9; math.Abs(g-19.6749) > 5e-5 {
		t.Errorf("fvcore %.5f G, want 19.6749", g)
	}
}

// TestAdversarial follows fixtures/adversarial/README.md. Most files are ×2
// graphs, so they are checked at scale 2.
func TestAdversarial(t *testing.T) {
	dir := fixtures.Dir(t, "adversarial")
	tests := []struct {
		file  string
		valid bool     // statically acceptable (runtime limits handle it)
		want  []string // substrings of the problems
	}{
		{"01_good_x2.onnx", true, nil},
		{"02_ext_abs_path.onnx", false, []string{`initializer "secret"`, "external data", "/etc/passwd"}},
		{"03_ext_dotdot.onnx", false, []string{"external data", "../"}},
		{"05_ext_cwd_relative.onnx", false, []string{"external data"}},
		{"06_ort_mem_addr.onnx", false, []string{"external data", "_ORT_MEM_ADDR_"}},
		{"06b_memaddr_constant_node.onnx", false, []string{"(Constant)", "external data", "_ORT_MEM_ADDR_"}},
		{"06d_constant_node_ext_file.onnx", false, []string{"(Constant)", "external data"}},
		{"07_sparse_ext_abs.onnx", false, []string{"sparse initializers are not allowed", "external data"}},
		{"08_constantofshape_48g_const.onnx", false, []string{`"ConstantOfShape" is not allowed`}},
		{"09_constantofshape_dynamic.onnx", false, []string{`"ConstantOfShape" is not allowed`}},
		{"10_expand_huge.onnx", false, []string{`"Expand" is not allowed`}},
		{"11_tile_huge.onnx", false, []string{`"Tile" is not allowed`}},
		{"12_resize_huge_scale.onnx", false, []string{"Resize scale 4096 outside"}},
		{"13_range_huge.onnx", false, []string{`"Range" is not allowed`}},
		{"14_loop_infinite.onnx", false, []string{`"Loop" is not allowed: control flow`}},
		{"15_loop_grow_memory.onnx", false, []string{`"Loop" is not allowed`}},
		{"16_nested_if_d10.onnx", false, []string{`"If" is not allowed: control flow`, "subgraphs"}},
		{"17_custom_domain.onnx", false, []string{`domain "com.evil" is not allowed`}},
		{"18_contrib_com_microsoft.onnx", false, []string{`domain "com.microsoft" is not allowed`}},
		{"19_ml_domain.onnx", false, []string{`domain "ai.onnx.ml" is not allowed`}},
		{"20_garbage.onnx", false, []string{"not a valid ONNX model"}},
		{"21_truncated.onnx", false, []string{"not a valid ONNX model"}},
		{"22_future_opset.onnx", false, []string{"opset 99 is not supported (supported: 11 to 21)"}},
		{"23_rawdata_mismatch.onnx", false, []string{`initializer "w"`, "raw_data has 4 bytes", "need 4000000"}},
		{"24_wrong_scale_x3.onnx", false, []string{`output "sr": has shape [1,3,768,768]`, "want [1,3,512,512]"}},
		{"25_nan_output.onnx", true, nil}, // non-finite output: only visible at run time
		{"26_string_output.onnx", false, []string{"exactly one output", "STRING"}},
		{"27_slow_compute.onnx", true, nil}, // valid, slow: per-image timeout at run time
		{"29_ort_config_metadata.onnx", true, nil},
		{"30_pad_huge.onnx", false, []string{"pads", "exceed the limit"}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := onnxmodel.Inspect(data, onnxmodel.Options{Scale: 2})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid != tc.valid {
				t.Fatalf("valid = %v, want %v; problems: %v", rep.Valid, tc.valid, rep.Problems)
			}
			msg := rep.Err()
			for _, w := range tc.want {
				if !strings.Contains(msg.Error(), w) {
					t.Errorf("problems %q lack %q", msg, w)
				}
			}
			if !tc.valid {
				var ve *onnxmodel.ValidationError
				if !errors.As(msg, &ve) || len(ve.Problems) == 0 {
					t.Errorf("Err() = %v, want *ValidationError", msg)
				}
			}
		})
	}
	// A ×2 model in a ×4 challenge is refused for its scale only.
	data, err := os.ReadFile(filepath.Join(dir, "01_good_x2.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := onnxmodel.Inspect(data, onnxmodel.Options{Scale: 4})
	if rep.Valid || !strings.Contains(rep.Err().Error(), "want [1,3,1024,1024] (×4)") {
		t.Errorf("01 at ×4: %v", rep.Problems)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no expectation in this test", filepath.Base(f))
		}
	}
}

// mb unwraps a builder result; builders fail only on bad arguments.
func mb(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestBuiltModels(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name    string
		data    []byte
		scale   int
		want    string // problem substring, "" when valid
		macs    int64
		acts    int64
		kair    int64
		convs   int
		params  int64
		fvcore  int64
		outDims []int64
	}{
		{name: "bicubic", data: mb(onnxbuild.Bicubic(4)), scale: 4, outDims: []int64{1, 3, 1024, 1024}},
		{name: "nearest x2", data: mb(onnxbuild.Nearest(2)), scale: 2, fvcore: 3 * 512 * 512, outDims: []int64{1, 3, 512, 512}},
		{name: "nan factor", data: mb(onnxbuild.Scaled(4, nan)), scale: 4, params: 1, fvcore: 3 << 20, outDims: []int64{1, 3, 1024, 1024}},
		{name: "espcn", data: mb(onnxbuild.ESPCN(4, 1)), scale: 4,
			macs:  16*3*25*65536 + 48*16*9*65536,
			acts:  (16 + 48) * 65536,
			kair:  16*3*25*65536 + 48*16*9*65536 + 16*65536,
			convs: 2, params: 16*3*25 + 16 + 48*16*9 + 48, fvcore: 16*3*25*65536 + 48*16*9*65536,
			outDims: []int64{1, 3, 1024, 1024}},
		{name: "identity", data: mb(onnxbuild.Identity()), scale: 4, want: "want [1,3,1024,1024]"},
		{name: "bicubic x4 in x2 challenge", data: mb(onnxbuild.Bicubic(4)), scale: 2, want: "outside (0,2]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := onnxmodel.Inspect(tc.data, onnxmodel.Options{Scale: tc.scale})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" {
				if rep.Valid || !strings.Contains(rep.Err().Error(), tc.want) {
					t.Fatalf("got %v, want problem %q", rep.Problems, tc.want)
				}
				return
			}
			if !rep.Valid {
				t.Fatalf("rejected: %v", rep.Problems)
			}
			p := rep.Profile
			if p.ConvMACs != tc.macs || p.Activations != tc.acts || p.FlopsKAIR != tc.kair || p.ConvLayers != tc.convs || p.Params != tc.params || p.FlopsFvcore != tc.fvcore {
				t.Errorf("profile %+v", *p)
			}
			if !equal(p.OutputShape, tc.outDims) {
				t.Errorf("output %v, want %v", p.OutputShape, tc.outDims)
			}
			if rep.Opset != onnxbuild.Opset || rep.IRVersion != onnxbuild.IRVersion {
				t.Errorf("opset %d ir %d", rep.Opset, rep.IRVersion)
			}
		})
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hostile builds variants of a valid model by editing its protobuf.
func hostile(t *testing.T, base func() ([]byte, error), edit func(*onnxpb.ModelProto)) []byte {
	t.Helper()
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(mb(base()), &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	b, err := proto.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostileEdits(t *testing.T) {
	espcn := func() ([]byte, error) { return onnxbuild.ESPCN(4, 3) }
	bicubic := func() ([]byte, error) { return onnxbuild.Bicubic(4) }
	dupGraph := func() []byte {
		// A second graph field: protobuf merges both, a naive validator
		// would see only one (sandbox.md T6, model 32).
		b := mb(onnxbuild.Bicubic(4))
		extra, _ := proto.Marshal(&onnxpb.GraphProto{Node: []*onnxpb.NodeProto{{OpType: proto.String("Loop")}}})
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		return protowire.AppendBytes(b, extra)
	}()
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"duplicate graph field", dupGraph, "model.graph: singular field appears more than once"},
		{"duplicate ir_version", protowire.AppendVarint(protowire.AppendTag(mb(bicubic()), 1, protowire.VarintType), 8), "model.ir_version: singular field"},
		{"huge dims", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].Dims = []int64{1 << 40, 1 << 40}
		}), "more than"},
		{"1e12 elements", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].Dims = []int64{1000000, 1000000}
		}), "more than 268435456 elements"},
		{"negative dim", hostile(t, espcn, func(m *onnxpb.ModelProto) { m.Graph.Initializer[0].Dims = []int64{-1} }), "negative dimension"},
		{"string initializer", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].DataType = proto.Int32(int32(onnxpb.TensorProto_STRING))
		}), "element type STRING is not allowed"},
		{"function", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			m.Functions = []*onnxpb.FunctionProto{{Name: proto.String("f")}}
		}), "model-local functions are not allowed"},
		{"training info", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			m.TrainingInfo = []*onnxpb.TrainingInfoProto{{}}
		}), "training info is not allowed"},
		{"old opset", hostile(t, espcn, func(m *onnxpb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(9) }), "opset 9 is not supported"},
		{"ir version", hostile(t, espcn, func(m *onnxpb.ModelProto) { m.IrVersion = proto.Int64(99) }), "IR version 99"},
		{"unknown op", hostile(t, espcn, func(m *onnxpb.ModelProto) { m.Graph.Node[1].OpType = proto.String("Fancy") }), `"Fancy" is not in the allowlist`},
		{"gelu before opset 20", hostile(t, espcn, func(m *onnxpb.ModelProto) { m.Graph.Node[1].OpType = proto.String("Gelu") }), "needs opset 20"},
		{"weight from data", hostile(t, espcn, func(m *onnxpb.ModelProto) { m.Graph.Node[2].Input[1] = "r1" }), "must be a constant rank-4 tensor"},
		{"dangling input", hostile(t, espcn, func(m *onnxpb.ModelProto) { m.Graph.Node[1].Input[0] = "nowhere" }), `input "nowhere" is not produced`},
		{"two inputs", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			m.Graph.Input = append(m.Graph.Input, onnxbuild.ValueInfo("x2", onnxpb.TensorProto_FLOAT, onnxbuild.D(1)))
		}), "exactly one input"},
		{"uint8 input", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			m.Graph.Input[0].Type.GetTensorType().ElemType = proto.Int32(int32(onnxpb.TensorProto_UINT8))
		}), "must be a float32 tensor"},
		{"blocksize", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			m.Graph.Node[3].Attribute[0].I = proto.Int64(1 << 40)
		}), "blocksize"},
		{"constant reshape", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			// Works at the profiling size only: caught by the second size.
			m.Graph.Initializer = append(m.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String("shp"), Dims: []int64{4},
				DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{1, 3, 1024, 1024}})
			m.Graph.Node[3].Output[0] = "d2s"
			m.Graph.Node = append(m.Graph.Node, &onnxpb.NodeProto{OpType: proto.String("Reshape"), Input: []string{"d2s", "shp"}, Output: []string{"sr"}})
		}), "at LR 48x64"},
		{"too many nodes", hostile(t, espcn, func(m *onnxpb.ModelProto) {
			for range 5001 {
				m.Graph.Node = append(m.Graph.Node, &onnxpb.NodeProto{OpType: proto.String("Identity")})
			}
		}), "5005 nodes, more than the limit of 5000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := onnxmodel.Inspect(tc.data, onnxmodel.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Valid {
				t.Fatal("accepted")
			}
			if !strings.Contains(rep.Err().Error(), tc.want) {
				t.Errorf("problems %v lack %q", rep.Problems, tc.want)
			}
		})
	}
}

func TestFileLimit(t *testing.T) {
	data := mb(onnxbuild.ESPCN(4, 1))
	rep, err := onnxmodel.Inspect(data, onnxmodel.Options{Limits: onnxmodel.Limits{MaxFileBytes: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || !strings.Contains(rep.Err().Error(), "more than the limit of 1000") {
		t.Errorf("problems %v", rep.Problems)
	}
}

// TestUnknownFieldsDropped: Bytes() carries only what was validated.
func TestUnknownFieldsDropped(t *testing.T) {
	data := mb(onnxbuild.Bicubic(4))
	data = protowire.AppendTag(data, 999, protowire.BytesType)
	data = protowire.AppendString(data, "hidden")
	m, err := onnxmodel.Validate(data, onnxmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(m.Bytes()), "hidden") {
		t.Error("unknown field survived re-serialisation")
	}
}

func TestFixedInputSize(t *testing.T) {
	data := hostile(t, func() ([]byte, error) { return onnxbuild.ESPCN(2, 1) }, func(m *onnxpb.ModelProto) {
		m.Graph.Input[0] = onnxbuild.ValueInfo("lr", onnxpb.TensorProto_FLOAT, onnxbuild.D(1, 3, 32, 40))
	})
	rep, err := onnxmodel.Inspect(data, onnxmodel.Options{Scale: 2})
	if err != nil || !rep.Valid {
		t.Fatal(err, rep.Problems)
	}
	if !equal(rep.Profile.OutputShape, []int64{1, 3, 64, 80}) {
		t.Errorf("output %v", rep.Profile.OutputShape)
	}
}

func TestProfileJSON(t *testing.T) {
	rep, err := onnxmodel.Inspect(mb(onnxbuild.ESPCN(4, 1)), onnxmodel.Options{})
	if err != nil || !rep.Valid {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep.Profile)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"params":`, `"conv_macs":`, `"flops_kair":`, `"flops_fvcore":`, `"activations":`, `"conv_layers":`, `"layers":`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("profile JSON lacks %s: %s", k, b)
		}
	}
}

func BenchmarkInspect(b *testing.B) {
	dir := fixtures.Dir(b, "models", "random")
	data, err := os.ReadFile(filepath.Join(dir, "msrresnet_random_seed0.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rep, err := onnxmodel.Inspect(data, onnxmodel.Options{})
		if err != nil || !rep.Valid {
			b.Fatal(err)
		}
	}
}
