// Command pulumi-language-nodejs is homelab's own minimal Node.js language host.
//
// The upstream host (module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// is not served by the Go module proxy this project can reach, so this adapter implements the
// part of the LanguageRuntime gRPC service that `pulumi preview/up/destroy` use, on top of the
// released sdk/v3 module: it reports the plugins the program needs (from node_modules), and runs
// the program with @pulumi/pulumi's own launcher (node_modules/@pulumi/pulumi/cmd/run), which
// talks to the engine's resource monitor directly. Not implemented: synchronous invokes over
// pipes (deprecated in the SDK), bun, debugger attach, `pulumi new` templates, codegen, packing.
// See docs/engine.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set with -ldflags "-X main.version=..." to the sdk/v3 version it is built against.
var version = "dev"

// exitCodeBail is what @pulumi/pulumi's launcher exits with after it has already shown the error.
const exitCodeBail = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engine  string
	tracing string
}

func main() {
	flags := flag.NewFlagSet("pulumi-language-nodejs", flag.ContinueOnError)
	tracing := flags.String("tracing", "", "tracing endpoint")
	flags.Bool("logtostderr", false, "ignored")
	flags.Bool("logflow", false, "ignored")
	flags.Int("v", 0, "ignored")
	flags.String("root", "", "ignored")
	flags.Bool("typescript", true, "ignored (read from the RunRequest options)")
	flags.String("tsconfig", "", "ignored (read from the RunRequest options)")
	flags.String("nodeargs", "", "ignored (read from the RunRequest options)")
	flags.String("packagemanager", "", "ignored")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if flags.Arg(0) == "version" {
		fmt.Println(version)
		return
	}
	h := &host{engine: flags.Arg(0), tracing: *tracing}

	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}
	if h.engine != "" {
		// Exit when the engine goes away, like the upstream hosts do.
		var once sync.Once
		stop := func() { once.Do(func() { close(cancel) }) }
		if err := rpcutil.Healthcheck(context.Background(), h.engine, 5*time.Second, stop); err != nil {
			fmt.Fprintf(os.Stderr, "could not watch the engine at %s: %v\n", h.engine, err)
			os.Exit(1)
		}
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "language host RPC stopped serving: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engine = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// packageJSON is the part of a package.json that marks a Pulumi resource plugin package.
type packageJSON struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies"`
	Pulumi       struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// requiredPlugins lists the resource plugins of every package under the program's node_modules
// whose package.json says {"pulumi": {"resource": true}}.
func requiredPlugins(programDir string) ([]*pulumirpc.PluginDependency, error) {
	nm := findUp(programDir, "node_modules")
	if nm == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	var out []*pulumirpc.PluginDependency
	isModules := func(dir string) bool { return filepath.Base(dir) == "node_modules" }
	isScope := func(dir string) bool {
		return strings.HasPrefix(filepath.Base(dir), "@") && isModules(filepath.Dir(dir))
	}
	err := filepath.WalkDir(nm, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		parent := filepath.Dir(path)
		if d.IsDir() {
			// Descend only into node_modules, scopes, package roots and their nested node_modules.
			if path == nm || isModules(path) || isModules(parent) || isScope(parent) {
				return nil
			}
			return filepath.SkipDir
		}
		// Only the package.json at the root of a package.
		if d.Name() != "package.json" || !(isModules(filepath.Dir(parent)) || isScope(filepath.Dir(parent))) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var p packageJSON
		if json.Unmarshal(b, &p) != nil || !p.Pulumi.Resource {
			return nil
		}
		name := p.Pulumi.Name
		if name == "" {
			if !strings.HasPrefix(p.Name, "@pulumi/") {
				return nil
			}
			name = strings.TrimPrefix(p.Name, "@pulumi/")
		}
		v := p.Pulumi.Version
		if v == "" {
			v = p.Version
		}
		if v != "" && !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		if key := name + "@" + v; !seen[key] {
			seen[key] = true
			out = append(out, &pulumirpc.PluginDependency{
				Name: name, Kind: "resource", Version: v, Server: p.Pulumi.Server,
			})
		}
		return nil
	})
	return out, err
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	deps, err := requiredPlugins(req.GetInfo().GetProgramDirectory())
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: deps}, err
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := requiredPlugins(req.GetInfo().GetProgramDirectory())
	pkgs := make([]*pulumirpc.PackageDependency, 0, len(deps))
	for _, d := range deps {
		pkgs = append(pkgs, &pulumirpc.PackageDependency{
			Name: d.Name, Kind: d.Kind, Version: d.Version, Server: d.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, err
}

// findUp returns dir/name or the nearest parent's name entry, or "" if there is none.
func findUp(dir, name string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name)
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir, entry := info.GetProgramDirectory(), info.GetEntryPoint()
	if dir == "" {
		dir = req.GetPwd()
	}
	if entry == "" {
		entry = req.GetProgram()
	}
	if entry == "" {
		entry = "."
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		runPath = findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", "run"))
	}
	if runPath == "" {
		return &pulumirpc.RunResponse{Error: "could not find node_modules/@pulumi/pulumi/cmd/run from " + dir +
			": run `npm install` in the program directory"}, nil
	}

	opts := info.GetOptions().AsMap()
	var args []string
	if s, ok := opts["nodeargs"].(string); ok && s != "" {
		args = append(args, strings.Fields(s)...)
	}
	args = append(args, runPath)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engine)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", info.GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", dir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", h.tracing)
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	// Config keys go to the SDK as "<namespace>:config:<name>", as the upstream host does.
	cfg := map[string]string{}
	for k, v := range req.GetConfig() {
		key, err := config.ParseKey(k)
		if err != nil {
			return nil, err
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	cfgJSON, _ := json.Marshal(cfg)
	secretJSON, _ := json.Marshal(secretKeys)
	env := append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))
	if ts, ok := opts["typescript"].(bool); !ok || ts {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if s, ok := opts["tsconfig"].(string); ok && s != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+s)
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = env
	// Copy through pipes rather than handing node our own fds (node may make them non-blocking).
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitCodeBail {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: "Problem executing program (could not run node): " + err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	srv grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	cmd := exec.CommandContext(srv.Context(), "npm", "install", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	_ = srv.Send(&pulumirpc.InstallDependenciesResponse{Stdout: out})
	if err != nil {
		return fmt.Errorf("npm install failed in %s: %w", dir, err)
	}
	return nil
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("could not find node on the $PATH")
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for name, want := range p.Dependencies {
		v := want
		if b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json")); err == nil {
			var dep packageJSON
			if json.Unmarshal(b, &dep) == nil && dep.Version != "" {
				v = dep.Version
			}
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: v})
	}
	return resp, nil
}
