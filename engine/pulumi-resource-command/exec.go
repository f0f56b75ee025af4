package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

func runLocal(ctx context.Context, props resource.PropertyMap, command string) (string, string, error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	if dir, ok := str(props, "dir"); ok && dir != "" {
		cmd.Dir = dir
	}
	cmd.Env = os.Environ()
	for key, value := range object(props, "environment") {
		if s, ok := str(resource.PropertyMap{"v": value}, "v"); ok {
			cmd.Env = append(cmd.Env, string(key)+"="+s)
		}
	}
	for key, name := range map[resource.PropertyKey]string{previousStdout: "PULUMI_COMMAND_STDOUT", previousStderr: "PULUMI_COMMAND_STDERR"} {
		if s, ok := str(props, key); ok && s != "" {
			cmd.Env = append(cmd.Env, name+"="+s)
		}
	}
	if stdin, ok := str(props, "stdin"); ok {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The command's children share its output pipes: stopping only the shell would leave them
	// running and Wait blocked, so the whole process group is stopped, then killed if it lingers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	err := cmd.Run()
	if ctx.Err() != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return stdout.String(), stderr.String(), err
}

// stopGrace is how long a cancelled command has to end after SIGTERM.
const stopGrace = 5 * time.Second

func dial(ctx context.Context, props resource.PropertyMap) (*ssh.Client, error) {
	conn := object(props, "connection")
	host, _ := str(conn, "host")
	port, ok := str(conn, "port")
	if !ok || port == "" {
		port = "22"
	}
	user, ok := str(conn, "user")
	if !ok || user == "" {
		user = "root"
	}
	config := &ssh.ClientConfig{User: user, HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	if key, ok := str(conn, "privateKey"); ok && key != "" {
		var signer ssh.Signer
		var err error
		if passphrase, ok := str(conn, "privateKeyPassword"); ok && passphrase != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(key), []byte(passphrase))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(key))
		}
		if err != nil {
			return nil, fmt.Errorf("the SSH private key cannot be parsed: %w", err)
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if password, ok := str(conn, "password"); ok && password != "" {
		config.Auth = append(config.Auth, ssh.Password(password))
	}
	if pinned, ok := str(conn, "hostKey"); ok && pinned != "" {
		want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pinned))
		if err != nil {
			return nil, fmt.Errorf("the pinned host key cannot be parsed: %w", err)
		}
		// as upstream: only the pinned key's algorithm is offered, and any other key is refused
		config.HostKeyAlgorithms = []string{want.Type()}
		config.HostKeyCallback = func(hostname string, _ net.Addr, got ssh.PublicKey) error {
			if bytes.Equal(got.Marshal(), want.Marshal()) {
				return nil
			}
			return fmt.Errorf("host key mismatch: %s shows %s, not %s as recorded; nothing was sent to it. If the machine was reinstalled on purpose, pin its new key in the stack config (homelab:nodes[N].sshHostKey)",
				hostname, ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(want))
		}
	}
	perDial := 15.0
	if s, ok := str(conn, "perDialTimeout"); ok {
		if v, err := strconv.ParseFloat(s, 64); err == nil && v > 0 {
			perDial = v
		}
	}
	limit := 10
	if s, ok := str(conn, "dialErrorLimit"); ok {
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			limit = int(v)
		}
	}
	config.Timeout = time.Duration(perDial * float64(time.Second))
	address := net.JoinHostPort(host, port)
	var lastErr error
	for attempt := 1; limit < 0 || attempt <= limit; attempt++ {
		client, err := ssh.Dial("tcp", address, config)
		if err == nil {
			return client, nil
		}
		lastErr = err
		var keyErr *ssh.ServerAuthError
		if errors.As(err, &keyErr) || strings.Contains(err.Error(), "host key mismatch") {
			break // retrying cannot fix authentication or a host key that differs from the pinned one
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil, fmt.Errorf("cannot reach %s@%s over SSH: %w", user, address, lastErr)
}

func runRemote(ctx context.Context, props resource.PropertyMap, command string) (string, string, error) {
	client, err := dial(ctx, props)
	if err != nil {
		return "", "", err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return "", "", err
	}
	defer session.Close()
	for key, value := range object(props, "environment") {
		if s, ok := str(resource.PropertyMap{"v": value}, "v"); ok {
			_ = session.Setenv(string(key), s) // needs AcceptEnv on the server, as upstream documents
		}
	}
	if stdin, ok := str(props, "stdin"); ok {
		session.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	session.Stdout, session.Stderr = &stdout, &stderr
	if err := session.Start(command); err != nil {
		return "", "", err
	}
	finished := make(chan error, 1)
	go func() { finished <- session.Wait() }()
	select {
	case err = <-finished:
	case <-ctx.Done():
		// OpenSSH delivers the signal to the session's process group (sudo relays it to the
		// script); closing the connection alone would leave a non-tty command running.
		_ = session.Signal(ssh.SIGTERM)
		select {
		case <-finished:
		case <-time.After(stopGrace):
		}
		_ = client.Close()
		return stdout.String(), stderr.String(), ctx.Err()
	}
	var exitErr *ssh.ExitError
	if errors.As(err, &exitErr) {
		err = fmt.Errorf("exit status %d", exitErr.ExitStatus())
	} else if err != nil {
		var missing *ssh.ExitMissingError
		if errors.As(err, &missing) {
			err = fmt.Errorf("the connection ended before the command finished (did the machine power off?)")
		}
	}
	return stdout.String(), stderr.String(), err
}

// copyFile uploads a file asset (or a string asset) to remotePath over SSH.
func copyFile(ctx context.Context, props resource.PropertyMap) error {
	source, ok := props["source"]
	for ok && source.IsSecret() {
		source = source.SecretValue().Element
	}
	if !ok || !source.IsAsset() {
		return fmt.Errorf("CopyToRemote: source must be a file or string asset (archives are not supported here)")
	}
	asset := source.AssetValue()
	var content []byte
	switch {
	case asset.Path != "":
		data, err := os.ReadFile(asset.Path)
		if err != nil {
			return err
		}
		content = data
	case asset.Text != "":
		content = []byte(asset.Text)
	default:
		return fmt.Errorf("CopyToRemote: only file and string assets are supported")
	}
	remotePath, _ := str(props, "remotePath")
	if remotePath == "" {
		return fmt.Errorf("CopyToRemote: remotePath is empty")
	}
	client, err := dial(ctx, props)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()
	session.Stdin = bytes.NewReader(content)
	quoted := "'" + strings.ReplaceAll(remotePath, "'", `'\''`) + "'"
	dir := "'" + strings.ReplaceAll(path.Dir(remotePath), "'", `'\''`) + "'"
	if out, err := session.CombinedOutput("mkdir -p " + dir + " && cat > " + quoted); err != nil {
		return fmt.Errorf("copying to %s failed: %w: %s", remotePath, err, out)
	}
	return nil
}
