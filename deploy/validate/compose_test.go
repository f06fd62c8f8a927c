package validate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/srarena/srarena/internal/config"
)

func loadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	// A clean environment: the defaults written in the file are what is
	// checked, not whatever the machine running the test has set.
	opts, err := cli.NewProjectOptions([]string{filepath.Join("..", "..", "docker-compose.yml")},
		cli.WithName("srarena"), cli.WithProfiles(profiles), cli.WithEnv([]string{}),
		cli.WithWorkingDirectory(filepath.Join("..", "..")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// srarenaServices are the services running the srarena binary: built from
// the repository's Dockerfile.
func srarenaServices(p *types.Project) map[string]types.ServiceConfig {
	out := map[string]types.ServiceConfig{}
	for name, s := range p.Services {
		if s.Build != nil || s.Image == "srarena:local" {
			out[name] = s
		}
	}
	return out
}

func TestComposeLayout(t *testing.T) {
	p := loadCompose(t, "gpu")
	want := []string{"migrate", "postgres", "proxy", "seaweedfs", "seed", "web-1", "web-2", "worker-cpu", "worker-gpu"}
	got := p.ServiceNames()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	// Without the gpu profile the GPU worker is not started.
	if names := loadCompose(t).ServiceNames(); slices.Contains(names, "worker-gpu") {
		t.Fatal("worker-gpu runs without the gpu profile")
	}
	svc := func(n string) types.ServiceConfig { s, _ := p.GetService(n); return s }

	for _, n := range []string{"web-1", "web-2"} {
		s := svc(n)
		if !slices.Equal(s.Command, types.ShellCommand{"serve"}) || len(s.Ports) != 0 {
			t.Errorf("%s: command %v, ports %v; want serve, reached only through the proxy", n, s.Command, s.Ports)
		}
	}
	proxy := svc("proxy")
	if len(proxy.Ports) != 1 || proxy.Ports[0].Target != 8080 || proxy.Ports[0].Published != "8080" {
		t.Errorf("proxy ports %+v, want 8080:8080", proxy.Ports)
	}
	cmd := strings.Join(proxy.Command, " ")
	if !strings.Contains(cmd, "--to web-1:8080") || !strings.Contains(cmd, "--to web-2:8080") {
		t.Errorf("proxy does not balance both web servers: %s", cmd)
	}
	cpu := svc("worker-cpu")
	if cpu.Deploy == nil || cpu.Deploy.Replicas == nil || *cpu.Deploy.Replicas != 2 {
		t.Errorf("worker-cpu: want 2 replicas, got %+v", cpu.Deploy)
	}
	if q := cpu.Environment["SRARENA_QUEUE"]; q == nil || *q != "eval_cpu" {
		t.Errorf("worker-cpu queue %v", q)
	}
	gpu := svc("worker-gpu")
	if q := gpu.Environment["SRARENA_QUEUE"]; q == nil || *q != "eval_gpu" {
		t.Errorf("worker-gpu queue %v", q)
	}
	if gpu.Deploy == nil || gpu.Deploy.Resources.Reservations == nil || len(gpu.Deploy.Resources.Reservations.Devices) != 1 ||
		gpu.Deploy.Resources.Reservations.Devices[0].Driver != "nvidia" {
		t.Errorf("worker-gpu reserves no NVIDIA GPU: %+v", gpu.Deploy)
	}
	for _, n := range []string{"worker-cpu", "worker-gpu"} {
		if !slices.Contains(svc(n).SecurityOpt, "seccomp=unconfined") {
			t.Errorf("%s: the sandbox needs user namespaces, which Docker's default seccomp profile forbids", n)
		}
	}
	if len(p.Configs) != 1 || !strings.Contains(p.Configs["s3-identities"].Content, "srarena-secret-change-me") {
		t.Errorf("seaweedfs credentials config: %+v", p.Configs)
	}
}

// Every variable a srarena service sets must be one the binary reads: a
// misspelt setting would otherwise be ignored silently. The list comes from
// internal/config itself.
func TestComposeEnvironmentNamesKnownSettings(t *testing.T) {
	known := config.EnvNames()
	p := loadCompose(t, "gpu")
	services := srarenaServices(p)
	if len(services) != 6 {
		t.Fatalf("srarena services: %d, want 6 (migrate, seed, web-1, web-2, worker-cpu, worker-gpu)", len(services))
	}
	for name, s := range services {
		if len(s.Environment) == 0 {
			t.Errorf("%s: no environment", name)
		}
		for k, v := range s.Environment {
			if !slices.Contains(known, k) {
				t.Errorf("%s: %s is not a setting srarena knows (internal/config)", name, k)
			}
			if v == nil {
				t.Errorf("%s: %s has no value", name, k)
			}
		}
		for _, k := range []string{"DATABASE_URL", "SRARENA_BLOB_STORE", "SRARENA_S3_ENDPOINT", "SRARENA_S3_BUCKET"} {
			if s.Environment[k] == nil {
				t.Errorf("%s: %s not set", name, k)
			}
		}
		if v := s.Environment["SRARENA_BLOB_STORE"]; v != nil && *v != "s3" {
			t.Errorf("%s: blob store %q, want s3 (processes share no disk)", name, *v)
		}
	}
}

// The processes share nothing but PostgreSQL and the object store: no named
// volume or host directory is mounted into two srarena services.
func TestComposeSharesNothingButDatabaseAndObjects(t *testing.T) {
	p := loadCompose(t, "gpu")
	for name, s := range srarenaServices(p) {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume || (v.Type == types.VolumeTypeBind && !v.ReadOnly) {
				t.Errorf("%s mounts %s (%s): srarena processes must share only PostgreSQL and S3", name, v.Source, v.Type)
			}
		}
	}
	for _, n := range []string{"postgres", "seaweedfs"} {
		if s, _ := p.GetService(n); len(s.Volumes) != 1 || s.Volumes[0].Type != types.VolumeTypeVolume {
			t.Errorf("%s: want its data on one named volume, got %+v", n, s.Volumes)
		}
	}
	if _, err := os.Stat(filepath.Join("..", "..", "bench", "compose-smoke.sh")); err != nil {
		t.Errorf("bench/compose-smoke.sh: %v", err)
	}
}
