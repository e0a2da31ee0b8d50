// Validates Grafana dashboard JSON files against a JSON schema of the Dashboard type of @grafana/schema
// (tests/node/node_modules), generated on each run with ts-json-schema-generator into SCHEMA_DIR and relaxed:
// every `required` except the root's is deleted, because exported dashboards omit fields Grafana defaults
// (templating current, links, row collapsed, ...). Before the files, three broken copies of the first one
// (gridPos.h "8", graphTooltip 5, no schemaVersion) must be refused, so a schema that accepts anything fails.
//
// Usage: node tests/dashboards/validate-dashboards.mjs SCHEMA_DIR FILE.json...
// Prints one JSON object {"errors": [{file, path, message}], "schema_seconds": s} on stdout; exit 0 when no
// errors, 1 with errors, 2 when the schema cannot be made. Run by tests/dashboards/dashboards_test.py.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = path.resolve(here, '..', 'node');
const require = createRequire(path.join(nodeDir, 'package.json'));
const tsj = require('ts-json-schema-generator');
const Ajv = require('ajv');

const [schemaDir, ...files] = process.argv.slice(2);
if (!schemaDir || files.length === 0) {
  console.error('usage: validate-dashboards.mjs SCHEMA_DIR FILE.json...');
  process.exit(2);
}

function Relax(node, isRoot) {
  if (Array.isArray(node)) {
    node.forEach((item) => Relax(item, false));
  } else if (node && typeof node === 'object') {
    if (!isRoot) delete node.required;
    for (const value of Object.values(node)) Relax(value, false);
  }
}

const started = process.hrtime.bigint();
let schema;
try {
  const types = path.join(nodeDir, 'node_modules', '@grafana', 'schema', 'dist', 'types', 'raw', 'dashboard', 'x',
                          'types.gen.d.ts');
  schema = tsj.createGenerator({ path: types, type: 'Dashboard', skipTypeCheck: true, additionalProperties: true })
    .createSchema('Dashboard');
  fs.writeFileSync(path.join(schemaDir, 'dashboard.schema.json'), JSON.stringify(schema, null, 2));
  // The root is a $ref to definitions.Dashboard: its `required` (schemaVersion) is the one kept.
  const root = schema.definitions.Dashboard;
  const rootRequired = root.required;
  Relax(schema, true);
  root.required = rootRequired;
  if (!rootRequired || !rootRequired.includes('schemaVersion')) {
    throw new Error('Dashboard.required has no schemaVersion');
  }
  fs.writeFileSync(path.join(schemaDir, 'dashboard.relaxed.schema.json'), JSON.stringify(schema, null, 2));
} catch (e) {
  console.error(`cannot generate the Dashboard schema: ${e.message}`);
  process.exit(2);
}
const schemaSeconds = Number(process.hrtime.bigint() - started) / 1e9;

const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(schema);
const errors = [];

function Check(file, dashboard) {
  if (validate(dashboard)) return [];
  // anyOf over Panel | RowPanel reports each branch; keep distinct (path, message) pairs.
  const seen = new Set();
  const out = [];
  for (const e of validate.errors) {
    // anyOf [Panel, RowPanel]: the RowPanel branch's type: 'row' mismatch says nothing about a panel.
    if (e.keyword === 'const' && e.instancePath.endsWith('/type')) continue;
    const detail = e.params && e.params.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : '';
    const message = e.keyword === 'anyOf' ? 'matches neither Panel nor RowPanel' : `${e.message}${detail}`;
    const key = `${e.instancePath} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file, path: e.instancePath, message });
  }
  return out;
}

const dashboards = [];
for (const file of files) {
  try {
    dashboards.push([file, JSON.parse(fs.readFileSync(file, 'utf8'))]);
  } catch (e) {
    errors.push({ file, path: '', message: `not JSON: ${e.message}` });
  }
}

if (dashboards.length > 0) {
  const [name, first] = dashboards[0];
  const mutants = {
    'gridPos.h "8"': (d) => { d.panels.find((p) => p.gridPos).gridPos.h = '8'; },
    'graphTooltip 5': (d) => { d.graphTooltip = 5; },
    'no schemaVersion': (d) => { delete d.schemaVersion; },
  };
  for (const [what, mutate] of Object.entries(mutants)) {
    const copy = structuredClone(first);
    mutate(copy);
    if (Check(name, copy).length === 0) {
      errors.push({ file: name, path: '', message: `schema self-check: a copy with ${what} was accepted` });
    }
  }
}
for (const [file, dashboard] of dashboards) errors.push(...Check(file, dashboard));

console.log(JSON.stringify({ errors, schema_seconds: schemaSeconds }));
process.exit(errors.length ? 1 : 0);
