// pulumi-resource-command, homelab's own implementation of the provider protocol
// for the resources of @pulumi/command that homelab uses: command:local:Command,
// command:remote:Command and command:remote:CopyToRemote. The upstream provider's
// Go module is not served by the module proxy this project builds from, so this
// speaks the same protocol for the same inputs and outputs (see docs/engine.md).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Version is set with -ldflags "-X main.Version=1.2.1": the @pulumi/command version this speaks for.
var Version = "1.2.1"

const (
	localCommand  = "command:local:Command"
	remoteCommand = "command:remote:Command"
	copyToRemote  = "command:remote:CopyToRemote"
)

type commandProvider struct {
	plugin.UnimplementedProvider
	host *provider.HostClient
	// cancelled is done once the engine signals cancellation (the first Ctrl-C): every
	// command still running is stopped, so the engine can end the update promptly.
	cancelled context.Context
	cancel    context.CancelFunc
}

func newCommandProvider(host *provider.HostClient) *commandProvider {
	cancelled, cancel := context.WithCancel(context.Background())
	return &commandProvider{host: host, cancelled: cancelled, cancel: cancel}
}

func main() {
	err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return plugin.NewProviderServer(newCommandProvider(host)), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func (p *commandProvider) Close() error { return nil }

func (p *commandProvider) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	v := semver.MustParse(Version)
	return plugin.PluginInfo{Version: &v}, nil
}

func (p *commandProvider) SignalCancellation(context.Context) error {
	p.cancel()
	return nil
}

// untilCancelled is ctx, also ended by the engine's cancellation.
func (p *commandProvider) untilCancelled(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(p.cancelled, cancel)
	return ctx, func() { stop(); cancel() }
}

func (p *commandProvider) GetSchema(context.Context, plugin.GetSchemaRequest) (plugin.GetSchemaResponse, error) {
	return plugin.GetSchemaResponse{Schema: []byte(`{"name":"command","version":"` + Version + `"}`)}, nil
}

func (p *commandProvider) CheckConfig(_ context.Context, req plugin.CheckConfigRequest) (plugin.CheckConfigResponse, error) {
	return plugin.CheckConfigResponse{Properties: req.News}, nil
}

func (p *commandProvider) DiffConfig(context.Context, plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	return plugin.DiffConfigResponse{}, nil
}

func (p *commandProvider) Configure(context.Context, plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	return plugin.ConfigureResponse{}, nil
}

func (p *commandProvider) Check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	switch string(req.Type) {
	case localCommand, remoteCommand, copyToRemote:
		return plugin.CheckResponse{Properties: req.News}, nil
	}
	return plugin.CheckResponse{}, fmt.Errorf("homelab's command provider does not implement %s", req.Type)
}

func (p *commandProvider) Diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	olds := req.OldInputs
	if olds == nil {
		olds = req.OldOutputs
	}
	diff := olds.Diff(req.NewInputs, func(key resource.PropertyKey) bool { return key == "stdout" || key == "stderr" })
	if diff == nil || !diff.AnyChanges() {
		return plugin.DiffResponse{Changes: plugin.DiffNone}, nil
	}
	result := plugin.DiffResponse{Changes: plugin.DiffSome, DetailedDiff: plugin.NewDetailedDiffFromObjectDiff(diff, true)}
	for _, key := range diff.ChangedKeys() {
		result.ChangedKeys = append(result.ChangedKeys, key)
		if key == "triggers" {
			result.ReplaceKeys = append(result.ReplaceKeys, key)
		}
	}
	return result, nil
}

func newID() resource.ID {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return resource.ID(hex.EncodeToString(b))
}

func (p *commandProvider) Create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	outputs, err := p.run(ctx, req.URN, string(req.Type), req.Properties, "create", req.Preview)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	return plugin.CreateResponse{ID: newID(), Properties: outputs, Status: resource.StatusOK}, nil
}

// Update does what the official provider does on any change of inputs (also one of the connection,
// the delete command or logging): it runs `update`, or `create` when there is no `update`.
func (p *commandProvider) Update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	phase := "create"
	if s, ok := str(req.NewInputs, "update"); ok && s != "" {
		phase = "update"
	}
	props := req.NewInputs.Copy()
	if string(req.Type) == localCommand && previousOutputInEnv(req.NewInputs) {
		// like upstream's local command: the previous run's output, for a command that compares with it
		props[previousStdout], props[previousStderr] = req.OldOutputs["stdout"], req.OldOutputs["stderr"]
	}
	outputs, err := p.run(ctx, req.URN, string(req.Type), props, phase, req.Preview)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	delete(outputs, previousStdout)
	delete(outputs, previousStderr)
	return plugin.UpdateResponse{Properties: outputs, Status: resource.StatusOK}, nil
}

// Keys under which Update hands the previous outputs to runLocal; never recorded.
const (
	previousStdout resource.PropertyKey = "__previousStdout"
	previousStderr resource.PropertyKey = "__previousStderr"
)

// previousOutputInEnv is addPreviousOutputInEnv, true unless set false (upstream's default).
func previousOutputInEnv(props resource.PropertyMap) bool {
	v, ok := props["addPreviousOutputInEnv"]
	return !ok || !v.IsBool() || v.BoolValue()
}

func (p *commandProvider) Delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	props := req.Inputs
	if props == nil {
		props = req.Outputs
	}
	if string(req.Type) == copyToRemote {
		return plugin.DeleteResponse{}, nil // like upstream, copied files stay
	}
	_, err := p.run(ctx, req.URN, string(req.Type), props, "delete", false)
	return plugin.DeleteResponse{}, err
}

func (p *commandProvider) Read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	// Nothing to read back from a command: the recorded state is the truth, so refresh finds no drift.
	return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State}, Status: resource.StatusOK}, nil
}

// run executes the command of a phase (create, update, delete) and returns the outputs to record.
func (p *commandProvider) run(ctx context.Context, urn resource.URN, typ string, props resource.PropertyMap, phase string, preview bool) (resource.PropertyMap, error) {
	ctx, done := p.untilCancelled(ctx)
	defer done()
	outputs := props.Copy()
	if typ == copyToRemote {
		if preview {
			return outputs, nil
		}
		return outputs, copyFile(ctx, props)
	}
	cmd, _ := str(props, resource.PropertyKey(phase))
	if preview {
		outputs["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		outputs["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
		return outputs, nil
	}
	if cmd == "" {
		if phase != "delete" {
			outputs["stdout"], outputs["stderr"] = resource.NewStringProperty(""), resource.NewStringProperty("")
		}
		return outputs, nil
	}
	var stdout, stderr string
	var err error
	if typ == localCommand {
		stdout, stderr, err = runLocal(ctx, props, cmd)
	} else {
		stdout, stderr, err = runRemote(ctx, props, cmd)
	}
	p.logOutput(context.WithoutCancel(ctx), urn, props, stdout, stderr)
	if err != nil && p.cancelled.Err() != nil {
		return nil, fmt.Errorf("%s of %s was stopped: the update was cancelled; the next `pulumi up` runs it again%s", phase, urn.Name(), tail("\n", stderr, 4000))
	}
	if err != nil {
		return nil, fmt.Errorf("%s of %s failed: %w%s", phase, urn.Name(), err, tail("\n", stderr, 4000))
	}
	outputs["stdout"] = resource.NewStringProperty(strings.TrimSuffix(stdout, "\n"))
	outputs["stderr"] = resource.NewStringProperty(strings.TrimSuffix(stderr, "\n"))
	return outputs, nil
}

func (p *commandProvider) logOutput(ctx context.Context, urn resource.URN, props resource.PropertyMap, stdout, stderr string) {
	logging, _ := str(props, "logging")
	if logging == "" {
		logging = "stdoutAndStderr"
	}
	if p.host == nil || logging == "none" {
		return
	}
	if strings.Contains(strings.ToLower(logging), "stdout") && strings.TrimSpace(stdout) != "" {
		_ = p.host.Log(ctx, diag.Info, urn, strings.TrimRight(stdout, "\n"))
	}
	if strings.Contains(strings.ToLower(logging), "stderr") && strings.TrimSpace(stderr) != "" {
		_ = p.host.Log(ctx, diag.Info, urn, strings.TrimRight(stderr, "\n"))
	}
}

func tail(prefix, text string, max int) string {
	text = strings.TrimSpace(text)
	if text == "" {
		return ""
	}
	if len(text) > max {
		text = "..." + text[len(text)-max:]
	}
	return prefix + text
}

// str reads a string input, looking through secrets.
func str(props resource.PropertyMap, key resource.PropertyKey) (string, bool) {
	v, ok := props[key]
	if !ok {
		return "", false
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue(), true
	}
	if v.IsNumber() {
		return fmt.Sprintf("%v", v.NumberValue()), true
	}
	return "", false
}

func object(props resource.PropertyMap, key resource.PropertyKey) resource.PropertyMap {
	v, ok := props[key]
	if !ok {
		return resource.PropertyMap{}
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsObject() {
		return v.ObjectValue()
	}
	return resource.PropertyMap{}
}
