package blob

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestMigrateDirToS3(t *testing.T) {
	ctx := context.Background()
	src, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dst, err := NewS3(ctx, testS3Config(t))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, n := range []int{0, 10, 6 << 20} {
		d, err := PutBytes(ctx, src, randomBytes(n, uint64(20+i)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, d)
	}
	// One is in the destination already.
	if _, err := PutBytes(ctx, dst, randomBytes(10, 21)); err != nil {
		t.Fatal(err)
	}
	rep, err := Migrate(ctx, src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 2 || rep.Present != 1 || rep.Verified != 3 || len(rep.Failed) != 0 || rep.Bytes != 6<<20 {
		t.Fatalf("report %+v", rep)
	}
	for i, d := range want {
		got, err := ReadAll(ctx, dst, d)
		if err != nil || !bytes.Equal(got, randomBytes([]int{0, 10, 6 << 20}[i], uint64(20+i))) {
			t.Fatalf("blob %d in S3: %v", i, err)
		}
	}
	// Running it again copies nothing and verifies everything.
	if rep, err = Migrate(ctx, src, dst, nil); err != nil || rep.Copied != 0 || rep.Verified != 3 {
		t.Fatalf("second run: %+v, %v", rep, err)
	}

	// A corrupted local blob is reported, and nothing is left under its
	// wrong digest.
	bad, _ := PutBytes(ctx, src, []byte("original"))
	os.WriteFile(src.path(bad), []byte("rotten"), 0o600)
	var failed []string
	rep, err = Migrate(ctx, src, dst, func(d string, err error) {
		if err != nil {
			failed = append(failed, d+": "+err.Error())
		}
	})
	if err == nil || !slices.Equal(rep.Failed, []string{bad}) || len(failed) != 1 || !strings.Contains(failed[0], "corrupted") {
		t.Fatalf("corrupt source: %+v, %v, %v", rep, err, failed)
	}
	if Exists(ctx, dst, bad) || Exists(ctx, dst, sha([]byte("rotten"))) {
		t.Fatal("corrupt blob reached S3")
	}
}
