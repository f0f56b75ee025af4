package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// A local command whose child outlives the shell, like a script waiting on `sleep` or kubectl.
func sleeperInputs(t *testing.T) (resource.PropertyMap, string) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := fmt.Sprintf("sleep 300 & echo $! > %s; wait", pidFile)
	return resource.PropertyMap{"create": resource.NewStringProperty(script)}, pidFile
}

func waitForFile(t *testing.T, path string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if data, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(data), "\n") {
			return strings.TrimSpace(string(data))
		}
	}
	t.Fatalf("%s never appeared: the command did not start", path)
	return ""
}

func alive(pid string) bool {
	var n int
	fmt.Sscan(pid, &n)
	err := syscall.Kill(n, 0)
	if err != nil {
		return false
	}
	// A zombie is not running: read its state.
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	return err == nil && !strings.Contains(string(stat), ") Z ")
}

func TestSignalCancellationStopsALocalCommandAndItsChildren(t *testing.T) {
	p := newCommandProvider(nil)
	inputs, pidFile := sleeperInputs(t)
	result := make(chan error, 1)
	go func() {
		_, err := p.Create(context.Background(), plugin.CreateRequest{URN: "urn:pulumi:t::p::command:local:Command::sleeper", Type: localCommand, Properties: inputs})
		result <- err
	}()
	child := waitForFile(t, pidFile)
	if err := p.SignalCancellation(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if err == nil || !strings.Contains(err.Error(), "was stopped: the update was cancelled") {
			t.Fatalf("want a cancellation error, got %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Create did not return after SignalCancellation")
	}
	for deadline := time.Now().Add(10 * time.Second); alive(child) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(child) {
		t.Fatalf("the command's child (pid %s) is still running", child)
	}
}

func TestACommandThatEndsIsNotReportedAsCancelled(t *testing.T) {
	p := newCommandProvider(nil)
	inputs := resource.PropertyMap{"create": resource.NewStringProperty("echo done")}
	res, err := p.Create(context.Background(), plugin.CreateRequest{URN: "urn:pulumi:t::p::command:local:Command::echo", Type: localCommand, Properties: inputs})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Properties["stdout"].StringValue(); got != "done" {
		t.Fatalf("stdout = %q", got)
	}
	failing := resource.PropertyMap{"create": resource.NewStringProperty("echo nope >&2; exit 3")}
	_, err = p.Create(context.Background(), plugin.CreateRequest{URN: "urn:pulumi:t::p::command:local:Command::fail", Type: localCommand, Properties: failing})
	if err == nil || !strings.Contains(err.Error(), "create of fail failed: exit status 3\nnope") {
		t.Fatalf("want the exit status and stderr, got %v", err)
	}
}
