package driver

import (
	"context"
	"flag"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"testing"
)

const testKey = "AQBc2tVjAAAAABAAsEcReTkEyS3cReTkEyS3cReT=="

// fakeRunner stands in for the Ceph CLIs. For every call it checks that the key is on no
// argument, that --keyfile names a 0600 file holding the key, and then hands the command (without
// the connection arguments) to handle.
type fakeRunner struct {
	t      *testing.T
	mu     sync.Mutex
	calls  []string // "name args..." without -m/--id/--keyfile
	files  []string // key files seen
	handle func(name string, args []string) ([]byte, error)
}

func (f *fakeRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range append([]string{name}, args...) {
		if strings.Contains(a, testKey) || strings.Contains(a, testKey[:12]) {
			f.t.Errorf("the key is on the command line: %s %v", name, args)
		}
	}
	if len(args) < 6 || args[0] != "-m" || args[2] != "--id" || args[4] != "--keyfile" {
		f.t.Fatalf("connection arguments missing: %s %v", name, args)
	}
	kf := args[5]
	st, err := os.Stat(kf)
	if err != nil {
		f.t.Fatalf("key file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		f.t.Errorf("key file mode %v", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(kf); string(b) != testKey {
		f.t.Errorf("key file holds %q", b)
	}
	f.files = append(f.files, kf)
	rest := args[6:]
	f.calls = append(f.calls, strings.TrimSpace(name+" "+strings.Join(rest, " ")))
	if f.handle == nil {
		return nil, nil
	}
	return f.handle(name, rest)
}

func (f *fakeRunner) called(prefix string) int {
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// checkKeyFilesGone: no key file outlives its command.
func (f *fakeRunner) checkKeyFilesGone() {
	for _, kf := range f.files {
		if _, err := os.Stat(kf); err == nil {
			f.t.Errorf("key file %s left behind", kf)
		}
	}
}

func notFound(what string) error {
	return &CmdError{Cmd: what, ExitCode: 2, Stderr: "Error ENOENT: " + what + " does not exist"}
}

// fakeMounts is a mount table.
type fakeMounts struct {
	mu      sync.Mutex
	state   map[string]MountState
	binds   int
	umounts []string
}

func newFakeMounts() *fakeMounts { return &fakeMounts{state: map[string]MountState{}} }

func (m *fakeMounts) State(p string) (MountState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[p], nil
}

func (m *fakeMounts) set(p string, s MountState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state[p] = s
}

func (m *fakeMounts) BindMount(src, dst string, ro bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.binds++
	m.state[dst] = Mounted
	return nil
}

func (m *fakeMounts) Unmount(p string, lazy bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	what := p
	if lazy {
		what += " (lazy)"
	}
	m.umounts = append(m.umounts, what)
	m.state[p] = NotMounted
	return nil
}

var testClusters = StaticClusters{{ClusterID: "rook-ceph", Monitors: []string{"10.0.0.1:6789", "10.0.0.2:6789"}}}

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		log.SetOutput(io.Discard)
	}
	os.Exit(m.Run())
}
