// Every problem in one run: the rules that relate several values (rules/) run
// even when some values are malformed, and each stays silent about what it
// cannot judge.
//
// Design. When the schema fails, zod gives no data, only issues. We parse the raw
// config a second time with a lenient copy of the schema, derived from it here
// (the same shape and defaults, but every value that fails becomes MALFORMED
// instead of an error), and we also mark MALFORMED every path the strict parse
// named (array limits such as "at least one node", a bad record key). The rules
// then read this partial config through `guarded`, a read-only view that throws
// MalformedRead the moment a rule touches a MALFORMED value; runRules turns that
// throw into silence for that rule (or, with `each`, for that one list item).
//
// So no rule can speak from a malformed input, and no rule lists the keys it
// reads by hand: the keys it actually reads are the ones that count, which
// cannot drift from a list kept beside it. The alternative, keeping a typed
// partial config whose holes each rule checks, would put that check in every
// rule and let a forgotten one report a second, misleading problem.
import { z } from "zod";

/** Stands for a value the schema refused, in the partial config the rules read. */
export const MALFORMED: unique symbol = Symbol("malformed config value");

/** A rule read a value the schema refused: that rule (or list item) has nothing to say. */
export class MalformedRead extends Error {
    constructor(readonly key: string) {
        super(`${key} is malformed`);
    }
}

/** The same schema, with every value that fails replaced by MALFORMED instead of failing the parse. */
export function lenient(schema: z.core.$ZodType): z.ZodType {
    if (schema instanceof z.ZodOptional) return lenient(schema.unwrap()).optional();
    if (schema instanceof z.ZodDefault) return lenient(schema.unwrap()).default(schema.def.defaultValue);
    if (schema instanceof z.ZodPrefault) return lenient(schema.unwrap()).prefault(schema.def.defaultValue);
    // unknown keys are reported by the strict parse; here they are dropped
    if (schema instanceof z.ZodObject) return z.object(Object.fromEntries(Object.entries(schema.shape).map(([key, value]) => [key, lenient(value)]))).catch(MALFORMED as never);
    if (schema instanceof z.ZodArray) return z.array(lenient(schema.element)).catch(MALFORMED as never);
    // a bad record key is marked from the strict parse's issue
    if (schema instanceof z.ZodRecord) return z.record(z.string(), lenient(schema.valueType)).catch(MALFORMED as never);
    return (schema as z.ZodType).catch(MALFORMED as never);
}

function markMalformed(target: unknown, path: PropertyKey[]): void {
    let node = target;
    for (const part of path.slice(0, -1)) {
        if (node === null || typeof node !== "object") return; // an enclosing value is MALFORMED already
        node = (node as Record<PropertyKey, unknown>)[part];
    }
    if (node !== null && typeof node === "object" && path.length > 0) (node as Record<PropertyKey, unknown>)[path[path.length - 1]] = MALFORMED;
}

/** The config with defaults applied and MALFORMED wherever the strict parse found a problem. */
export function partialConfig<T>(schema: z.ZodType<T>, raw: unknown, issues: z.core.$ZodIssue[]): T {
    const partial = lenient(schema).parse(raw);
    for (const issue of issues) {
        // an unknown key is dropped, not read: the object around it is still good
        if (issue.code !== "unrecognized_keys") markMalformed(partial, issue.path);
    }
    return partial as T;
}

function keyOf(path: PropertyKey[]): string {
    return path.reduce<string>((key, part) => (/^\d+$/.test(String(part)) ? `${key}[${String(part)}]` : key ? `${key}.${String(part)}` : String(part)), "");
}

/** A read-only view of `value` that throws MalformedRead when a MALFORMED value is read. */
export function guarded<T>(value: T, path: PropertyKey[] = []): T {
    if (value === null || typeof value !== "object") return value;
    return new Proxy(value as object, {
        get(target, property, receiver) {
            const found: unknown = Reflect.get(target, property, receiver);
            if (typeof property === "symbol" || typeof found === "function") return found;
            if (found === MALFORMED) throw new MalformedRead(keyOf([...path, property]));
            return guarded(found, [...path, property]);
        },
        set() {
            throw new Error("the config is read-only in rules");
        },
    }) as T;
}

/** The result of `read`, or undefined when it touched a malformed value. */
export function wellFormed<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (error) {
        if (error instanceof MalformedRead) return undefined;
        throw error;
    }
}

/** Visits every item; an item whose reads touch a malformed value is skipped, not the whole list. */
export function each<T>(items: readonly T[], visit: (item: T, index: number) => void): void {
    for (let index = 0; index < items.length; index++) wellFormed(() => visit(items[index], index));
}

/** The index of the first well-formed item that matches, or -1. */
export function firstIndex<T>(items: readonly T[], matches: (item: T, index: number) => boolean): number {
    for (let index = 0; index < items.length; index++) {
        if (wellFormed(() => matches(items[index], index))) return index;
    }
    return -1;
}

/** A plain copy of a value read through `guarded` (throws MalformedRead if any part of it is malformed). */
export function plain(value: unknown): unknown {
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map(plain);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
}
