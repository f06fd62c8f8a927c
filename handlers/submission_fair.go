package handlers

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// measuredEnv is the part of results.environment (runner/evaluate's
// Environment) a submission page shows.
type measuredEnv struct {
	Host, CPU, GPU, Driver, OS, Arch string
	ORTVersion                       string `json:"ort_version"`
	EP                               string `json:"execution_provider"`
	Threads, Nice                    int
	Realtime                         bool
	Srarena                          string `json:"srarena"`
}

// fairnessFacts are a result's runtime ratio to the baseline, its timing
// protocol and the machine and software that measured it.
func fairnessFacts(r store.Result) []templates.KV {
	var kv []templates.KV
	if r.RuntimeRatio != nil {
		v := fmtFloat(*r.RuntimeRatio, 4) + "×"
		if r.RuntimeRatioCV != nil {
			v += " ± " + fmtFloat(100**r.RuntimeRatioCV, 2) + " %"
		}
		if r.RatioClock != "" {
			v += " (" + r.RatioClock + " time"
			if r.BaselineRuntimeMS != nil {
				v += "; baseline " + fmtFloat(*r.BaselineRuntimeMS, 2) + " ms"
			}
			v += ")"
		}
		kv = append(kv, templates.KV{Key: "Runtime ratio to the baseline (timed beside it, run by run)", Value: v})
	}
	if r.Protocol != "" {
		kv = append(kv, templates.KV{Key: "Timing protocol", Value: r.Protocol})
	}
	var env measuredEnv
	if len(r.Environment) > 0 && json.Unmarshal(r.Environment, &env) == nil && env.CPU != "" {
		parts := []string{env.CPU}
		if env.GPU != "" {
			g := env.GPU
			if env.Driver != "" {
				g += ", driver " + env.Driver
			}
			parts = append(parts, g)
		}
		sw := "ONNX Runtime " + env.ORTVersion + " " + env.EP
		if env.Threads > 0 {
			sw += ", " + strconv.Itoa(env.Threads) + " threads"
		}
		switch {
		case env.Realtime:
			sw += " under real-time scheduling (SCHED_FIFO)"
		case env.Nice != 0:
			sw += " at nice " + strconv.Itoa(env.Nice)
		}
		parts = append(parts, sw)
		if env.OS != "" {
			parts = append(parts, env.OS+" "+env.Arch)
		}
		if env.Srarena != "" {
			parts = append(parts, "srarena "+env.Srarena)
		}
		if env.Host != "" {
			parts = append(parts, "host "+env.Host)
		}
		kv = append(kv, templates.KV{Key: "Measured on", Value: strings.Join(parts, "; ")})
	}
	return kv
}

// runtimeBasisSentence is the board's runtime basis, timing protocol and
// threads in words, where they are not the default (raw, robust, each
// worker's own threads).
func runtimeBasisSentence(b domain.Board) string {
	var parts []string
	if b.RuntimeBasis == store.RuntimeRatio {
		parts = append(parts, "Ranked "+b.RuntimeBasisNote+": each submission's runtime ratio to the baseline, "+
			"timed beside it in the same sandbox run by run, so that a busy machine slows both alike.")
	}
	if b.TimingProtocol == domain.TimingOfficial {
		parts = append(parts, "Timing: the official protocol (one pass per image, no warm-up; the mean over images).")
	}
	if t := b.Threads; t != nil {
		unit := " ONNX Runtime threads."
		if *t == 1 {
			unit = " ONNX Runtime thread."
		}
		parts = append(parts, "Models run with "+strconv.Itoa(*t)+unit)
	}
	return strings.Join(parts, " ")
}
