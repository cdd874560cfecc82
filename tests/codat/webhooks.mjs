// tests/codat/webhooks.mjs - validates webhook bodies against Codat's own webhook
// schemas (codat-webhook-schemas.json: the webhooks of Codat's Platform API
// OpenAPI document, codatio/oas 1d1fab1) with ajv, for
// tests/integration/test_codat_sdk.py.
//   node webhooks.mjs < bodies.json     (a JSON array of event bodies)
// Prints one JSON line {eventType: [errors...]} per body checked and exits 1
// when any body fails its schema or has an event type Codat has no schema for.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = dirname(fileURLToPath(import.meta.url));
const doc = JSON.parse(readFileSync(join(here, 'codat-webhook-schemas.json'), 'utf8'));
// OpenAPI 3.1 has no "nullable" (3.0's): an annotation here, like example
// and x-*, so a null where the schema types a string fails - stricter than
// Codat's intent, and what a strict client does.  ajv would read it as 3.0's.
(function strip(o) {
  if (o && typeof o === 'object') {
    delete o.nullable;
    Object.values(o).forEach(strip);
  }
})(doc);
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, 'codat');

const bodies = JSON.parse(readFileSync(0, 'utf8'));
const report = [];
let failed = false;
for (const body of bodies) {
  const ref = doc['x-webhook-schemas'][body.eventType];
  let errors;
  if (!ref) {
    errors = ['Codat has no schema for event type ' + body.eventType];
  } else {
    const validate = ajv.getSchema('codat' + ref);
    errors = validate(body) ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  }
  if (errors.length) failed = true;
  report.push({ eventType: body.eventType, errors });
}
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
