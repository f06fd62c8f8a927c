package validate

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/srarena/srarena/internal/config"
)

var chartDir = filepath.Join("..", "helm", "srarena")

// render is `helm template arena deploy/helm/srarena` through Helm's own
// library, with values overriding the chart's.
func render(t *testing.T, values map[string]any) map[string]string {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(ch, values,
		chartutil.ReleaseOptions{Name: "arena", Namespace: "srarena", IsInstall: true, Revision: 1},
		chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out
}

// decode splits the rendered files into objects and decodes each strictly
// with the Kubernetes API types: an unknown or duplicated field, a wrong
// type or an unknown kind fails.
func decode(t *testing.T, files map[string]string) []runtime.Object {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, batchv1.AddToScheme, corev1.AddToScheme, networkingv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	codec := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var objs []runtime.Object
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		r := utilyaml.NewYAMLReader(bufioReader(files[name]))
		for {
			doc, err := r.Read()
			if err != nil {
				break
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			obj, gvk, err := codec.Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			if gvk.Kind == "" {
				t.Fatalf("%s: object without kind", name)
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

func TestHelmChartDefaults(t *testing.T) {
	objs := decode(t, render(t, nil))
	kinds := map[string][]string{}
	var deployments = map[string]*appsv1.Deployment{}
	var job *batchv1.Job
	for _, o := range objs {
		switch v := o.(type) {
		case *appsv1.Deployment:
			deployments[v.Name] = v
			kinds["Deployment"] = append(kinds["Deployment"], v.Name)
		case *batchv1.Job:
			job = v
			kinds["Job"] = append(kinds["Job"], v.Name)
		case *corev1.Service:
			kinds["Service"] = append(kinds["Service"], v.Name)
		case *networkingv1.Ingress:
			kinds["Ingress"] = append(kinds["Ingress"], v.Name)
			if v.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "arena-srarena-web" {
				t.Errorf("ingress backend %+v", v.Spec.Rules[0].HTTP.Paths[0].Backend)
			}
		case *corev1.ServiceAccount:
			kinds["ServiceAccount"] = append(kinds["ServiceAccount"], v.Name)
		default:
			t.Errorf("unexpected object %T", o)
		}
	}
	for k := range kinds {
		slices.Sort(kinds[k])
	}
	want := map[string][]string{
		"Deployment":     {"arena-srarena-web", "arena-srarena-worker-a100", "arena-srarena-worker-cpu"},
		"Job":            {"arena-srarena-migrate"},
		"Service":        {"arena-srarena-web"},
		"Ingress":        {"arena-srarena-web"},
		"ServiceAccount": {"arena-srarena"},
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("objects %v, want %v", kinds, want)
	}
	if job.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" || !slices.Equal(job.Spec.Template.Spec.Containers[0].Args, []string{"migrate"}) {
		t.Errorf("migrate job: %v %v", job.Annotations, job.Spec.Template.Spec.Containers[0].Args)
	}
	web := deployments["arena-srarena-web"]
	if *web.Spec.Replicas != 2 || !slices.Equal(web.Spec.Template.Spec.Containers[0].Args, []string{"serve"}) {
		t.Errorf("web: %d replicas, args %v", *web.Spec.Replicas, web.Spec.Template.Spec.Containers[0].Args)
	}

	gpu := deployments["arena-srarena-worker-a100"]
	c := gpu.Spec.Template.Spec.Containers[0]
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.Cmp(resource.MustParse("1")) != 0 {
		t.Errorf("GPU worker requests %v nvidia.com/gpu, want 1", q.String())
	}
	if gpu.Spec.Template.Spec.NodeSelector["nvidia.com/gpu.product"] == "" {
		t.Errorf("GPU worker not pinned to a GPU model: %v", gpu.Spec.Template.Spec.NodeSelector)
	}
	cpu := deployments["arena-srarena-worker-cpu"]
	if _, ok := cpu.Spec.Template.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; ok {
		t.Error("CPU worker requests a GPU")
	}
	for name, d := range map[string]*appsv1.Deployment{"gpu": gpu, "cpu": cpu} {
		env := envOf(d.Spec.Template.Spec.Containers[0])
		wantQueue := map[string]string{"gpu": "eval_gpu", "cpu": "eval_cpu"}[name]
		if env["SRARENA_QUEUE"] != wantQueue || env["SRARENA_CONCURRENCY"] != "1" || env["SRARENA_INSECURE_SANDBOX"] != "false" {
			t.Errorf("%s worker env: queue %q, concurrency %q, insecure %q", name, env["SRARENA_QUEUE"], env["SRARENA_CONCURRENCY"], env["SRARENA_INSECURE_SANDBOX"])
		}
		sc := d.Spec.Template.Spec.SecurityContext
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeUnconfined ||
			sc.AppArmorProfile == nil || sc.AppArmorProfile.Type != corev1.AppArmorProfileTypeUnconfined {
			t.Errorf("%s worker: the sandbox needs user namespaces (seccomp and AppArmor profiles): %+v", name, sc)
		}
	}
	// External PostgreSQL and object store by default: no StatefulSet, the
	// URL from a Secret, S3 settings set.
	for _, d := range deployments {
		env := envOf(d.Spec.Template.Spec.Containers[0])
		if env["SRARENA_BLOB_STORE"] != "s3" || env["SRARENA_S3_BUCKET"] != "srarena" {
			t.Errorf("%s: blob store %q bucket %q", d.Name, env["SRARENA_BLOB_STORE"], env["SRARENA_S3_BUCKET"])
		}
		var db *corev1.EnvVar
		for i, e := range d.Spec.Template.Spec.Containers[0].Env {
			if e.Name == "DATABASE_URL" {
				db = &d.Spec.Template.Spec.Containers[0].Env[i]
			}
		}
		if db == nil || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil || db.ValueFrom.SecretKeyRef.Name != "srarena-database" {
			t.Errorf("%s: DATABASE_URL not from the database Secret: %+v", d.Name, db)
		}
	}
	checkEnvNames(t, objs)
}

// Several GPU classes, each its own Deployment and node type; two classes
// on one queue are refused (their runtimes would mix).
func TestHelmHardwareClasses(t *testing.T) {
	gpuClass := func(name, queue, product string) map[string]any {
		return map[string]any{"name": name, "enabled": true, "queue": queue, "replicas": 3, "threads": 4, "blobCacheMB": 1024,
			"nodeSelector": map[string]any{"nvidia.com/gpu.product": product},
			"resources":    map[string]any{"requests": map[string]any{"cpu": "2"}, "limits": map[string]any{"memory": "8Gi"}}}
	}
	objs := decode(t, render(t, map[string]any{
		"workers": map[string]any{"cpu": []any{}, "gpu": []any{gpuClass("h100", "eval_gpu", "NVIDIA-H100-80GB-HBM3")}},
		"web":     map[string]any{"ingress": map[string]any{"enabled": false}},
		"migrate": map[string]any{"enabled": false},
	}))
	var names []string
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			names = append(names, d.Name)
			if strings.Contains(d.Name, "h100") && (*d.Spec.Replicas != 3 || d.Spec.Template.Spec.NodeSelector["nvidia.com/gpu.product"] != "NVIDIA-H100-80GB-HBM3") {
				t.Errorf("h100 class: %d replicas, selector %v", *d.Spec.Replicas, d.Spec.Template.Spec.NodeSelector)
			}
		}
		if _, ok := o.(*networkingv1.Ingress); ok {
			t.Error("ingress rendered while disabled")
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"arena-srarena-web", "arena-srarena-worker-h100"}) {
		t.Fatalf("deployments %v", names)
	}

	ch, _ := loader.Load(chartDir)
	vals, _ := chartutil.ToRenderValues(ch, map[string]any{"workers": map[string]any{"gpu": []any{
		gpuClass("a100", "eval_gpu", "A100"), gpuClass("h100", "eval_gpu", "H100")}}},
		chartutil.ReleaseOptions{Name: "arena", Namespace: "srarena", IsInstall: true}, chartutil.DefaultCapabilities)
	if _, err := engine.Render(ch, vals); err == nil || !strings.Contains(err.Error(), "share queue eval_gpu") {
		t.Fatalf("two classes on one queue: err = %v", err)
	}
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// checkEnvNames: every variable of every srarena container is a setting the
// binary knows (the list comes from internal/config).
func checkEnvNames(t *testing.T, objs []runtime.Object) {
	t.Helper()
	known := config.EnvNames()
	for _, o := range objs {
		var spec *corev1.PodSpec
		switch v := o.(type) {
		case *appsv1.Deployment:
			spec = &v.Spec.Template.Spec
		case *batchv1.Job:
			spec = &v.Spec.Template.Spec
		default:
			continue
		}
		for _, c := range spec.Containers {
			for _, e := range c.Env {
				if !slices.Contains(known, e.Name) {
					t.Errorf("container %s: %s is not a setting srarena knows", c.Name, e.Name)
				}
			}
		}
	}
}
