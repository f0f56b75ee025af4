// Secrets this program generates. Each is a RandomPassword, whichever random provider runs: the
// official provider puts a RandomString's value, and a RandomBytes' base64, in the resource's ID,
// which Pulumi keeps in plaintext in the state; a RandomPassword's ID is "none" and its result is
// secret. The result is marked secret here too, so the program does not rely on the provider for it.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** `length` characters of [a-z0-9], e.g. a bootstrap token's parts. */
export function randomLowerAlphanumeric(name: string, length: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const password = new random.RandomPassword(name, { length, lower: true, upper: false, numeric: true, special: false }, { ...opts, additionalSecretOutputs: ["result"] });
    return pulumi.secret(password.result);
}

/** `bytes` random bytes as 2 × bytes lowercase hex digits: the digits are the password's "special" characters. */
export function randomHex(name: string, bytes: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const password = new random.RandomPassword(name, {
        length: bytes * 2, lower: false, upper: false, numeric: true, special: true, overrideSpecial: "abcdef",
    }, { ...opts, additionalSecretOutputs: ["result"] });
    return pulumi.secret(password.result);
}
