package main

import (
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

func create(t *testing.T, typ string, inputs resource.PropertyMap) plugin.CreateResponse {
	t.Helper()
	res, err := (&randomProvider{}).Create(context.Background(), plugin.CreateRequest{URN: resource.URN("urn:pulumi:t::p::" + typ + "::r"), Type: tokens.Type(typ), Properties: inputs})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// What the state keeps in plaintext is the ID: upstream's RandomString and RandomBytes put their
// value there, a RandomPassword does not. The stand-in must not be kinder than upstream, or a test
// with it would pass for a program that leaks with the official provider.
func TestIDsAndSecretsAreUpstreams(t *testing.T) {
	text := resource.PropertyMap{"length": resource.NewNumberProperty(16), "special": resource.NewBoolProperty(false)}
	str := create(t, randomString, text)
	if str.Properties["result"].IsSecret() || string(str.ID) != str.Properties["result"].StringValue() {
		t.Fatalf("RandomString: result secret=%v, ID %q: want a plain result that is also the ID", str.Properties["result"].IsSecret(), str.ID)
	}
	bytes := create(t, randomBytes, resource.PropertyMap{"length": resource.NewNumberProperty(32)})
	if !bytes.Properties["base64"].IsSecret() || string(bytes.ID) != bytes.Properties["base64"].SecretValue().Element.StringValue() {
		t.Fatalf("RandomBytes: want secret outputs and the base64 as ID, got ID %q", bytes.ID)
	}
	password := create(t, randomPassword, text)
	if !password.Properties["result"].IsSecret() || password.ID != "none" {
		t.Fatalf("RandomPassword: want a secret result and ID none, got ID %q", password.ID)
	}
}

// homelab's certificate key and corosync authkey: hex digits as a password's only ("special") characters.
func TestAPasswordOfHexDigits(t *testing.T) {
	res := create(t, randomPassword, resource.PropertyMap{
		"length": resource.NewNumberProperty(512), "lower": resource.NewBoolProperty(false), "upper": resource.NewBoolProperty(false),
		"numeric": resource.NewBoolProperty(true), "special": resource.NewBoolProperty(true), "overrideSpecial": resource.NewStringProperty("abcdef"),
	})
	value := res.Properties["result"].SecretValue().Element.StringValue()
	seen := map[rune]bool{}
	for _, c := range value {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			t.Fatalf("%q is not a hex digit", c)
		}
		seen[c] = true
	}
	if len(value) != 512 || len(seen) != 16 {
		t.Fatalf("length %d with %d distinct digits; want 512 and all 16", len(value), len(seen))
	}
}
