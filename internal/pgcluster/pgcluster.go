// Package pgcluster runs a private PostgreSQL cluster from the machine's
// server binaries: the embedded default of `srarena up` and the database of
// the test harness. The cluster listens only on a Unix socket inside its own
// directory, so it never collides with another PostgreSQL on the host.
//
// PostgreSQL refuses to run as root; when srarena runs as root the cluster
// files are owned by, and the server runs as, an unprivileged user
// ("postgres" when it exists, else "nobody").
package pgcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoBinaries says how to install PostgreSQL; its text is shown as is.
var ErrNoBinaries = errors.New(`PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under /usr/lib/postgresql/*/bin.
Install them, e.g. on Debian/Ubuntu:  sudo apt-get install postgresql
or point srarena at an existing database with DATABASE_URL=postgres://...`)

// FindBinDir returns the directory holding initdb, pg_ctl and postgres.
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dir := filepath.Dir(p)
		if hasAll(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first.
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if hasAll(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func hasAll(dir string) bool {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
			return false
		}
	}
	return true
}

// Cluster is one private PostgreSQL cluster.
type Cluster struct {
	Dir    string // cluster root: data/, run/ (socket), postgres.log
	BinDir string
	Log    *slog.Logger

	cred *syscall.Credential // non-nil when running as root
	uid  int
	gid  int
}

// New prepares (but does not start) a cluster rooted at dir.
func New(dir string, logger *slog.Logger) (*Cluster, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: abs, BinDir: bin, Log: logger, uid: os.Getuid(), gid: os.Getgid()}
	if os.Geteuid() == 0 {
		if err := c.dropPrivileges(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) dropPrivileges() error {
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("running as root, and no unprivileged user (postgres, nobody) to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c.uid, c.gid = uid, gid
	c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	// The server must be able to reach its directory. When an ancestor is
	// closed to it (a checkout under /root), keep the cluster in a directory
	// derived from the requested one instead, rather than loosening the
	// permissions of the user's home. /var/lib is root's: unlike /tmp, no
	// other user can plant a symlink there, and it survives reboots.
	if !traversableByOthers(filepath.Dir(c.Dir)) {
		sum := sha256.Sum256([]byte(c.Dir))
		alt := filepath.Join("/var/lib/srarena", "pg-"+hex.EncodeToString(sum[:6]))
		c.Log.Warn("cluster directory not reachable by the unprivileged PostgreSQL user; using another",
			"requested", c.Dir, "using", alt, "user", u.Username)
		c.Dir = alt
	}
	return nil
}

// traversableByOthers reports whether every directory from / to dir (those
// that exist) has the "others may search" bit.
func traversableByOthers(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == "/" || d == "." {
			return true
		}
	}
}

func (c *Cluster) dataDir() string   { return filepath.Join(c.Dir, "data") }
func (c *Cluster) socketDir() string { return filepath.Join(c.Dir, "run") }
func (c *Cluster) logFile() string   { return filepath.Join(c.Dir, "postgres.log") }

// Port names the socket file only (listen_addresses is empty).
const port = 5432

// URL returns a pgx connection string for database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("host=%s port=%d user=srarena dbname=%s sslmode=disable", c.socketDir(), port, db)
}

func (c *Cluster) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	// Own process group: a Ctrl-C at the terminal reaches srarena, which then
	// stops the server in order, instead of killing it mid-flight.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true}
	return cmd
}

// Start creates the cluster on first use and starts it. When the cluster is
// already running (left over by a killed srarena), it is reused.
func (c *Cluster) Start(ctx context.Context) error {
	// Missing ancestors are created searchable, so that the unprivileged
	// server can reach its own directory (dropPrivileges checked the others).
	if err := os.MkdirAll(filepath.Dir(c.Dir), 0o755); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	for _, d := range []string{c.Dir, c.socketDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.Chown(d, c.uid, c.gid); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		c.Log.Info("creating PostgreSQL cluster", "dir", c.dataDir())
		out, err := c.cmd(ctx, "initdb", "-D", c.dataDir(), "-U", "srarena", "--auth=trust",
			"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
		if err != nil {
			return fmt.Errorf("pgcluster: initdb: %w\n%s", err, out)
		}
	}
	if c.running(ctx) {
		c.Log.Info("PostgreSQL already running; reusing it", "dir", c.dataDir())
	} else {
		// Trust authentication is safe only because the socket lives in a
		// directory that nobody else may enter (0700) and TCP is off.
		opts := fmt.Sprintf("-k %s -p %d -c listen_addresses='' -c unix_socket_permissions=0700 -c fsync=on",
			c.socketDir(), port)
		out, err := c.cmd(ctx, "pg_ctl", "start", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60", "-s", "-o", opts).CombinedOutput()
		if err != nil {
			tail, _ := os.ReadFile(c.logFile())
			return fmt.Errorf("pgcluster: pg_ctl start: %w\n%s\n%s", err, out, lastLines(string(tail), 15))
		}
	}
	return c.ensureDB(ctx, "srarena")
}

func (c *Cluster) running(ctx context.Context) bool {
	return c.cmd(ctx, "pg_ctl", "status", "-D", c.dataDir()).Run() == nil
}

// ensureDB creates the application database on first start.
func (c *Cluster) ensureDB(ctx context.Context, name string) error {
	return createDatabase(ctx, c.URL("postgres"), name, "")
}

// Stop shuts the server down (fast mode: active transactions are rolled back).
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.running(ctx) {
		return nil
	}
	out, err := c.cmd(ctx, "pg_ctl", "stop", "-D", c.dataDir(), "-m", "fast", "-w", "-t", "60", "-s").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Wait blocks until the server answers or ctx ends; pg_ctl -w already waits,
// so this is a safety net for a server that was left running.
func (c *Cluster) Wait(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := ping(ctx, c.URL("postgres")); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: server not answering: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
