// Pure: what a component cannot work with, said once. A component's check returns these; the
// component raises them as a ResourceError, and stacks/rules/ reports the same words under the
// stack config's keys, so a rule is written in one place and cannot drift from its copy.

export interface ArgProblem {
    /** The argument, as a path into the component's args, e.g. poolSize, manifests, nodes. */
    arg: string;
    value: unknown;
    /** What is wrong and what would be valid, read after the value. */
    message: string;
}

/** One line for an error: `RookCeph storage: poolSize 3 needs ...; manifests {...} sets both ...`. */
export function describeArgProblems(component: string, problems: ArgProblem[]): string {
    return `${component}: ${problems.map((problem) => `${problem.arg} ${JSON.stringify(problem.value)} ${problem.message}`).join("; ")}`;
}
