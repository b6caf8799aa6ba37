// validate.js — deploy/kubernetes/*.yaml against Kubernetes' own schemas
// (npm kubernetes-models: each model's validate() runs its JSON schema).
// tests/deploy/run.sh installs the two packages into a cache outside the
// clone and calls this with NODE_PATH pointing there.
"use strict";
const fs = require("fs");
const path = require("path");
const yaml = require("js-yaml");

const dir = path.join(__dirname, "..", "..", "deploy", "kubernetes");
const models = {
  "apps/v1/Deployment": () => require("kubernetes-models/apps/v1").Deployment,
  "v1/Service": () => require("kubernetes-models/v1").Service,
  "v1/Secret": () => require("kubernetes-models/v1").Secret,
  "policy/v1/PodDisruptionBudget": () => require("kubernetes-models/policy/v1").PodDisruptionBudget,
};
let n = 0, bad = 0;
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".yaml")).sort()) {
  for (const doc of yaml.loadAll(fs.readFileSync(path.join(dir, f), "utf8"))) {
    if (!doc) continue;
    n++;
    const key = `${doc.apiVersion}/${doc.kind}`;
    const M = models[key];
    if (!M) { console.log(`deploy-validate: FAIL: ${f}: no schema here for ${key}`); bad++; continue; }
    try { new (M())(doc).validate(); }
    catch (e) { console.log(`deploy-validate: FAIL: ${f}: ${key} ${doc.metadata.name}: ${e.message}`); bad++; }
  }
}
console.log(`deploy-validate: ${n} objects against kubernetes-models schemas, ${bad} invalid`);
process.exit(bad ? 1 : 0);
