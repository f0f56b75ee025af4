/** Unit and golden tests; the integration tests (real engine, real lab) run from their own scripts. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testPathIgnorePatterns: ["/node_modules/", "/test/integration/", "/test/e2e/", "/test/vlan/"],
  // the mocked engine's hooks take a few seconds on an idle machine and far more on a shared, loaded one
  // (the lab running beside them): jest's 5 s default failed them there; no test asserts a time
  testTimeout: 60000,
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: { warnOnly: false }, isolatedModules: false }] },
};
