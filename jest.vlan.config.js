/** The tagged VLAN path on QEMU machines with Debian's kernel (npm run test:vlan). */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test/vlan"],
  testTimeout: 1800000,
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};
