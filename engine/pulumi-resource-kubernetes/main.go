// Command pulumi-resource-kubernetes is upstream's provider main (cmd/pulumi-resource-kubernetes)
// with its build-time embeds supplied by scripts/setup-engine.sh: upstream generates
// schema-embed.json and terraform-mapping-embed.json from schema.json and
// terraform-mapping.json (which are in the module zip) with `go generate`, and the generated
// files are not in the zip. setup-engine.sh writes them next to a copy of this file, the same way
// upstream's generate.go does (schema "version" set to the version being built).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
