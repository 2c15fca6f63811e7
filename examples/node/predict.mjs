// Predict rows with a staticml model from node: no dependencies, no build step, no npm.
//
//   node predict.mjs path/to/NAME.mjs rows.json     # rows: a JSON array of objects/arrays
//   cat rows.json | node predict.mjs path/to/NAME.mjs
//
// Prints one JSON line per row: {"prediction": ..., "proba": [...]} (proba for classifiers
// that have it). A row the model refuses prints the error (row, column, fix) and exits 1.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulePath, rowsPath = '-'] = process.argv.slice(2);
if (!modulePath) {
  console.error('usage: node predict.mjs NAME.mjs [rows.json | -]');
  process.exit(2);
}

const model = await import(pathToFileURL(path.resolve(modulePath)).href);
await model.load(); // reads NAME.wasm from beside NAME.mjs

const text = readFileSync(rowsPath === '-' ? 0 : rowsPath, 'utf8');
const rows = JSON.parse(text);
try {
  const predictions = model.predict(rows);
  const proba = model.outputs.proba ? model.predictProba(rows) : null;
  predictions.forEach((prediction, i) => {
    console.log(JSON.stringify(proba ? { prediction, proba: proba[i] } : { prediction }));
  });
} catch (err) {
  if (!(err instanceof model.InputError)) throw err;
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
}
