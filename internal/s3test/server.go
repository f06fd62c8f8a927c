package s3test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Test credentials of the private server; it listens on 127.0.0.1 only.
const (
	AccessKey = "srarena-test"
	SecretKey = "srarena-test-secret-key"
)

// Server is a running `weed server -s3`: master, volume server, filer and
// the S3 gateway in one process, storing under its own directory.
type Server struct {
	URL string // http://127.0.0.1:PORT of the S3 gateway
	cmd *exec.Cmd
	dir string
	log *os.File
}

// WeedBinary finds SeaweedFS's weed: $SRARENA_WEED, else the one `make
// weed` builds under .cache/tools of the repository, else weed on PATH.
func WeedBinary() (string, error) {
	if p := os.Getenv("SRARENA_WEED"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("SRARENA_WEED: %w", err)
		}
		return p, nil
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", ".cache", "tools", "weed")
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p), nil
		}
	}
	if p, err := exec.LookPath("weed"); err == nil {
		return p, nil
	}
	return "", errors.New("SeaweedFS weed binary not found: run `make weed` (or set SRARENA_WEED)")
}

// Start launches a private server and waits until its S3 gateway answers.
func Start(ctx context.Context) (*Server, error) {
	bin, err := WeedBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "srarena-s3test-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	cfg := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{"identities":[{"name":"srarena","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","List","Tagging","Write"]}]}`, AccessKey, SecretKey)), 0o600); err != nil {
		return nil, err
	}
	ports, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	if s.log, err = os.Create(filepath.Join(dir, "weed.log")); err != nil {
		return nil, err
	}
	p := func(i int) string { return strconv.Itoa(ports[i]) }
	s.cmd = exec.Command(bin, "server",
		"-dir="+data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+p(0), "-master.port.grpc="+p(1),
		"-volume.port="+p(2), "-volume.port.grpc="+p(3),
		"-filer", "-filer.port="+p(4), "-filer.port.grpc="+p(5),
		"-filer.localSocket="+filepath.Join(dir, "filer.sock"),
		"-s3", "-s3.port="+p(6), "-s3.port.grpc="+p(7), "-s3.config="+cfg,
		"-s3.localSocket="+filepath.Join(dir, "s3.sock"),
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		// Small volumes: tests store kilobytes to megabytes. Every bucket is a
		// collection that grows volumes of its own on first write, and test
		// binaries share one server: a low -volume.max runs out of slots
		// ("internal error") when packages run in parallel. Volumes are
		// sparse files, so a high limit costs nothing.
		"-master.volumeSizeLimitMB=64", "-volume.max=512",
		"-master.telemetry=false",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// Its own process group, so Stop reaches every child it might start.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start weed: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	s.URL = "http://127.0.0.1:" + p(6)
	c, err := s.Client()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		// Creating a bucket needs the master, a volume and the filer, not
		// just the gateway: wait for the whole chain.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = c.MakeBucket(cctx, "ready", minio.MakeBucketOptions{})
		if err == nil || minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			_, err = c.PutObject(cctx, "ready", "probe", strings.NewReader("ok"), 2, minio.PutObjectOptions{})
		}
		cancel()
		if err == nil {
			break
		}
		select {
		case werr := <-exited:
			s.cmd = nil
			return nil, fmt.Errorf("weed exited (%v) during start-up: %s", werr, s.logTail())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("weed not ready after 90s (%v): %s", err, s.logTail())
		}
	}
	ok = true
	return s, nil
}

// Client returns an S3 client of the server with the test credentials.
func (s *Server) Client() (*minio.Client, error) { return clientFor(s.URL) }

func clientFor(raw string) (*minio.Client, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	return minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""), Secure: u.Scheme == "https",
		BucketLookup: minio.BucketLookupPath, Region: "us-east-1",
	})
}

// Stop kills the server and removes its data.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() {
			for i := 0; i < 100; i++ {
				if syscall.Kill(s.cmd.Process.Pid, 0) != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			close(done)
		}()
		<-done
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
	if s.log != nil {
		s.log.Close()
	}
	os.RemoveAll(s.dir)
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "weed.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// freePorts returns n distinct free TCP ports below 55535: SeaweedFS
// derives gRPC ports by adding 10000 when one is not given.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		if p := l.Addr().(*net.TCPAddr).Port; p < 55535 {
			out = append(out, p)
		}
	}
	return out, nil
}
