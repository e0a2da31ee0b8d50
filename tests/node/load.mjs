// Imports a package installed here (tests/node/node_modules) for scripts elsewhere in tests/: bare specifiers
// resolve from the importing module's directory, and these packages export ESM only (no require.resolve).
export const load = (specifier) => import(specifier);
