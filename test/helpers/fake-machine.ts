// A machine on loopback for the local routines' tests: its SSH port answers with a banner (what
// they probe before logging in) until it is switched off; the stand-in ssh does the rest.
import * as net from "net";

/** A machine on loopback: an SSH port that answers with a banner until it is shut down. */
export class FakeMachine {
    private server: net.Server | undefined;
    /** How many of the next connections get no banner (a loaded machine's sshd, slower than the probe's timeout). */
    private silent = 0;
    /** Its SSH port: given, or the one the system picks when it is first switched on (and kept after). */
    private assigned: number;
    constructor(readonly name: string, port = 0) {
        this.assigned = port;
    }
    get port(): number {
        if (this.assigned === 0) throw new Error(`${this.name} has no port until it is first switched on`);
        return this.assigned;
    }
    async on(): Promise<void> {
        this.server = net.createServer((socket) => {
            if (this.closing) {
                socket.end();
                return;
            }
            if (this.silent > 0) {
                this.silent--;
                socket.setTimeout(30000, () => socket.destroy());
                return;
            }
            socket.end("SSH-2.0-fake\r\n");
        });
        // a port picked at random could be in use (an outgoing connection's, from the same range): the
        // system picks a free one the first time
        await new Promise<void>((resolve, reject) => {
            this.server!.once("error", reject);
            this.server!.listen(this.assigned, "127.0.0.1", resolve);
        });
        this.assigned = (this.server.address() as net.AddressInfo).port;
    }
    /** Connections are accepted and closed at once, with no banner, as by a machine whose sshd is stopping. */
    private closing = false;
    shuttingDown(): void {
        this.closing = true;
    }
    /** The next `connections` connections get no banner, as from a machine too loaded to answer in time. */
    answerLate(connections: number): void {
        this.silent = connections;
    }
    off(): void {
        this.closing = false;
        this.server?.close();
        this.server = undefined;
    }
    get isOn(): boolean {
        return this.server !== undefined;
    }
}
