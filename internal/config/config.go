// Package config turns flags and environment variables into one typed value.
// Every setting has a flag and an environment variable; the flag wins. The
// README's configuration table is generated from the same list (Describe).
package config

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is everything the long-running commands need.
type Config struct {
	DatabaseURL   string        // empty: the embedded private cluster under DataDir/pg
	DataDir       string        // blobs, the embedded cluster
	Addr          string        // web listen address
	BaseURL       string        // public URL, e.g. https://srarena.example.org; https turns on Secure cookies
	ORTLib        string        // path of libonnxruntime.so.1; empty: search the default places
	Queue         string        // worker queue: eval_cpu or eval_gpu
	Concurrency   int           // evaluations a worker runs at once
	Threads       int           // ONNX Runtime intra-op threads per evaluation
	Repeats       int           // timed runs per image
	EvalTimeout   time.Duration // wall-clock cap of one evaluation
	MemoryLimitMB int           // address-space cap of the sandbox child
	Nice          int           // niceness of the sandboxed model's threads while timed (0: the worker's)
	Realtime      bool          // the sandboxed model's ORT threads run SCHED_FIFO where allowed
	Seed          bool          // create the demo challenge when the database has none
	// InsecureSandbox lets evaluations run when the host cannot give the
	// model process its own uid, Landlock and seccomp. Never on a real
	// challenge: a hostile model could then read the hidden images.
	InsecureSandbox bool
	// MaxConnsPerIP caps one client address's open connections to the web
	// server; 0 turns the cap off (behind a reverse proxy, where every
	// connection has the proxy's address).
	MaxConnsPerIP int
	// TrustedProxies are the reverse proxies (CIDRs) whose X-Forwarded-For
	// names the client, for the per-address limits.
	TrustedProxies []netip.Prefix
	// MetricsToken and MetricsAllow say who may read /metrics.
	MetricsToken string
	MetricsAllow []netip.Prefix

	// GPU is the CUDA device a GPU worker is bound to.
	GPU int

	BlobStore      string // local or s3
	S3Endpoint     string // empty: AWS S3 in S3Region
	S3Bucket       string
	S3Region       string
	S3Prefix       string
	S3PathStyle    bool
	S3CreateBucket bool
	BlobCacheDir   string // workers' local copy of remote blobs; empty: DATA_DIR/blob-cache
	BlobCacheMB    int
}

// prefixes parses comma-separated addresses and CIDRs.
func prefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

type setting struct {
	flag, env, def, help string
	set                  func(c *Config, v string) error
}

func str(f func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func num(f func(c *Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*f(c) = n
		return nil
	}
}

func boolean(f func(c *Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", v)
		}
		*f(c) = b
		return nil
	}
}

var settings = []setting{
	{"database-url", "DATABASE_URL", "", "PostgreSQL connection string; empty starts a private cluster under DATA_DIR/pg (srarena up only)", str(func(c *Config) *string { return &c.DatabaseURL })},
	{"data-dir", "SRARENA_DATA_DIR", "./var", "directory for blobs (models, images) and the private PostgreSQL cluster", str(func(c *Config) *string { return &c.DataDir })},
	{"addr", "SRARENA_ADDR", "127.0.0.1:8080", "web server listen address", str(func(c *Config) *string { return &c.Addr })},
	{"base-url", "SRARENA_BASE_URL", "", "public base URL; an https URL turns on Secure cookies (default http://ADDR)", str(func(c *Config) *string { return &c.BaseURL })},
	{"ort-lib", "ONNXRUNTIME_LIB", "", "path of libonnxruntime.so.1 (>= 1.30); default: third_party/ort/ beside the binary or working directory", str(func(c *Config) *string { return &c.ORTLib })},
	{"queue", "SRARENA_QUEUE", "eval_cpu", "queue a worker takes jobs from: eval_cpu or eval_gpu (one hardware class per queue)", str(func(c *Config) *string { return &c.Queue })},
	{"concurrency", "SRARENA_CONCURRENCY", "1", "evaluations one worker runs at once (keep 1 for faithful runtimes)", num(func(c *Config) *int { return &c.Concurrency })},
	{"threads", "SRARENA_THREADS", strconv.Itoa(runtime.NumCPU()), "ONNX Runtime intra-op threads per evaluation", num(func(c *Config) *int { return &c.Threads })},
	{"repeats", "SRARENA_REPEATS", "3", "timed runs per image after one warm-up; the median counts", num(func(c *Config) *int { return &c.Repeats })},
	{"eval-timeout", "SRARENA_EVAL_TIMEOUT", "10m", "wall-clock limit of one evaluation", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		c.EvalTimeout = d
		return nil
	}},
	{"memory-limit-mb", "SRARENA_MEMORY_LIMIT_MB", "8192", "memory cap of the sandboxed model process, MiB", num(func(c *Config) *int { return &c.MemoryLimitMB })},
	{"nice", "SRARENA_NICE", "-10", "niceness of the sandboxed model's threads while timed, -20..19: negative puts the timed runs ahead of the machine's other work (needs root or CAP_SYS_NICE, else ignored); 0: the worker's own", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < -20 || n > 19 {
			return fmt.Errorf("not a niceness (-20..19): %q", v)
		}
		c.Nice = n
		return nil
	}},
	{"realtime", "SRARENA_REALTIME", "false", "run the sandboxed model's ONNX Runtime threads under real-time scheduling (SCHED_FIFO, lowest priority), so that no other process preempts a timed run: for a host that runs one worker and nothing else (other processes get 5 % of a CPU while a run lasts); needs root or CAP_SYS_NICE and the kernel's real-time throttling, else the niceness holds", boolean(func(c *Config) *bool { return &c.Realtime })},
	{"seed", "SRARENA_SEED", "true", "create the demo challenge when the database has no challenge", boolean(func(c *Config) *bool { return &c.Seed })},
	{"max-conns-per-ip", "SRARENA_MAX_CONNS_PER_IP", "64", "open connections one client address may hold to the web server; 0: no cap (use 0 behind a reverse proxy, which limits clients itself)", num(func(c *Config) *int { return &c.MaxConnsPerIP })},
	{"trusted-proxies", "SRARENA_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (for the per-address limits); empty: none", func(c *Config, v string) error {
		var err error
		c.TrustedProxies, err = prefixes(v)
		return err
	}},
	{"metrics-token", "SRARENA_METRICS_TOKEN", "", "bearer token that may read /metrics (Prometheus); empty: no token", str(func(c *Config) *string { return &c.MetricsToken })},
	{"metrics-allow", "SRARENA_METRICS_ALLOW", "", "comma-separated addresses or CIDRs that may read /metrics without a token; with neither this nor --metrics-token, /metrics is 404 for everyone", func(c *Config, v string) error {
		var err error
		c.MetricsAllow, err = prefixes(v)
		return err
	}},
	{"gpu", "SRARENA_GPU", "0", "CUDA device a GPU worker (queue eval_gpu) is bound to; it runs one evaluation at a time", num(func(c *Config) *int { return &c.GPU })},
	{"insecure-sandbox", "SRARENA_INSECURE_SANDBOX", "false", "evaluate even when the host cannot set up the full sandbox (own uid, Landlock, seccomp); for trusted models only", boolean(func(c *Config) *bool { return &c.InsecureSandbox })},
	{"blob-store", "SRARENA_BLOB_STORE", "local", "where blobs live: local (DATA_DIR/blobs) or s3 (an S3-compatible object store; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials with AWS_PROFILE, or the instance/pod role)", str(func(c *Config) *string { return &c.BlobStore })},
	{"s3-endpoint", "SRARENA_S3_ENDPOINT", "", "S3 endpoint URL, e.g. http://seaweedfs:8333 (http or https); empty: AWS S3 in the region", str(func(c *Config) *string { return &c.S3Endpoint })},
	{"s3-bucket", "SRARENA_S3_BUCKET", "", "S3 bucket of the blobs (required with --blob-store=s3)", str(func(c *Config) *string { return &c.S3Bucket })},
	{"s3-region", "SRARENA_S3_REGION", "us-east-1", "S3 region", str(func(c *Config) *string { return &c.S3Region })},
	{"s3-prefix", "SRARENA_S3_PREFIX", "", "prefix of every object key, to share a bucket between deployments", str(func(c *Config) *string { return &c.S3Prefix })},
	{"s3-path-style", "SRARENA_S3_PATH_STYLE", "false", "address the bucket as ENDPOINT/BUCKET (MinIO, SeaweedFS, Ceph) instead of BUCKET.ENDPOINT", boolean(func(c *Config) *bool { return &c.S3PathStyle })},
	{"s3-create-bucket", "SRARENA_S3_CREATE_BUCKET", "false", "create the S3 bucket when it does not exist", boolean(func(c *Config) *bool { return &c.S3CreateBucket })},
	{"blob-cache-dir", "SRARENA_BLOB_CACHE_DIR", "", "workers with --blob-store=s3 keep fetched blobs here (default DATA_DIR/blob-cache)", str(func(c *Config) *string { return &c.BlobCacheDir })},
	{"blob-cache-mb", "SRARENA_BLOB_CACHE_MB", "2048", "size bound of the worker blob cache, MiB; least recently used blobs are evicted", num(func(c *Config) *int { return &c.BlobCacheMB })},
}

// CredentialEnv are the environment variables the S3 client reads for
// credentials, the way AWS tools do; they are not srarena settings but a
// deployment may set them.
var CredentialEnv = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
	"AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
}

// EnvNames lists every environment variable the binary reads: the
// settings' and CredentialEnv. Deployment checks compare against it.
func EnvNames() []string {
	var out []string
	for _, s := range settings {
		out = append(out, s.env)
	}
	return append(out, CredentialEnv...)
}

// Register adds every setting to fs; Load must be called after fs.Parse.
func Register(fs *flag.FlagSet) {
	for _, s := range settings {
		fs.String(s.flag, "", fmt.Sprintf("%s (env %s, default %q)", s.help, s.env, s.def))
	}
}

// Load resolves each setting: flag, else environment, else default.
func Load(fs *flag.FlagSet) (Config, error) {
	var c Config
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range settings {
		v := s.def
		if e, ok := os.LookupEnv(s.env); ok && e != "" {
			v = e
		}
		if set[s.flag] {
			v = fs.Lookup(s.flag).Value.String()
		}
		if err := s.set(&c, v); err != nil {
			return c, fmt.Errorf("--%s / %s: %w", s.flag, s.env, err)
		}
	}
	if c.Queue != "eval_cpu" && c.Queue != "eval_gpu" {
		return c, fmt.Errorf("--queue: want eval_cpu or eval_gpu, got %q", c.Queue)
	}
	if c.Concurrency < 1 || c.Threads < 1 || c.Repeats < 1 {
		return c, fmt.Errorf("--concurrency, --threads and --repeats must be at least 1")
	}
	if c.MaxConnsPerIP < 0 {
		return c, fmt.Errorf("--max-conns-per-ip must be 0 (no cap) or more")
	}
	if c.GPU < 0 {
		return c, fmt.Errorf("--gpu must be a CUDA device number (0, 1, ...)")
	}
	if c.Queue == "eval_gpu" && c.Concurrency > 1 {
		return c, fmt.Errorf("--concurrency must be 1 on eval_gpu: one evaluation per GPU, or runtimes are not comparable")
	}
	switch c.BlobStore {
	case "local":
	case "s3":
		if c.S3Bucket == "" {
			return c, fmt.Errorf("--blob-store=s3 needs --s3-bucket / SRARENA_S3_BUCKET")
		}
	default:
		return c, fmt.Errorf("--blob-store: want local or s3, got %q", c.BlobStore)
	}
	if c.BlobCacheMB < 1 {
		return c, fmt.Errorf("--blob-cache-mb must be at least 1")
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, err
	}
	c.DataDir = abs
	if c.BlobCacheDir == "" {
		c.BlobCacheDir = filepath.Join(c.DataDir, "blob-cache")
	}
	return c, nil
}

// Describe returns the settings as Markdown table rows, for the README.
func Describe() string {
	out := "| flag | environment | default | meaning |\n|---|---|---|---|\n"
	for _, s := range settings {
		def := s.def
		switch {
		case s.flag == "threads":
			def = "number of CPUs"
		case def == "":
			def = "(none)"
		}
		out += fmt.Sprintf("| `--%s` | `%s` | %s | %s |\n", s.flag, s.env, def, s.help)
	}
	return out
}
