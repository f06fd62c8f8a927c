package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/internal/apitoken"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/store"
)

// TestOperatorCommands: `user add` makes an account (a site admin with
// --admin; without --password-stdin a random password, printed once, that
// verifies), refuses bad input with exit 2 and a taken name with exit 1;
// `token create` stores only the token's hash and refuses unknown users.
func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)

	code, out, errOut := cli(t, "", "user", "add", "root", "--email", "root@example.org", "--admin", "--database-url", url)
	pw := strings.TrimSpace(out)
	if code != 0 || len(pw) < 20 || !strings.Contains(errOut, "site admin") {
		t.Fatalf("user add --admin: %d %q %s", code, out, errOut)
	}
	u, err := st.UserByLogin(ctx, "root")
	if err != nil || !u.IsAdmin {
		t.Fatalf("user: %+v %v", u, err)
	}
	ok, err := (&handlers.Hasher{Params: handlers.DefaultArgon2}).Verify(pw, u.PasswordHash)
	if err != nil || !ok {
		t.Errorf("the printed password does not verify: %v", err)
	}
	for _, tc := range []struct {
		args []string
		in   string
		code int
	}{
		{[]string{"user", "add", "x y", "--email", "x@example.org"}, "", 2},
		{[]string{"user", "add", "xy", "--email", "not an address"}, "", 2},
		{[]string{"user", "add", "xy", "--email", "xy@example.org", "--password-stdin"}, "short\n", 2},
		{[]string{"user", "add", "ROOT", "--email", "other@example.org", "--password-stdin"}, "long enough password\n", 1},
		{[]string{"user", "remove", "root"}, "", 2},
		{[]string{"token", "create", "--user", "nobody"}, "", 1},
		{[]string{"token", "create"}, "", 2},
	} {
		args := append(tc.args, "--database-url", url)
		if code, _, errOut := cli(t, tc.in, args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, errOut)
		}
	}

	code, out, _ = cli(t, "", "token", "create", "--user", "root@example.org", "--name", "deploy", "--database-url", url)
	tok := strings.TrimSpace(out)
	if code != 0 || !apitoken.WellFormed(tok) {
		t.Fatalf("token create: %d %q", code, out)
	}
	got, _, err := st.UserByAPIToken(ctx, apitoken.Hash(tok))
	if err != nil || got.ID != u.ID {
		t.Errorf("token's user: %+v %v", got, err)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE name = 'deploy' AND position(convert_to($1, 'UTF8') in token_hash) = 0`, tok[4:20]).Scan(&n)
	if n != 1 {
		t.Error("the token is not stored as its hash only")
	}
}
