package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"golang.org/x/crypto/ssh"
)

// As upstream's Update: a change of any input other than triggers, even of the connection or the
// delete command alone, runs `update` (or `create`); homelab's steps rely on their `update` scripts.
func TestAnUpdateOfTheConnectionOrTheDeleteAloneRunsTheUpdateCommand(t *testing.T) {
	p := newCommandProvider(nil)
	ran := filepath.Join(t.TempDir(), "ran")
	old := resource.PropertyMap{
		"create":      resource.NewStringProperty("echo create >> " + ran),
		"update":      resource.NewStringProperty("echo update >> " + ran),
		"delete":      resource.NewStringProperty("true"),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"HOST": resource.NewStringProperty("10.0.0.1")}),
	}
	for _, change := range []resource.PropertyMap{
		{"environment": resource.NewObjectProperty(resource.PropertyMap{"HOST": resource.NewStringProperty("10.0.0.2")})},
		{"delete": resource.NewStringProperty("echo other delete")},
	} {
		news := old.Copy()
		for key, value := range change {
			news[key] = value
		}
		diff, err := p.Diff(context.Background(), plugin.DiffRequest{Type: localCommand, OldInputs: old, NewInputs: news})
		if err != nil || diff.Changes != plugin.DiffSome || len(diff.ReplaceKeys) != 0 {
			t.Fatalf("diff of %v: %+v, %v; want an update, not a replacement", change, diff, err)
		}
		if _, err := p.Update(context.Background(), plugin.UpdateRequest{URN: "urn:pulumi:t::p::command:local:Command::c", Type: localCommand, OldInputs: old, NewInputs: news, OldOutputs: old}); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(ran)
	if string(data) != "update\nupdate\n" {
		t.Fatalf("ran %q, want the update command twice", data)
	}
	triggered := old.Copy()
	triggered["triggers"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("x")})
	diff, _ := p.Diff(context.Background(), plugin.DiffRequest{Type: localCommand, OldInputs: old, NewInputs: triggered})
	if len(diff.ReplaceKeys) != 1 || diff.ReplaceKeys[0] != "triggers" {
		t.Fatalf("a change of triggers must replace: %+v", diff)
	}
}

// As upstream's local command: on an update the previous run's output is in the environment.
func TestALocalUpdateSeesThePreviousOutput(t *testing.T) {
	p := newCommandProvider(nil)
	inputs := resource.PropertyMap{"create": resource.NewStringProperty(`echo "before: ${PULUMI_COMMAND_STDOUT:-none}"`)}
	oldOutputs := inputs.Copy()
	oldOutputs["stdout"] = resource.NewStringProperty("ssh-ed25519 AAAA")
	news := inputs.Copy()
	news["environment"] = resource.NewObjectProperty(resource.PropertyMap{"X": resource.NewStringProperty("1")})
	res, err := p.Update(context.Background(), plugin.UpdateRequest{URN: "urn:pulumi:t::p::command:local:Command::k", Type: localCommand, OldInputs: inputs, NewInputs: news, OldOutputs: oldOutputs})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Properties["stdout"].StringValue(); got != "before: ssh-ed25519 AAAA" {
		t.Fatalf("stdout = %q", got)
	}
	if _, leaked := res.Properties[previousStdout]; leaked {
		t.Fatal("the previous output was recorded as an input")
	}
	news["addPreviousOutputInEnv"] = resource.NewBoolProperty(false)
	res, _ = p.Update(context.Background(), plugin.UpdateRequest{URN: "urn:pulumi:t::p::command:local:Command::k", Type: localCommand, OldInputs: inputs, NewInputs: news, OldOutputs: oldOutputs})
	if got := res.Properties["stdout"].StringValue(); got != "before: none" {
		t.Fatalf("with addPreviousOutputInEnv false, stdout = %q", got)
	}
}

// An SSH server on loopback that shows `key` and accepts nobody: enough for the host key check.
func sshServer(t *testing.T, key ssh.Signer) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	config := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, os.ErrPermission }}
	config.AddHostKey(key)
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			go func() { _, _, _, _ = ssh.NewServerConn(conn, config); conn.Close() }()
		}
	}()
	return listener.Addr().String()
}

func newSigner(t *testing.T) ssh.Signer {
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func TestAHostKeyOtherThanThePinnedOneFailsAtOnceNamingBothFingerprints(t *testing.T) {
	shown, recorded := newSigner(t), newSigner(t)
	address := sshServer(t, shown)
	host, port, _ := net.SplitHostPort(address)
	_, private, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(private, "")
	if err != nil {
		t.Fatal(err)
	}
	conn := resource.PropertyMap{
		"host": resource.NewStringProperty(host), "port": resource.NewStringProperty(port), "user": resource.NewStringProperty("homeuser"),
		"privateKey":     resource.NewStringProperty(string(pem.EncodeToMemory(block))),
		"hostKey":        resource.NewStringProperty(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(recorded.PublicKey())))),
		"dialErrorLimit": resource.NewNumberProperty(5), "perDialTimeout": resource.NewNumberProperty(2),
	}
	_, err = dial(context.Background(), resource.PropertyMap{"connection": resource.NewObjectProperty(conn)})
	if err == nil {
		t.Fatal("the dial succeeded against a host showing another key")
	}
	for _, want := range []string{"host key mismatch", address, ssh.FingerprintSHA256(shown.PublicKey()), ssh.FingerprintSHA256(recorded.PublicKey()), "nothing was sent to it"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	conn["hostKey"] = resource.NewStringProperty(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(shown.PublicKey()))))
	_, err = dial(context.Background(), resource.PropertyMap{"connection": resource.NewObjectProperty(conn)})
	if err == nil || strings.Contains(err.Error(), "host key mismatch") {
		t.Fatalf("with the right key the dial must get past the host key (and fail at login): %v", err)
	}
}
