/** Tests are compiled by `tsc` (decorator metadata needs it) and run from dist/. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/dist/test"],
  testMatch: ["**/*.test.js"],
  testTimeout: 120000,
  maxWorkers: 2,
  verbose: true,
};
