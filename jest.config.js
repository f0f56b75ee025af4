/** Unit and golden tests; the integration tests (real engine, real lab) run from their own scripts. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testPathIgnorePatterns: ["/node_modules/", "/test/integration/", "/test/e2e/", "/test/vlan/"],
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: { warnOnly: false }, isolatedModules: false }] },
};
