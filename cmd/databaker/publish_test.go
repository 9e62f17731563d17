package main

// Tests of the publish guarantees against a real databaker process, built
// once, which the tests stop with SIGKILL or SIGINT at the named points of
// internal/bake's DATABAKER_TEST_PAUSE hook.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/google/go-cmp/cmp"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// databakerBin builds cmd/databaker once per test binary run.
func databakerBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "databaker-bin-")
		if err != nil {
			binErr = err
			return
		}
		if err := os.Chmod(dir, 0o755); err != nil { // runnable by the unprivileged user
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "databaker")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// nobody is the user the processes run as when the tests run as root, for
// whom file modes would mean nothing.
const nobody = 65534

// pubEnv is a test's folder and inputs: A is the sample, B the sample with
// one ballot fewer, so their outputs differ.
type pubEnv struct {
	t      *testing.T
	dir    string
	a, b   []string // input flags
	asUser bool
}

func newPubEnv(t *testing.T) *pubEnv {
	t.Helper()
	dir := t.TempDir()
	e := &pubEnv{t: t, dir: dir, asUser: os.Geteuid() == 0}
	if e.asUser {
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	sample := "../../testdata/sample/"
	ab, err := os.ReadFile(sample + "addressbase_cleaned.csv")
	if err != nil {
		t.Fatal(err)
	}
	ballots, err := os.ReadFile(sample + "current_elections.csv")
	if err != nil {
		t.Fatal(err)
	}
	var fewer []string
	for _, l := range strings.SplitAfter(string(ballots), "\n") {
		if !strings.HasPrefix(l, "local.maidstone.north.") {
			fewer = append(fewer, l)
		}
	}
	if len(fewer) == len(strings.SplitAfter(string(ballots), "\n")) {
		t.Fatal("the sample has no local.maidstone.north ballot to drop")
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	abPath := write("ab.csv", ab)
	e.a = []string{"--addressbase", abPath, "--ballots", write("ballots-a.csv", ballots)}
	// B changes most outcodes on purpose: the plausibility gate accepts it,
	// so these tests reach the publish.
	e.b = []string{"--addressbase", abPath, "--ballots", write("ballots-b.csv", []byte(strings.Join(fewer, ""))), "--accept-change"}
	return e
}

// mkdir makes a folder the processes can write.
func (e *pubEnv) mkdir(rel string) string {
	p := filepath.Join(e.dir, rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if e.asUser {
		if err := os.Chown(p, nobody, nobody); err != nil {
			e.t.Fatal(err)
		}
	}
	return p
}

// previous makes the folder rel with A's output in rel/out, and returns
// that path and tree.
func (e *pubEnv) previous(rel string) (string, map[string]string) {
	e.t.Helper()
	out := filepath.Join(e.mkdir(rel), "out")
	e.mustBake(out, e.a)
	return out, tree(e.t, out)
}

// cmd is a bake of inputs into out, paused at pause if not "".
func (e *pubEnv) cmd(pause, out string, inputs []string) *exec.Cmd {
	c := exec.Command(databakerBin(e.t), append(append([]string{"bake"}, inputs...), "--out", out)...)
	c.Env = append(os.Environ(), "DATABAKER_TEST_PAUSE="+pause)
	if e.asUser {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	return c
}

// bake runs a bake to its end and returns its exit code and stderr.
func (e *pubEnv) bake(out string, inputs []string) (int, string) {
	e.t.Helper()
	c := e.cmd("", out, inputs)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	err := c.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Fatal(err)
	}
	return c.ProcessState.ExitCode(), stderr.String()
}

// mustBake bakes and fails the test unless it exits 0.
func (e *pubEnv) mustBake(out string, inputs []string) {
	e.t.Helper()
	if code, stderr := e.bake(out, inputs); code != 0 {
		e.t.Fatalf("bake into %s: exit %d:\n%s", out, code, stderr)
	}
}

// paused is a process stopped at a pause point.
type paused struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	stderr    *strings.Builder // read only once done is closed
	done      chan struct{}    // closed when stderr is drained
	signalled chan struct{}    // closed when the paused process reports a signal
}

// start runs a bake that pauses at point and returns once it is there.
func (e *pubEnv) start(point, out string, inputs []string) *paused {
	e.t.Helper()
	c := e.cmd(point, out, inputs)
	stdin, err := c.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	pipe, err := c.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	p := &paused{cmd: c, stdin: stdin, stderr: &strings.Builder{}, done: make(chan struct{}), signalled: make(chan struct{})}
	there := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			fmt.Fprintln(p.stderr, sc.Text())
			switch sc.Text() {
			case "databaker: test pause at " + point:
				close(there)
			case "databaker: test signal received":
				close(p.signalled)
			}
		}
	}()
	select {
	case <-there:
		return p
	case <-p.done:
		c.Wait()
		e.t.Fatalf("bake ended before pausing at %q:\n%s", point, p.stderr)
	case <-time.After(time.Minute):
		c.Process.Kill()
		<-p.done
		c.Wait()
		e.t.Fatalf("bake did not reach %q within a minute:\n%s", point, p.stderr)
	}
	return nil
}

// wait lets p go on (closes its stdin) and returns its exit code and stderr.
func (p *paused) wait() (int, string) {
	p.stdin.Close()
	<-p.done
	p.cmd.Wait()
	return p.cmd.ProcessState.ExitCode(), p.stderr.String()
}

// kill stops p with SIGKILL and waits for it to end.
func (p *paused) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.cmd.Wait()
	if st := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !st.Signaled() || st.Signal() != syscall.SIGKILL {
		t.Fatalf("process not killed: %v", p.cmd.ProcessState)
	}
}

// manifestWithoutChanges is a run manifest without what it says about the
// run before it (changes, accepted findings): a run after a killed one
// compares with another previous output than a clean run does, and
// otherwise gives the same manifest.
func manifestWithoutChanges(t *testing.T, name string, b []byte) []byte {
	t.Helper()
	var m manifest.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m.Changes, m.Accepted = manifest.Changes{}, nil
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tree returns every file under dir by relative path, with its bytes'
// SHA-256 ("dir" for folders; a manifest's without its changes), or nil
// if dir does not exist.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			m[rel] = "dir"
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if filepath.Base(rel) == manifest.FileName {
				b = manifestWithoutChanges(t, rel, b)
			}
			sum := sha256.Sum256(b)
			m[rel] = hex.EncodeToString(sum[:])
		default:
			m[rel] = d.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// expectOut fails t unless out holds want (nil: out does not exist) and,
// if beside is not nil, out's folder holds only beside.
func expectOut(t *testing.T, when, out string, want map[string]string, beside []string) {
	t.Helper()
	if diff := cmp.Diff(want, tree(t, out)); diff != "" {
		t.Errorf("%s: --out (-want +got):\n%s", when, diff)
	}
	if beside == nil {
		return
	}
	if diff := cmp.Diff(beside, names(t, filepath.Dir(out))); diff != "" {
		t.Errorf("%s: beside --out (-want +got):\n%s", when, diff)
	}
}

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

// plantLitter leaves beside out what a killed run leaves: a partial
// staging folder, the processes' own.
func (e *pubEnv) plantLitter(out string) {
	t := e.t
	t.Helper()
	d := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".staging-k1ll3d")
	if err := os.MkdirAll(filepath.Join(d, "current_elections_parquet"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(d, "current_elections_parquet", "ME14.parquet")
	if err := os.WriteFile(f, []byte("half a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if e.asUser {
		for _, p := range []string{d, filepath.Dir(f), f} {
			if err := os.Chown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// with returns e for the subtest t.
func (e *pubEnv) with(t *testing.T) *pubEnv {
	c := *e
	c.t = t
	return &c
}

// points runs a bake with DATABAKER_TEST_PAUSE=list and returns the points
// it passed, in order.
func (e *pubEnv) points(out string, inputs []string) []string {
	e.t.Helper()
	c := e.cmd("list", out, inputs)
	b, err := c.CombinedOutput()
	if err != nil {
		e.t.Fatalf("list run: %v\n%s", err, b)
	}
	var pts []string
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "databaker: test point "); ok {
			pts = append(pts, p)
		}
	}
	return pts
}

// TestBakeKilledAnywhere kills a real bake at every point of a run,
// including between every two filesystem steps of cleanup and publish,
// over a previous output and into a new --out. After each kill --out is
// exactly the old output until the swap and exactly the new one from it,
// and the next bake removes the litter and gives the bytes of a clean bake.
func TestBakeKilledAnywhere(t *testing.T) {
	e := newPubEnv(t)
	ref := e.mkdir("ref")
	e.mustBake(filepath.Join(ref, "a"), e.a)
	e.mustBake(filepath.Join(ref, "b"), e.b)
	treeA, treeB := tree(t, filepath.Join(ref, "a")), tree(t, filepath.Join(ref, "b"))
	if cmp.Equal(treeA, treeB) {
		t.Fatal("inputs A and B bake to the same output; the test could not tell them apart")
	}

	type change struct {
		at   string            // from this point on (killed there or later)
		want map[string]string // --out is this
	}
	for _, sc := range []struct {
		name    string
		setup   func(e *pubEnv, out string) // what is at --out before the run
		before  map[string]string           // --out until the first change
		changes []change
		points  []string // the points the run must pass, in order; others may lie between
	}{
		{"over previous output", func(e *pubEnv, out string) {
			e.mustBake(out, e.a)
			e.plantLitter(out)
		}, treeA, []change{{"publish: swapped", treeB}}, []string{
			"locked", "cleanup: removed one", "cleaned", "staged", "begin addressbase layer",
			"begin current elections layer", "seeded current_elections_parquet", "scratch removed",
			"publish: start", "publish: mode set", "publish: swapped", "publish: old tree writable", "publish: old tree removed"}},
		{"new out", func(*pubEnv, string) {}, nil, []change{{"publish: renamed", treeB}}, []string{
			"locked", "cleaned", "staged", "begin addressbase layer", "begin current elections layer",
			"seeded current_elections_parquet", "scratch removed", "publish: start", "publish: renamed"}},
		{"older version killed between its renames", func(e *pubEnv, out string) {
			// It left no --out, the previous output in <staging>.old,
			// and a staging folder.
			e.mustBake(out, e.a)
			if err := os.Rename(out, filepath.Join(filepath.Dir(out), ".out.staging-3kq1v.old")); err != nil {
				e.t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(filepath.Dir(out), ".out.lock")); err != nil {
				e.t.Fatal(err)
			}
			e.plantLitter(out)
		}, nil, []change{{"cleanup: restored", treeA}, {"publish: swapped", treeB}}, []string{
			"locked", "cleanup: restored", "cleanup: removed one", "cleanup: removed one", "cleaned",
			"publish: mode set", "publish: swapped", "publish: old tree removed"}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			e := e.with(t)
			prepare := func(name string) string {
				out := filepath.Join(e.mkdir(filepath.Join(sc.name, name)), "out")
				sc.setup(e, out)
				return out
			}
			pts := e.points(prepare("list"), e.b)
			if !isSubsequence(sc.points, pts) {
				t.Fatalf("the run passed the points %q; want %q among them, in that order", pts, sc.points)
			}
			want, next := sc.before, 0
			for i, pt := range pts {
				if next < len(sc.changes) && pt == sc.changes[next].at {
					want, next = sc.changes[next].want, next+1
				}
				out := prepare(fmt.Sprint(i))
				e.start(pt, out, e.b).kill(t)
				expectOut(t, fmt.Sprintf("killed at %q", pt), out, want, nil)
				e.mustBake(out, e.b)
				expectOut(t, fmt.Sprintf("killed at %q, then baked again", pt), out, treeB, []string{".out.lock", "out"})
			}
		})
	}
}

// TestBakeKilledAtRandomMoments kills real bakes over a previous output
// at evenly spread moments of a run (their timing, not a pause point), wherever they are (in the middle of
// writing a file, of seeding, of a removal): --out is always A's or B's
// output, whole, and the next bake gives B's bytes and no litter.
func TestBakeKilledAtRandomMoments(t *testing.T) {
	e := newPubEnv(t)
	ref := filepath.Join(e.mkdir("ref"), "b")
	e.mustBake(ref, e.b)
	treeB := tree(t, ref)
	out, _ := e.previous("timing")
	t0 := time.Now()
	e.mustBake(out, e.b)
	run := time.Since(t0)
	// Spread over a bit more than a run, as a run's length varies.
	const kills = 24
	span := run * 3 / 2
	seen := map[bool]int{}
	for i := range kills {
		out, treeA := e.previous(fmt.Sprint(i))
		c := e.cmd("", out, e.b)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(span * time.Duration(i) / kills)
		c.Process.Kill()
		c.Wait()
		got := tree(t, out)
		isB := cmp.Equal(got, treeB)
		if !isB && !cmp.Equal(got, treeA) {
			t.Errorf("killed %s into a run: --out is neither the old nor the new output:\n%s", span*time.Duration(i)/kills, cmp.Diff(treeA, got))
		}
		seen[isB]++
		e.mustBake(out, e.b)
		expectOut(t, "then baked again", out, treeB, []string{".out.lock", "out"})
	}
	t.Logf("a run took %s; of %d kills, %d left the old output and %d the new", run, kills, seen[false], seen[true])
}

// isSubsequence reports whether want appears in got in order, with
// perhaps other elements between.
func isSubsequence(want, got []string) bool {
	for _, g := range got {
		if len(want) > 0 && g == want[0] {
			want = want[1:]
		}
	}
	return len(want) == 0
}

// TestBakeConcurrent: while one bake runs, a second into the same --out
// fails at once naming the first's pid; the first then publishes.
func TestBakeConcurrent(t *testing.T) {
	e := newPubEnv(t)
	out, treeA := e.previous("p")
	ref := filepath.Join(e.mkdir("ref"), "b")
	e.mustBake(ref, e.b)

	first := e.start("begin current elections layer", out, e.b)
	t0 := time.Now()
	code, stderr := e.bake(out, e.a)
	if el := time.Since(t0); el > 5*time.Second {
		t.Errorf("the second bake took %s to fail; want at once", el)
	}
	want := fmt.Sprintf("databaker bake: another databaker bake (pid %d) is writing %s", first.cmd.Process.Pid, out)
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("second bake: exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr, want)
	}
	expectOut(t, "after the second bake", out, treeA, nil)
	if code, stderr := first.wait(); code != 0 {
		t.Fatalf("first bake: exit %d:\n%s", code, stderr)
	}
	expectOut(t, "after the first bake", out, tree(t, ref), []string{".out.lock", "out"})
}

// TestBakeInterrupted sends SIGINT to a real bake: before the swap it
// says "interrupted: previous output kept", exits non-zero and leaves the
// old output and no litter; after the swap the output is published and it
// exits 0.
func TestBakeInterrupted(t *testing.T) {
	e := newPubEnv(t)
	ref := filepath.Join(e.mkdir("ref"), "b")
	e.mustBake(ref, e.b)
	for i, tc := range []struct {
		point     string
		published bool
	}{
		{"begin addressbase layer", false},
		{"seeded current_elections_parquet", false},
		{"publish: mode set", false},
		{"publish: swapped", true},
	} {
		t.Run(tc.point, func(t *testing.T) {
			e := e.with(t)
			out, treeA := e.previous(fmt.Sprint(i))
			p := e.start(tc.point, out, e.b)
			if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			// The signal is handled while the process waits at the
			// point; let it go on once it says so.
			select {
			case <-p.signalled:
			case <-time.After(time.Minute):
				t.Fatal("the paused bake never reported the signal")
			}
			code, stderr := p.wait()
			want := treeA
			if tc.published {
				want = tree(t, ref)
				if code != 0 {
					t.Errorf("exit %d after publishing; want 0:\n%s", code, stderr)
				}
			} else if code == 0 || !strings.Contains(stderr, "databaker bake: interrupted: previous output kept\n") {
				t.Errorf("exit %d, stderr:\n%s\nwant non-zero and %q", code, stderr, "interrupted: previous output kept")
			}
			expectOut(t, "after SIGINT", out, want, []string{".out.lock", "out"})
		})
	}
}

// TestBakeOutKinds: --out's mode is kept, a read-only --out is replaced
// with exit 0, a read-only parent fails before anything changes, and a
// symlinked --out is followed and kept. When the tests run as root the
// bakes run as nobody, so the modes mean something.
func TestBakeOutKinds(t *testing.T) {
	e := newPubEnv(t)
	ref := filepath.Join(e.mkdir("ref"), "b")
	e.mustBake(ref, e.b)
	treeB := tree(t, ref)

	mode := func(p string) fs.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	for _, m := range []fs.FileMode{0o750, 0o555, 0o777} {
		t.Run(fmt.Sprintf("mode %o", m), func(t *testing.T) {
			e := e.with(t)
			out, _ := e.previous(fmt.Sprintf("mode%o", m))
			if err := os.Chmod(out, m); err != nil {
				t.Fatal(err)
			}
			e.mustBake(out, e.b)
			if got := mode(out); got != m {
				t.Errorf("mode %o after the bake; want %o", got, m)
			}
			expectOut(t, "after the bake", out, treeB, []string{".out.lock", "out"})
		})
	}

	for _, lockFile := range []bool{true, false} {
		t.Run(fmt.Sprintf("read-only parent, lock file %v", lockFile), func(t *testing.T) {
			e := e.with(t)
			out, treeA := e.previous(fmt.Sprintf("roparent-%v", lockFile))
			parent := filepath.Dir(out)
			if !lockFile {
				if err := os.Remove(filepath.Join(parent, ".out.lock")); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(parent, 0o555); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(parent, 0o755)
			code, stderr := e.bake(out, e.b)
			if code != 1 || !strings.Contains(stderr, "permission denied") || !strings.Contains(stderr, out) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and a permission error naming %s", code, stderr, out)
			}
			expectOut(t, "after the failed bake", out, treeA, nil)
		})
	}

	t.Run("another user's lock file", func(t *testing.T) {
		e := e.with(t)
		if !e.asUser {
			t.Skip("needs root, to make a file of another user")
		}
		out, _ := e.previous("otherlock")
		lock := filepath.Join(filepath.Dir(out), ".out.lock")
		if err := os.Chown(lock, 0, 0); err != nil {
			t.Fatal(err)
		}
		e.mustBake(out, e.b)
		expectOut(t, "after the bake", out, treeB, []string{".out.lock", "out"})
	})

	t.Run("symlink", func(t *testing.T) {
		e := e.with(t)
		data := e.mkdir("data")
		real := filepath.Join(data, "real")
		e.mustBake(real, e.a)
		link := filepath.Join(e.mkdir("links"), "out")
		if err := os.Symlink("../data/real", link); err != nil {
			t.Fatal(err)
		}
		e.mustBake(link, e.b)
		if target, err := os.Readlink(link); err != nil || target != "../data/real" {
			t.Errorf("symlink now %q, %v; want it kept, pointing to ../data/real", target, err)
		}
		expectOut(t, "the symlink's folder", real, treeB, []string{".real.lock", "real"})
		if diff := cmp.Diff([]string{"out"}, names(t, filepath.Dir(link))); diff != "" {
			t.Errorf("beside the symlink (-want +got):\n%s", diff)
		}
	})
}
