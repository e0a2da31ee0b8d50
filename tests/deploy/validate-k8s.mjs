// Validates rendered Kubernetes manifests offline against the API's schemas (usage: node validate-k8s.mjs FILE...).
//
// Two passes per object, both from the pinned npm packages in tests/node (kubernetes-models for the core API,
// @kubernetes-models/* for the prometheus-operator and cert-manager CRDs):
//   1. the model's JSON-schema validation (types, enums, required fields, formats); an apiVersion/kind without a
//      model fails (UNKNOWN), so a typo in either cannot pass;
//   2. unknown fields: the schemas allow additional properties, so each object is also type-checked by the
//      TypeScript compiler as an object literal of the model's interface (excess property checks), in memory.
// Prints one line per object (OK, INVALID or UNKNOWN with the reason and the field's path) and ends with
// "N passed, M failed"; exits 1 when anything failed.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeRoot = path.resolve(here, '../node');
const require = createRequire(path.join(nodeRoot, 'package.json'));
const yaml = require('js-yaml');
const ts = require('typescript');
const { load } = await import(path.join(nodeRoot, 'load.mjs'));

const CRD_PACKAGES = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'cert-manager.io': '@kubernetes-models/cert-manager',
  'acme.cert-manager.io': '@kubernetes-models/cert-manager',
};

// The module of an apiVersion/kind, e.g. kubernetes-models/apps/v1/Deployment.
function ModuleOf(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === '') return `kubernetes-models/${version}/${kind}`;
  const pkg = CRD_PACKAGES[group] ?? 'kubernetes-models';
  return `${pkg}/${group}/${version}/${kind}`;
}

// "[file] apiVersion kind namespace/name" (the file only when several are checked).
let showFiles = false;
function Describe(doc, file) {
  const ns = doc.metadata?.namespace ? `${doc.metadata.namespace}/` : '';
  return `${showFiles ? `[${file}] ` : ''}${doc.apiVersion} ${doc.kind} ${ns}${doc.metadata?.name}`;
}

// JSON of `value`, pretty-printed, recording for each output line the path of the field that starts on it.
function JsonWithPaths(value, indent, pathSoFar, lines, paths) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value) && value.length > 0) {
    lines[lines.length - 1] += '[';
    value.forEach((item, i) => {
      lines.push(`${pad}  `);
      paths.push(`${pathSoFar}[${i}]`);
      JsonWithPaths(item, indent + 2, `${pathSoFar}[${i}]`, lines, paths);
      if (i + 1 < value.length) lines[lines.length - 1] += ',';
    });
    lines.push(`${pad}]`);
    paths.push(pathSoFar);
  } else if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    lines[lines.length - 1] += '{';
    const keys = Object.keys(value);
    keys.forEach((key, i) => {
      const child = pathSoFar ? `${pathSoFar}.${key}` : key;
      lines.push(`${pad}  ${JSON.stringify(key)}: `);
      paths.push(child);
      JsonWithPaths(value[key], indent + 2, child, lines, paths);
      if (i + 1 < keys.length) lines[lines.length - 1] += ',';
    });
    lines.push(`${pad}}`);
    paths.push(pathSoFar);
  } else {
    lines[lines.length - 1] += JSON.stringify(value);
  }
}

// Type-checks the objects against their interfaces; returns a map from object index to error messages.
function UnknownFields(objects) {
  const lines = [];
  const owner = [];  // per line: [object index, field path]
  objects.forEach(({ doc, module }, i) => {
    lines.push(`import type { I${doc.kind} as T${i} } from '${module}';`);
    owner.push([i, '']);
  });
  objects.forEach(({ doc }, i) => {
    const body = [`export const doc${i}: T${i} = `];
    const paths = [''];
    JsonWithPaths(doc, 0, '', body, paths);
    body[body.length - 1] += ';';
    body.forEach((line, j) => {
      lines.push(line);
      owner.push([i, paths[j]]);
    });
  });
  // A file that does not exist on disk, next to tests/node/node_modules so that module resolution finds the models.
  const virtual = path.join(nodeRoot, '__validate_k8s__.ts');
  const source = lines.join('\n');
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError) =>
    path.resolve(name) === virtual ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, onError);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === virtual || fileExists(name);
  const program = ts.createProgram([virtual], options, host);
  const errors = new Map();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    let index = -1;
    let where = '';
    if (d.file && path.resolve(d.file.fileName) === virtual && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      [index, where] = owner[line] ?? [-1, ''];
    }
    if (index < 0) {
      errors.set(-1, [...(errors.get(-1) ?? []), message]);
      continue;
    }
    errors.set(index, [...(errors.get(index) ?? []), `${where || '(object)'}: ${message}`]);
  }
  return errors;
}

// TypeScript reports one excess property per object literal: drop each reported field from a copy and check again
// (at most 20 rounds) so that every unknown field of an object is named at once.
function AllUnknownFields(objects) {
  const copies = objects.map((o) => ({ ...o, doc: structuredClone(o.doc) }));
  const all = new Map();
  for (let round = 0; round < 20; round++) {
    const errors = UnknownFields(copies);
    let dropped = 0;
    for (const [index, messages] of errors) {
      all.set(index, [...(all.get(index) ?? []), ...messages]);
      if (index < 0) continue;
      for (const m of messages) {
        const match = /^([^:]+): Object literal may only specify known properties/.exec(m);
        if (match && DeletePath(copies[index].doc, match[1])) dropped++;
      }
    }
    if (dropped === 0) break;
  }
  return all;
}

// Deletes the field at a path such as spec.template.spec.containers[0].resources.limit; false if absent.
function DeletePath(doc, fieldPath) {
  const parts = fieldPath.split(/\.|(?=\[)/).map((p) => (p.startsWith('[') ? Number(p.slice(1, -1)) : p));
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return false;
    node = node[part];
  }
  const last = parts[parts.length - 1];
  if (node === null || typeof node !== 'object' || !(last in node)) return false;
  delete node[last];
  return true;
}

async function Main(files) {
  showFiles = files.length > 1;
  let failed = 0;
  let total = 0;
  const known = [];
  for (const file of files) {
    let docs;
    try {
      docs = yaml.loadAll(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      failed++;
      total++;
      console.log(`INVALID ${file}: not YAML: ${e.reason ?? e.message} (line ${(e.mark?.line ?? -1) + 1})`);
      continue;
    }
    for (const doc of docs) {
      if (doc === null || doc === undefined) continue;
      total++;
      if (typeof doc !== 'object' || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
        failed++;
        console.log(`INVALID ${file}: an object without apiVersion/kind: ${JSON.stringify(doc).slice(0, 120)}`);
        continue;
      }
      const module = ModuleOf(doc.apiVersion, doc.kind);
      let Model;
      try {
        Model = (await load(module))[doc.kind];
      } catch {
        Model = undefined;
      }
      if (!Model) {
        failed++;
        console.log(`UNKNOWN ${Describe(doc, file)}: no schema for this apiVersion and kind (${module})`);
        continue;
      }
      try {
        new Model(doc).validate();
        known.push({ doc, file, module, failed: false });
      } catch (e) {
        known.push({ doc, file, module, failed: true });
        failed++;
        console.log(`INVALID ${Describe(doc, file)}: ${e.message.replace(/\s+/g, ' ')}`);
      }
    }
  }
  const unknown = AllUnknownFields(known);
  for (const message of unknown.get(-1) ?? []) {
    failed++;
    console.log(`ERROR the type check itself: ${message}`);
  }
  known.forEach(({ doc, file, failed: schemaFailed }, i) => {
    const messages = [...new Set(unknown.get(i) ?? [])];
    if (messages.length > 0) {
      if (!schemaFailed) failed++;
      for (const m of messages) console.log(`INVALID ${Describe(doc, file)}: ${m}`);
    } else if (!schemaFailed) {
      console.log(`OK ${Describe(doc, file)}`);
    }
  });
  console.log(`${total - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await Main(process.argv.slice(2));
