package driver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCephRunKeepsKeyOffCommandLine(t *testing.T) {
	f := &fakeRunner{t: t}
	dir := filepath.Join(t.TempDir(), "keys")
	c := Ceph{Runner: f, KeysDir: dir}
	if _, err := c.Run(context.Background(), Cred{ID: "csi-cephfs-provisioner", Key: testKey}, "10.0.0.1:6789", "ceph", "fs", "ls"); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 1 || f.calls[0] != "ceph fs ls" || !strings.HasPrefix(f.files[0], dir+"/") {
		t.Errorf("calls %v, key files %v", f.calls, f.files)
	}
	f.checkKeyFilesGone()
	if _, err := c.Run(context.Background(), Cred{ID: "x"}, "m", "ceph"); err == nil {
		t.Error("ran without a key")
	}
}

func TestErrorsNeverCarryTheKey(t *testing.T) {
	f := &fakeRunner{t: t, handle: func(string, []string) ([]byte, error) {
		return nil, &CmdError{Cmd: "ceph", ExitCode: 1, Stderr: "bad key " + testKey}
	}}
	_, err := Ceph{Runner: f, KeysDir: t.TempDir()}.Run(context.Background(), Cred{ID: "u", Key: testKey}, "m", "ceph", "status")
	if err == nil || strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "<key>") {
		t.Errorf("error %v", err)
	}
	if s := (Cred{ID: "u", Key: testKey}).String(); strings.Contains(s, testKey) {
		t.Errorf("Cred prints its key: %s", s)
	}
}

func TestCredFrom(t *testing.T) {
	// Rook's secrets (pkg/operator/ceph/csi/secrets.go)
	cephfs := map[string]string{"adminID": "csi-cephfs-provisioner", "adminKey": testKey}
	rbd := map[string]string{"userID": "csi-rbd-provisioner", "userKey": testKey}
	if c, err := CredFrom(cephfs, adminCred, userCred); err != nil || c.ID != "csi-cephfs-provisioner" {
		t.Errorf("cephfs: %v %v", c, err)
	}
	if c, err := CredFrom(rbd, userCred, adminCred); err != nil || c.ID != "csi-rbd-provisioner" {
		t.Errorf("rbd: %v %v", c, err)
	}
	if c, _ := CredFrom(map[string]string{"userID": "client.x", "userKey": "k"}, userCred); c.ID != "x" {
		t.Errorf("client. prefix kept: %v", c)
	}
	if _, err := CredFrom(map[string]string{"adminID": "x"}, adminCred, userCred); err == nil {
		t.Error("an ID without a key accepted")
	}
}

func TestExecRunner(t *testing.T) {
	out, err := ExecRunner{}.Run(context.Background(), "sh", "-c", "echo out; echo err >&2")
	if err != nil || string(out) != "out\n" {
		t.Errorf("%q %v", out, err)
	}
	_, err = ExecRunner{}.Run(context.Background(), "sh", "-c", "echo 'Error ENOENT: subvolume x does not exist' >&2; exit 2")
	var ce *CmdError
	if !errors.As(err, &ce) || ce.ExitCode != 2 || !IsNotFound(err) {
		t.Errorf("%v", err)
	}
	_, err = ExecRunner{}.Run(context.Background(), "sh", "-c", "exit 17")
	if !IsExists(err) || IsNotFound(err) {
		t.Errorf("%v", err)
	}
	// a daemon that keeps our stdout (as ceph-fuse's does) must not hang the call
	if testing.Short() {
		return
	}
	pidf := filepath.Join(t.TempDir(), "pid")
	if _, err := (ExecRunner{}).Run(context.Background(), "sh", "-c", "sleep 30 & echo $! >"+pidf); err != nil {
		t.Errorf("daemonizing command: %v", err)
	}
	if b, err := os.ReadFile(pidf); err == nil {
		_, _ = ExecRunner{}.Run(context.Background(), "kill", strings.TrimSpace(string(b)))
	}
}
