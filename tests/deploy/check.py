#!/usr/bin/env python3
"""check.py — `make deploy-test`: deploy/kubernetes/*.yaml parse and say
what mai needs.  Offline (python3-yaml); with MAI_K8S_VALIDATE=1 and the
npm package kubernetes-models installed (tests/deploy/validate.js), the
objects are also checked against Kubernetes' own schemas.

Checks: every document has apiVersion, kind, metadata.name; each
Deployment has a Service and a PodDisruptionBudget selecting its pods, a
liveness probe on /healthz and a readiness probe on /readyz at a port the
container declares, a preStop hook, resource requests; the orchestrator
takes the ARI password from a Secret via ARI_PASSWORD_FILE (no
ARI_PASSWORD in its environment), its ARI_APP holds %h, and the preStop
drains through `mai-supervisor ctl drain`."""
import glob, os, sys
import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
errors = []


def err(msg):
    errors.append(msg)


def load():
    docs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "kubernetes", "*.yaml"))):
        with open(path) as fp:
            for d in yaml.safe_load_all(fp):
                if d is None:
                    continue
                for k in ("apiVersion", "kind"):
                    if k not in d:
                        err(f"{path}: a document without {k}")
                if not d.get("metadata", {}).get("name"):
                    err(f"{path}: a {d.get('kind')} without metadata.name")
                d["_file"] = os.path.basename(path)
                docs.append(d)
    return docs


def selects(sel, labels):
    return sel and all(labels.get(k) == v for k, v in sel.items())


def port_of(container, ref):
    for p in container.get("ports", []):
        if ref in (p.get("name"), p.get("containerPort")):
            return p
    return None


def check_probe(name, c, kind, path):
    pr = c.get(kind)
    if not pr or "httpGet" not in pr:
        return err(f"{name}: no {kind} httpGet")
    if pr["httpGet"].get("path") != path:
        err(f"{name}: {kind} on {pr['httpGet'].get('path')}, want {path}")
    if port_of(c, pr["httpGet"].get("port")) is None:
        err(f"{name}: {kind} port {pr['httpGet'].get('port')} not declared")


def check_deployment(d, docs):
    name = d["metadata"]["name"]
    spec = d["spec"]
    labels = spec["template"]["metadata"]["labels"]
    if not selects(spec["selector"]["matchLabels"], labels):
        err(f"{name}: selector does not match its pod labels")
    svc = [s for s in docs if s["kind"] == "Service" and selects(s["spec"].get("selector"), labels)]
    pdb = [p for p in docs if p["kind"] == "PodDisruptionBudget"
           and selects(p["spec"]["selector"].get("matchLabels"), labels)]
    if not svc:
        err(f"{name}: no Service selects its pods")
    if not pdb:
        err(f"{name}: no PodDisruptionBudget selects its pods")
    c = spec["template"]["spec"]["containers"][0]
    for s in svc:
        for p in s["spec"]["ports"]:
            if port_of(c, p.get("targetPort")) is None:
                err(f"{name}: Service {s['metadata']['name']} targets port {p.get('targetPort')} the container lacks")
    check_probe(name, c, "livenessProbe", "/healthz")
    check_probe(name, c, "readinessProbe", "/readyz")
    if not c.get("lifecycle", {}).get("preStop"):
        err(f"{name}: no preStop hook")
    req = c.get("resources", {}).get("requests", {})
    if "cpu" not in req or "memory" not in req:
        err(f"{name}: resource requests cpu and memory missing")
    return c, spec["template"]["spec"]


def check_orchestrator(c, pod, docs):
    env = {e["name"]: e for e in c.get("env", [])}
    if "ARI_PASSWORD" in env:
        err("orchestrator: ARI_PASSWORD in the environment (use ARI_PASSWORD_FILE)")
    pwfile = env.get("ARI_PASSWORD_FILE", {}).get("value", "")
    if not pwfile:
        return err("orchestrator: no ARI_PASSWORD_FILE")
    if "%h" not in env.get("ARI_APP", {}).get("value", ""):
        err("orchestrator: ARI_APP without %h (every pod needs its own application)")
    mounts = [m for m in c.get("volumeMounts", []) if pwfile.startswith(m["mountPath"].rstrip("/") + "/")]
    if not mounts:
        return err(f"orchestrator: nothing mounted at {os.path.dirname(pwfile)}")
    vol = [v for v in pod.get("volumes", []) if v["name"] == mounts[0]["name"]]
    sec = vol[0].get("secret") if vol else None
    if not sec:
        return err("orchestrator: the password's volume is not a Secret")
    key = os.path.relpath(pwfile, mounts[0]["mountPath"])
    items = {i["path"]: i["key"] for i in sec.get("items", [])}
    want_key = items.get(key, key)
    secrets = [s for s in docs if s["kind"] == "Secret" and s["metadata"]["name"] == sec["secretName"]]
    if secrets and want_key not in {**secrets[0].get("stringData", {}), **secrets[0].get("data", {})}:
        err(f"orchestrator: Secret {sec['secretName']} has no key {want_key}")
    if sec.get("defaultMode", 0o644) & 0o077:
        err("orchestrator: the password file is readable by group or others")
    stop = " ".join(c["lifecycle"]["preStop"]["exec"]["command"])
    if "ctl drain" not in stop:
        err("orchestrator: preStop does not drain (mai-supervisor ctl drain)")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace < 100:
        err(f"orchestrator: terminationGracePeriodSeconds {grace} shorter than the drain")


def main():
    docs = load()
    deps = [d for d in docs if d["kind"] == "Deployment"]
    names = {d["metadata"]["name"] for d in deps}
    for want in ("mai-orchestrator", "mai-bot"):
        if want not in names:
            err(f"no Deployment {want}")
    for d in deps:
        c, pod = check_deployment(d, docs)
        if d["metadata"]["name"] == "mai-orchestrator":
            check_orchestrator(c, pod, docs)
    for e in errors:
        print("deploy-test: FAIL:", e)
    print(f"deploy-test: {len(docs)} objects in deploy/kubernetes, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
