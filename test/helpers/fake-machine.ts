// A machine on loopback for the local routines' tests: its SSH port answers with a banner (what
// they probe before logging in) until it is switched off; the stand-in ssh does the rest.
import * as net from "net";

/** A machine on loopback: an SSH port that answers with a banner until it is shut down. */
export class FakeMachine {
    private server: net.Server | undefined;
    constructor(readonly name: string, readonly port: number) {}
    async on(): Promise<void> {
        this.server = net.createServer((socket) => socket.end("SSH-2.0-fake\r\n"));
        await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    }
    off(): void {
        this.server?.close();
        this.server = undefined;
    }
    get isOn(): boolean {
        return this.server !== undefined;
    }
}
