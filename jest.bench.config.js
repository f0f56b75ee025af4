/** Benchmarks: print figures, assert nothing about timings (npm run bench). */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test/bench"],
  testRegex: "\\.bench\\.ts$",
  testTimeout: 3600000,
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};
