#!/usr/bin/env node
// Asks https://ADDRESS:6443/readyz every second (anonymous, as kubeadm allows; the certificate is not
// checked) until SIGTERM, then prints {"longestGapSeconds","missed","asked"} as one JSON line. A
// process of its own: the suites' samplers call kubectl synchronously, and in the suite's process
// they held this loop up for tens of seconds, which read as gaps of the API's (upgrade suite, 2026-12-07).
"use strict";
const https = require("https");

const address = process.argv[2];
let lastAnswer = Date.now(), longestGap = 0, missed = 0, asked = 0, running = true;

function ready() {
    return new Promise((resolve) => {
        const request = https.get({ host: address, port: 6443, path: "/readyz", rejectUnauthorized: false, timeout: 2000 }, (response) => {
            response.resume();
            resolve(response.statusCode === 200);
        });
        request.on("timeout", () => request.destroy());
        request.on("error", () => resolve(false));
    });
}

process.on("SIGTERM", () => { running = false; });

(async () => {
    while (running) {
        const started = Date.now();
        asked++;
        if (await ready()) {
            longestGap = Math.max(longestGap, Date.now() - lastAnswer);
            lastAnswer = Date.now();
        } else missed++;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started))));
    }
    longestGap = Math.max(longestGap, Date.now() - lastAnswer);
    process.stdout.write(`${JSON.stringify({ longestGapSeconds: longestGap / 1000, missed, asked })}\n`);
})();
