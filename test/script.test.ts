// The script helpers every renderer uses.
import { script, shellQuote, writeFileIfChanged } from "../components/script";

describe("script helpers", () => {
    test("shellQuote keeps any value one word", () => {
        expect(shellQuote("plain-1.2")).toBe("plain-1.2");
        expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
    });
    test("writeFileIfChanged refuses content that would end its heredoc", () => {
        expect(() => writeFileIfChanged("/tmp/x", "a\nHOMELAB_EOF\n", "600")).toThrow("heredoc marker");
    });
    test("script() leaves out the sections that do not apply", () => {
        expect(script("echo a", "", "  \n", "echo b")).toBe(script("echo a", "echo b"));
        expect(script("echo a", "echo b").endsWith("echo a\n\necho b\n")).toBe(true);
    });
});

/**
 * Problems with a kubectl JSONPath template as kubectl parses it: a newline in it (a "\n" a template
 * literal turned into a real one: kubectl says "unterminated quoted string", as the lab's safety run
 * found), a quoted string left open, braces that do not pair.
 */
function jsonpathProblems(template: string): string[] {
    const problems: string[] = [];
    if (template.includes("\n")) problems.push("has a line break in it");
    let depth = 0, quoted = false;
    for (let i = 0; i < template.length; i++) {
        const c = template[i];
        if (quoted) {
            if (c === "\\") i++;
            else if (c === '"') quoted = false;
        } else if (c === '"' && depth > 0) quoted = true;
        else if (c === "{") depth++;
        else if (c === "}" && --depth < 0) problems.push(`closes a brace it never opened at ${i}`);
    }
    if (quoted) problems.push("leaves a quoted string open");
    if (depth > 0) problems.push("leaves a brace open");
    return problems;
}

describe("the JSONPath templates in every rendered script (the goldens)", () => {
    const fs = require("fs") as typeof import("fs");
    const path = require("path") as typeof import("path");
    const goldens = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
        .flatMap((entry) => entry.isDirectory() ? goldens(path.join(dir, entry.name)) : entry.name.endsWith(".sh") ? [path.join(dir, entry.name)] : []);

    test("the check finds what kubectl refuses", () => {
        expect(jsonpathProblems('{range .items[*]}{.metadata.name}{"\n"}{end}')).toEqual(["has a line break in it"]);
        expect(jsonpathProblems('{range .items[*]}{.metadata.name}{"\\n}{end}')).toEqual(["leaves a quoted string open", "leaves a brace open"]);
        expect(jsonpathProblems('{.status.phase}}')).toEqual(["closes a brace it never opened at 15"]);
        expect(jsonpathProblems('{range .items[?(@.status.disruptionsAllowed==0)]}{.metadata.namespace}/{.metadata.name} {end}')).toEqual([]);
    });

    test("every jsonpath='...' argument parses", () => {
        const found: { file: string; template: string; problems: string[] }[] = [];
        for (const file of goldens(path.join(__dirname, "goldens"))) {
            for (const match of fs.readFileSync(file, "utf8").matchAll(/jsonpath='([^']*)'/g)) {
                found.push({ file: path.relative(__dirname, file), template: match[1], problems: jsonpathProblems(match[1]) });
            }
        }
        expect(found.length).toBeGreaterThan(10);
        expect(found.filter((entry) => entry.problems.length > 0)).toEqual([]);
    });
});
