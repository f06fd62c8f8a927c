package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/internal/apitoken"
	"github.com/srarena/srarena/internal/pgcluster"
	"github.com/srarena/srarena/store"
)

// Operator commands work on the database directly, as `srarena up` does:
// DATABASE_URL, else the private cluster under --data-dir, which must be
// running (`srarena up` in another terminal); they never start or stop it.

func init() {
	register(command{name: "user", summary: "operator: add an account (user add NAME --email E [--admin] [--password-stdin])", run: runUser})
	register(command{name: "token", summary: "operator: create an API token for a user (token create --user NAME [--name LABEL])", run: runToken})
}

// stdin is where --password-stdin reads; tests replace it.
var stdin io.Reader = os.Stdin

// parseInterspersed parses flags that may come before, between or after
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// dbFlags are the flags of the operator commands.
type dbFlags struct{ url, dataDir string }

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.url, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL connection string (env DATABASE_URL); empty: the running private cluster under --data-dir")
	dd := os.Getenv("SRARENA_DATA_DIR")
	if dd == "" {
		dd = "./var"
	}
	fs.StringVar(&d.dataDir, "data-dir", dd, "directory of the private PostgreSQL cluster that `srarena up` runs (env SRARENA_DATA_DIR)")
}

func (d *dbFlags) open(ctx context.Context) (*store.Store, func(), error) {
	url := d.url
	if url == "" {
		dir, err := filepath.Abs(filepath.Join(d.dataDir, "pg"))
		if err != nil {
			return nil, nil, err
		}
		cl, err := pgcluster.New(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return nil, nil, err
		}
		url = cl.URL("srarena")
	}
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		if d.url == "" {
			return nil, nil, fmt.Errorf("no database: set DATABASE_URL, or start `srarena up --data-dir %s` first (its private PostgreSQL is not running): %w", d.dataDir, err)
		}
		return nil, nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	return store.New(pool), pool.Close, nil
}

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "user add NAME --email EMAIL [--admin] [--password-stdin]"
	if len(args) == 0 || args[0] != "add" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "Usage: srarena "+synopsis)
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: srarena %s", errUsage, synopsis)
	}
	fs := newFlagSet("user add", synopsis, stdout)
	var db dbFlags
	db.register(fs)
	email := fs.String("email", "", "the account's email address (required)")
	admin := fs.Bool("admin", false, "site admin (organizer rights on every challenge)")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input; without it a random password is printed once")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: give one user NAME (srarena %s)", errUsage, synopsis)
	}
	name := pos[0]
	if a, err := mail.ParseAddress(*email); err != nil || a.Address != *email || a.Name != "" {
		return fmt.Errorf("%w: --email must be an address like name@example.org", errUsage)
	}
	if !handlers.ValidUsername(name) {
		return fmt.Errorf("%w: NAME must be 2 to 40 letters, digits, '_', '.' or '-'", errUsage)
	}
	password, printed := "", false
	if *pwStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
		if n := utf8.RuneCountInString(password); n < handlers.MinPassword || len(password) > 1024 {
			return fmt.Errorf("%w: the password must have %d to 1024 characters", errUsage, handlers.MinPassword)
		}
	} else {
		var b [18]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		password, printed = base64.RawURLEncoding.EncodeToString(b[:]), true
	}
	hasher, err := handlers.NewHasher(handlers.DefaultArgon2)
	if err != nil {
		return err
	}
	hash, err := hasher.Hash(password)
	if err != nil {
		return err
	}
	st, closeDB, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	u, err := st.CreateUserAs(ctx, *email, name, hash, *admin)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("an account with this username or email exists already (%w)", err)
	}
	if err != nil {
		return err
	}
	role := "participant"
	if u.IsAdmin {
		role = "site admin"
	}
	fmt.Fprintf(stderr, "created user %s <%s> (id %d, %s)\n", u.Username, u.Email, u.ID, role)
	if printed {
		fmt.Fprintf(stderr, "password (shown once; pass --password-stdin to choose one):\n")
		fmt.Fprintln(stdout, password)
	}
	return nil
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "token create --user NAME [--name LABEL]"
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "Usage: srarena "+synopsis)
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: srarena %s", errUsage, synopsis)
	}
	fs := newFlagSet("token create", synopsis, stdout)
	var db dbFlags
	db.register(fs)
	user := fs.String("user", "", "username or email of the token's owner (required)")
	label := fs.String("name", "cli", "what the token is for; shown on the account page")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 || *user == "" {
		return fmt.Errorf("%w: srarena %s", errUsage, synopsis)
	}
	if *label == "" || len(*label) > apitoken.MaxName || !utf8.ValidString(*label) || strings.IndexByte(*label, 0) >= 0 {
		return fmt.Errorf("%w: --name must have 1 to %d bytes of text", errUsage, apitoken.MaxName)
	}
	st, closeDB, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	u, err := st.UserByLogin(ctx, *user)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %q (srarena user add creates one)", *user)
	}
	if err != nil {
		return err
	}
	tok, hash, err := apitoken.New()
	if err != nil {
		return err
	}
	if _, err := st.CreateAPIToken(ctx, u.ID, *label, hash); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "token %q for %s (shown once; revoke it on the account page):\n", *label, u.Username)
	fmt.Fprintln(stdout, tok)
	return nil
}
