package main

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		fmt.Println("ERR", err)
		return
	}
	full := len(os.Args) > 2
	fmt.Println("ir", m.GetIrVersion(), "opset", m.GetOpsetImport(), "funcs", len(m.Functions), "train", len(m.TrainingInfo), "meta", m.MetadataProps)
	g := m.GetGraph()
	fmt.Println("inputs", g.GetInput())
	fmt.Println("outputs", g.GetOutput())
	fmt.Println("sparse", g.SparseInitializer)
	for _, t := range g.GetInitializer() {
		if full || len(t.Dims) <= 1 {
			fmt.Println("init", t.GetName(), t.Dims, t.GetDataType(), len(t.RawData), t.ExternalData, t.DataLocation, t.Int64Data, t.FloatData)
		}
	}
	for i, n := range g.GetNode() {
		if !full && n.GetOpType() == "Conv" {
			continue
		}
		as := ""
		for _, a := range n.Attribute {
			if a.T != nil {
				as += fmt.Sprintf(" %s=T{%v %v raw%d %v ext%v loc%v}", a.GetName(), a.T.Dims, a.T.GetDataType(), len(a.T.RawData), a.T.Int64Data, a.T.ExternalData, a.T.DataLocation)
				if len(a.T.RawData) <= 64 {
					as += fmt.Sprintf("%x", a.T.RawData)
				}
			} else if a.G != nil {
				as += fmt.Sprintf(" %s=G(%d nodes)", a.GetName(), len(a.G.Node))
			} else {
				as += fmt.Sprintf(" %s=%v/%v/%s/%v", a.GetName(), a.GetI(), a.GetF(), a.S, a.Ints)
			}
		}
		fmt.Println(i, n.GetDomain(), n.GetOpType(), n.Input, "->", n.Output, as)
	}
}
