// Pure: the one way this program reads a pinned version, which the stack config may write with or without a leading v.

/** 1.34.2 for "1.34.2" or "v1.34.2". */
export function plainVersion(version: string): string {
    return version.replace(/^v/, "");
}

/** 1.34 for "1.34.2" or "v1.34.2". */
export function minorOf(version: string): string {
    return plainVersion(version).split(".").slice(0, 2).join(".");
}
