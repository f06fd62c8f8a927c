package sandbox

import (
	"os"
	"path/filepath"
	"sync/atomic"
)

// BuildStamp identifies one build of srarena and srarena-sandbox: `make
// build` and the Dockerfile link the same random value into both (-X). It
// is empty in any other build (go build, go run, go test).
var BuildStamp string

// SiblingName is the small child program (cmd/srarena-sandbox) srarena
// starts instead of itself when it finds it next to its own executable.
const SiblingName = "srarena-sandbox"

// siblingOff is set once a sibling turned out to be from another build (or
// failed to start): from then on this process re-executes itself.
var siblingOff atomic.Bool

// siblingDir is where the sibling is looked for ("" means the directory of
// os.Executable()); tests point it elsewhere.
var siblingDir string

// defaultCommand is the child's argv when the Spec names none: the
// sibling when this is a stamped build and the sibling exists, else this
// very executable. sibling says which; the child reports its BuildStamp
// before it gets the model (Status.Build), and Start falls back to this
// executable if the sibling's is not ours.
func defaultCommand(arg string) (argv []string, sibling bool, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, false, err
	}
	if sib := siblingPath(exe); sib != "" {
		return []string{sib, arg}, true, nil
	}
	return []string{exe, arg}, false, nil
}

func siblingPath(exe string) string {
	if BuildStamp == "" || siblingOff.Load() {
		return ""
	}
	dir := siblingDir
	if dir == "" {
		dir = filepath.Dir(exe)
	}
	sib := filepath.Join(dir, SiblingName)
	if st, err := os.Stat(sib); err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return ""
	}
	return sib
}
