package evaluate

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Environment records where a result was measured: a runtime means little
// without the machine and software behind it.
type Environment struct {
	Host       string `json:"host"`
	CPU        string `json:"cpu"`                // model name and logical CPUs
	GPU        string `json:"gpu,omitempty"`      // NVIDIA model, when one is present
	Driver     string `json:"driver,omitempty"`   // NVIDIA kernel driver version
	ORTVersion string `json:"ort_version"`        // as the child reported it
	EP         string `json:"execution_provider"` // CPUExecutionProvider / CUDAExecutionProvider
	Threads    int    `json:"threads"`            // ORT intra-op threads
	Spinning   bool   `json:"spinning"`           // ORT threads spin inside a run (Options.Spin); never between runs
	Nice       int    `json:"nice"`               // the model's threads' niceness while timed (Options.Nice as it held; 0: unchanged)
	Realtime   bool   `json:"realtime,omitempty"` // the model's ORT threads ran SCHED_FIFO (Options.Realtime as it held)
	OS         string `json:"os"`                 // kernel release
	Arch       string `json:"arch"`               // GOARCH
	// GPUIndex is the CUDA device the evaluation ran on (nil on the CPU);
	// Srarena the build that measured (VCS revision, "+dirty" when
	// modified) and Go its toolchain.
	GPUIndex *int   `json:"gpu_index,omitempty"`
	Srarena  string `json:"srarena,omitempty"`
	Go       string `json:"go,omitempty"`
}

func environment(opt Options, ortVersion string) Environment {
	host, _ := os.Hostname()
	env := Environment{Host: host, CPU: CPUModel(), ORTVersion: ortVersion, Threads: opt.Threads, Spinning: opt.Spin == SpinOn, Arch: runtime.GOARCH,
		EP: "CPUExecutionProvider"}
	if opt.Device == DeviceCUDA {
		env.EP = "CUDAExecutionProvider"
		gpu := opt.GPU
		env.GPUIndex = &gpu
	}
	env.Srarena, env.Go = buildVersion()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		env.OS = "Linux " + strings.TrimSpace(string(b))
	}
	env.GPU, env.Driver = nvidiaInfo()
	return env
}

// buildVersion is this binary's VCS revision and Go version.
func buildVersion() (rev, goVersion string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", runtime.Version()
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
			if len(rev) > 12 {
				rev = rev[:12]
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "+dirty"
	}
	return rev, bi.GoVersion
}

// CPUModel is the CPU's model name from /proc/cpuinfo and the logical CPU
// count, e.g. "AMD EPYC 7B13 (2 CPUs)".
func CPUModel() string {
	name := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && strings.TrimSpace(k) == "model name" {
				name = strings.TrimSpace(v)
				break
			}
		}
	}
	return name + " (" + strconv.Itoa(runtime.NumCPU()) + " CPUs)"
}

// nvidiaInfo reads the GPU model and driver version the NVIDIA kernel
// driver publishes under /proc (no nvidia-smi needed); empty without one.
func nvidiaInfo() (gpu, driver string) {
	if b, err := os.ReadFile("/proc/driver/nvidia/version"); err == nil {
		// "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  ..."
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		for i, w := range f {
			if w == "Module" && i+1 < len(f) {
				driver = f[i+1]
			}
		}
	}
	infos, _ := filepath.Glob("/proc/driver/nvidia/gpus/*/information")
	var models []string
	for _, p := range infos {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Model" {
				models = append(models, strings.TrimSpace(v))
			}
		}
	}
	return strings.Join(models, ", "), driver
}
