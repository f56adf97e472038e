/** Runtime dependencies published as ES modules only. */
const ESM_ONLY = ['http-proxy-middleware', 'httpxy', 'is-plain-obj', 'jose'];

/**
 * Tests run the TypeScript sources through ts-jest (transpile only: `npm run
 * typecheck` checks types once for the whole tree). Some runtime dependencies
 * (http-proxy-middleware 4, jose 6, ...) ship ES modules only; Node 24 loads
 * them from the compiled CommonJS gateway with require(esm), but jest's module
 * registry cannot (without an experimental Node flag), so jest turns those
 * packages into CommonJS as it loads them.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
    '^.+\\.m?js$': [
      'babel-jest',
      { babelrc: false, configFile: false, plugins: ['@babel/plugin-transform-modules-commonjs'] },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  testTimeout: 20000,
};
