/** Integration tests: a real Pulumi engine (engine/setup.sh) runs the program offline. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test/integration"],
  testTimeout: 300000,
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};
