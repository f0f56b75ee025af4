/** End-to-end tests: the real engine against the simulated lab (npm run test:e2e). */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test/e2e"],
  testTimeout: 1800000,
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};
