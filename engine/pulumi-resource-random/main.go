// pulumi-resource-random, homelab's own implementation of the provider protocol
// for the resources of @pulumi/random: RandomBytes, RandomString and RandomPassword.
// The upstream provider's Go module is not served by the module proxy this project
// builds from (see docs/engine.md). Values come from crypto/rand; any change of input
// replaces the resource, as upstream does. What is secret, and what the ID is, follow
// upstream exactly (terraform-provider-random and pulumi-random's ComputeID), because
// the program must not rely on more: a RandomString's result is not secret and is its
// ID, a RandomBytes' base64 is its ID, in plaintext; only a RandomPassword keeps its
// value out of the ID ("none") and secret.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Version is set with -ldflags "-X main.Version=4.21.2": the @pulumi/random version this speaks for.
var Version = "4.21.2"

const (
	randomBytes    = "random:index/randomBytes:RandomBytes"
	randomString   = "random:index/randomString:RandomString"
	randomPassword = "random:index/randomPassword:RandomPassword"
)

type randomProvider struct{ plugin.UnimplementedProvider }

func main() {
	err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return plugin.NewProviderServer(&randomProvider{}), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func (p *randomProvider) Close() error { return nil }

func (p *randomProvider) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	v := semver.MustParse(Version)
	return plugin.PluginInfo{Version: &v}, nil
}

func (p *randomProvider) SignalCancellation(context.Context) error { return nil }

func (p *randomProvider) GetSchema(context.Context, plugin.GetSchemaRequest) (plugin.GetSchemaResponse, error) {
	return plugin.GetSchemaResponse{Schema: []byte(`{"name":"random","version":"` + Version + `"}`)}, nil
}

func (p *randomProvider) CheckConfig(_ context.Context, req plugin.CheckConfigRequest) (plugin.CheckConfigResponse, error) {
	return plugin.CheckConfigResponse{Properties: req.News}, nil
}

func (p *randomProvider) DiffConfig(context.Context, plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	return plugin.DiffConfigResponse{}, nil
}

func (p *randomProvider) Configure(context.Context, plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	return plugin.ConfigureResponse{}, nil
}

func (p *randomProvider) Check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	if string(req.Type) != randomBytes && string(req.Type) != randomString && string(req.Type) != randomPassword {
		return plugin.CheckResponse{}, fmt.Errorf("homelab's random provider does not implement %s", req.Type)
	}
	length, ok := number(req.News, "length")
	if !ok || length < 1 || length > 65536 {
		return plugin.CheckResponse{Failures: []plugin.CheckFailure{{Property: "length", Reason: "length must be a whole number from 1 to 65536"}}}, nil
	}
	return plugin.CheckResponse{Properties: req.News}, nil
}

func (p *randomProvider) Diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	diff := req.OldInputs.Diff(req.NewInputs)
	if diff == nil || !diff.AnyChanges() {
		return plugin.DiffResponse{Changes: plugin.DiffNone}, nil
	}
	keys := diff.ChangedKeys()
	return plugin.DiffResponse{Changes: plugin.DiffSome, ReplaceKeys: keys, ChangedKeys: keys, DeleteBeforeReplace: false}, nil
}

func (p *randomProvider) Create(_ context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	outputs := req.Properties.Copy()
	length, _ := number(req.Properties, "length")
	if req.Preview {
		for _, key := range outputKeys(string(req.Type)) {
			outputs[key] = resource.MakeComputed(resource.NewStringProperty(""))
		}
		return plugin.CreateResponse{Properties: outputs}, nil
	}
	var id string
	switch string(req.Type) {
	case randomBytes:
		data := make([]byte, length)
		if _, err := rand.Read(data); err != nil {
			return plugin.CreateResponse{}, err
		}
		outputs["base64"] = resource.MakeSecret(resource.NewStringProperty(base64.StdEncoding.EncodeToString(data)))
		outputs["hex"] = resource.MakeSecret(resource.NewStringProperty(hex.EncodeToString(data)))
		id = base64.StdEncoding.EncodeToString(data) // pulumi-random's computeRandomBytesID
	case randomString:
		value, err := randomText(req.Properties, length)
		if err != nil {
			return plugin.CreateResponse{}, err
		}
		outputs["result"] = resource.NewStringProperty(value)
		id = value // terraform-provider-random: the string is its own ID
	case randomPassword:
		value, err := randomText(req.Properties, length)
		if err != nil {
			return plugin.CreateResponse{}, err
		}
		outputs["result"] = resource.MakeSecret(resource.NewStringProperty(value))
		id = "none" // terraform-provider-random: a password's ID says nothing about it
	}
	return plugin.CreateResponse{ID: resource.ID(id), Properties: outputs, Status: resource.StatusOK}, nil
}

func (p *randomProvider) Read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State}, Status: resource.StatusOK}, nil
}

func (p *randomProvider) Delete(context.Context, plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	return plugin.DeleteResponse{}, nil
}

func outputKeys(typ string) []resource.PropertyKey {
	if typ == randomBytes {
		return []resource.PropertyKey{"base64", "hex"}
	}
	return []resource.PropertyKey{"result"}
}

func number(props resource.PropertyMap, key resource.PropertyKey) (int, bool) {
	v, ok := props[key]
	if !ok || !v.IsNumber() {
		return 0, false
	}
	return int(v.NumberValue()), true
}

func flag(props resource.PropertyMap, key resource.PropertyKey) bool {
	v, ok := props[key]
	return !ok || !v.IsBool() || v.BoolValue() // upstream: every class is on unless turned off
}

// randomText draws each character uniformly from the classes the inputs allow.
func randomText(props resource.PropertyMap, length int) (string, error) {
	alphabet := ""
	if flag(props, "lower") {
		alphabet += "abcdefghijklmnopqrstuvwxyz"
	}
	if flag(props, "upper") {
		alphabet += "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	}
	if flag(props, "numeric") && flag(props, "number") {
		alphabet += "0123456789"
	}
	if flag(props, "special") {
		special := "!@#$%&*()-_=+[]{}<>:?"
		if v, ok := props["overrideSpecial"]; ok && v.IsString() {
			special = v.StringValue()
		}
		alphabet += special
	}
	if alphabet == "" {
		return "", fmt.Errorf("every character class is turned off")
	}
	out := make([]byte, length)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		out[i] = alphabet[n.Int64()]
	}
	return string(out), nil
}
