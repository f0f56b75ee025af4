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
