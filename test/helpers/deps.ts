// Records the dependencies every resource registers with (what the engine would
// see: explicit dependsOn plus the resources its inputs came from), for structure
// tests. Call recordDependencies() right after installMocks().
import * as settings from "@pulumi/pulumi/runtime/settings";

const dependencies = new Map<string, string[]>();

export function recordDependencies(): void {
    const monitor = (settings as any).getMonitor();
    if (!monitor || typeof monitor.registerResource !== "function") throw new Error("recordDependencies: call installMocks() first");
    if (monitor.__homelabRecordsDependencies) return;
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request: any, callback: any) => {
        dependencies.set(request.getName(), request.getDependenciesList());
        return original(request, callback);
    };
    monitor.__homelabRecordsDependencies = true;
}

/** Names of the resources `name` depends on (URNs end in ::<name>). */
export function dependencyNamesOf(name: string): string[] {
    const urns = dependencies.get(name);
    if (!urns) throw new Error(`no resource named ${name} was registered`);
    return urns.map((urn) => urn.slice(urn.lastIndexOf("::") + 2));
}

export function resetDependencies(): void {
    dependencies.clear();
}
