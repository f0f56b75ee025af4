package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Runner runs a command and returns its standard output. Tests use a fake.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// CmdError is a command that failed: its exit code and standard error.
type CmdError struct {
	Cmd      string
	ExitCode int
	Stderr   string
}

func (e *CmdError) Error() string {
	return fmt.Sprintf("%s: exit %d: %s", e.Cmd, e.ExitCode, strings.TrimSpace(e.Stderr))
}

// IsNotFound says whether a Ceph CLI failed because the object does not exist (ENOENT is exit
// code 2 for ceph and rbd).
func IsNotFound(err error) bool {
	var ce *CmdError
	if !errors.As(err, &ce) {
		return false
	}
	s := strings.ToLower(ce.Stderr)
	return ce.ExitCode == 2 || strings.Contains(s, "enoent") || strings.Contains(s, "does not exist") ||
		strings.Contains(s, "no such file or directory")
}

// IsExists says whether a Ceph CLI failed because the object is already there (EEXIST, 17).
func IsExists(err error) bool {
	var ce *CmdError
	return errors.As(err, &ce) && (ce.ExitCode == 17 || strings.Contains(ce.Stderr, "EEXIST"))
}

// ExecRunner runs real commands. Command lines are logged: they never hold a key (see Ceph.Run).
type ExecRunner struct{}

func (ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	line := name + " " + strings.Join(args, " ")
	log.Printf("exec: %s", line)
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// ceph-fuse leaves a daemon behind that may hold our pipes open: stop waiting for them once the
	// command itself has exited.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		err = nil
	}
	if err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		msg := stderr.String()
		if msg == "" {
			msg = err.Error()
		}
		return stdout.Bytes(), &CmdError{Cmd: line, ExitCode: code, Stderr: msg}
	}
	return stdout.Bytes(), nil
}

// Cred is a Ceph user (without "client.") and its key, from the CSI request's secrets.
type Cred struct {
	ID  string
	Key string
}

// String never shows the key.
func (c Cred) String() string { return "client." + c.ID }

// CredFrom takes the first complete ID/key pair of secret keys: Rook's CephFS secrets carry
// adminID/adminKey, its RBD secrets userID/userKey (pkg/operator/ceph/csi/secrets.go).
func CredFrom(secrets map[string]string, pairs ...[2]string) (Cred, error) {
	var names []string
	for _, p := range pairs {
		if id, key := secrets[p[0]], secrets[p[1]]; id != "" && key != "" {
			return Cred{ID: strings.TrimPrefix(id, "client."), Key: key}, nil
		}
		names = append(names, p[0]+"/"+p[1])
	}
	return Cred{}, fmt.Errorf("the request's secrets have no %s (check the StorageClass's csi.storage.k8s.io/*-secret-name)", strings.Join(names, " or "))
}

var (
	adminCred = [2]string{"adminID", "adminKey"}
	userCred  = [2]string{"userID", "userKey"}
)

// Ceph runs the Ceph CLIs (ceph, rbd, ceph-fuse) as a user against a cluster's monitors. The key
// goes into a 0600 file that is removed afterwards, and only its path is on the command line.
type Ceph struct {
	Runner  Runner
	KeysDir string
}

// Run runs "<name> -m <mons> --id <id> --keyfile <file> <args...>".
func (c Ceph) Run(ctx context.Context, cred Cred, mons, name string, args ...string) ([]byte, error) {
	if cred.ID == "" || cred.Key == "" {
		return nil, fmt.Errorf("no Ceph user or key")
	}
	dir := c.KeysDir
	if dir == "" || os.MkdirAll(dir, 0o700) != nil {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "keyfile-") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(cred.Key); err != nil {
		f.Close()
		return nil, fmt.Errorf("key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	full := append([]string{"-m", mons, "--id", cred.ID, "--keyfile", f.Name()}, args...)
	out, err := c.Runner.Run(ctx, name, full...)
	return out, scrub(err, cred.Key)
}

// scrub makes sure that an error message never carries the key, whatever a tool printed.
func scrub(err error, key string) error {
	var ce *CmdError
	if err == nil || key == "" || !errors.As(err, &ce) || !strings.Contains(ce.Stderr+ce.Cmd, key) {
		return err
	}
	c := *ce
	c.Stderr = strings.ReplaceAll(c.Stderr, key, "<key>")
	c.Cmd = strings.ReplaceAll(c.Cmd, key, "<key>")
	return &c
}
