// Figures the end-to-end runs print (never assert): how long each stage of an up took,
// read from the engine's own events, and what each lab machine uses at rest.
import { EngineEvent } from "@pulumi/pulumi/automation";
import { lab } from "./lab";

export interface Span {
    name: string;
    seconds: number;
}

interface Interval {
    start: number;
    end: number;
}

/** The component a resource belongs to (its first homelab:index type), or the resource's own type. */
function stageOf(urn: string): string {
    const typeChain = urn.split("::")[2] ?? "";
    const types = typeChain.split("$");
    return types.find((type) => type.startsWith("homelab:index:"))?.replace("homelab:index:", "") ?? types[types.length - 1];
}

function ownTypeOf(urn: string): string {
    return (urn.split("::")[2] ?? "").split("$").pop() as string;
}

function nameOf(urn: string): string {
    return urn.split("::")[3] ?? urn;
}

/** Collects the engine events of one up and turns them into per-resource and per-stage wall times. */
export class StepClock {
    private readonly started = new Map<string, number>();
    private readonly resources = new Map<string, Interval>();

    readonly onEvent = (event: EngineEvent): void => {
        const urn = event.resourcePreEvent?.metadata.urn ?? event.resOutputsEvent?.metadata.urn;
        if (!urn || event.resourcePreEvent?.metadata.op === "same") return;
        // the stack and the providers span the whole run or nothing
        if (/::(pulumi:pulumi:Stack|pulumi:providers:[^:]+)::/.test(urn)) return;
        if (event.resourcePreEvent && !this.started.has(urn)) this.started.set(urn, event.timestamp);
        if (event.resOutputsEvent && this.started.has(urn)) this.resources.set(urn, { start: this.started.get(urn) as number, end: event.timestamp });
    };

    /** Wall time of every resource (not component) that did something, longest first; only those under `stage` if given. */
    resourceSpans(stage?: string): Span[] {
        return [...this.resources]
            .filter(([urn]) => !ownTypeOf(urn).startsWith("homelab:index:"))
            .filter(([urn]) => stage === undefined || stageOf(urn) === stage)
            .map(([urn, { start, end }]) => ({ name: nameOf(urn), seconds: end - start }))
            .sort((a, b) => b.seconds - a.seconds);
    }

    /** Wall time of each stage: from its first resource starting to its last one finishing (stages overlap). */
    stageSpans(): Span[] {
        const stages = new Map<string, Interval>();
        for (const [urn, interval] of this.resources) {
            const stage = stageOf(urn);
            const known = stages.get(stage);
            stages.set(stage, known ? { start: Math.min(known.start, interval.start), end: Math.max(known.end, interval.end) } : { ...interval });
        }
        return [...stages].map(([name, { start, end }]) => ({ name, seconds: end - start, start }))
            .sort((a, b) => a.start - b.start).map(({ name, seconds }) => ({ name, seconds }));
    }
}

/** Seconds of each image import a script printed ("imported image archive NAME from URL in N s"). */
export function importSeconds(stdout: string): number {
    return [...stdout.matchAll(/^imported image archive \S+ from \S+ in (\d+) s$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Memory of each machine that is on, as `lab status` prints it (cgroup usage with page cache, working set, rss). */
export function machineMemory(): { node: string; memory: string }[] {
    return lab("status").split("\n")
        .map((line) => line.match(/^(\S+)\s+on\s.*?\s(\d+MiB \(ws \d+MiB, rss \d+MiB\))$/))
        .filter((match): match is RegExpMatchArray => match !== null)
        .map((match) => ({ node: match[1], memory: match[2] }));
}

export function formatSpans(spans: Span[]): string {
    return spans.map((span) => `${span.name} ${span.seconds.toFixed(0)} s`).join(", ");
}
