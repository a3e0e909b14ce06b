#!/usr/bin/env node
// Differential oracle: what @sap/xsenv 6.2.2 selects.
//
// Usage: node xsenv_select.js '<filter as JSON>'
// The environment (VCAP_SERVICES, VCAP_SERVICES_FILE_PATH, SERVICE_BINDING_ROOT,
// XSENV_PARSE_ALL_JSON) is the process environment; tests/runtime_bindings.rs sets it per case.
// Prints {"name", "credentials"} for exactly one match, otherwise {"error": <xsenv's message>}
// (the same rule and texts as xsenv.serviceCredentials, which does not return the name).
'use strict';
const xsenv = require(process.env.XSENV_MODULE || '@sap/xsenv');

const filter = JSON.parse(process.argv[2]);
let out;
try {
  const matches = xsenv.filterServices(filter);
  if (matches.length === 1) {
    out = { name: matches[0].name, credentials: matches[0].credentials };
  } else {
    out = { error: `Found ${matches.length} matching services` };
  }
} catch (e) {
  out = { error: e.message };
}
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
