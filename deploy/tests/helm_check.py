"""The Helm chart, validated offline and run for real (scripts/suites/35-helm.sh).

1. Keys, certificates and tokens for three parties from `ephemeral deploy configs`, merged into
   deploy/helm/ci/party{0,1,2}.yaml (the three organisations' values).
2. `helm lint --strict` on each party's values (Helm's Go SDK, from PyPI's helm-python-sdk).
3. `helm template` for the three parties; the output is written to one file per party.
4. `kubernetes-validate --strict` on every rendered object against Kubernetes KUBE_VERSION
   (the ServiceMonitor is a custom resource without a published schema: it is checked to be
   present and well-formed here instead).
5. `checkov` on the rendered objects: no failed check; every skipped check is explained by a
   `checkov.io/skip` annotation in the chart, and the reasons are printed.
6. The insecure dealer is reachable only through the value named `insecure`.
7. The rendered party.toml files, and the certificates, keys and tokens of the rendered
   Secrets, are mounted exactly where the StatefulSet mounts them into three containers of the
   image, run with the StatefulSet's arguments and security settings on a private network whose
   names are the gateway Services' DNS names; the seed example runs on uploaded secrets, and the
   helm test pod's command passes.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import helm_python as helm
import yaml

from cloudtest import BIN, ROOT, Cloud, docker, fail, free_ports, log, sh

CHART = ROOT / "deploy/helm/ephemeral"
KUBE_VERSION = "1.30.0"
N = 3
NETWORKS: list[str] = []  # made by run_rendered, removed at the end


def main() -> None:
    run = f"ephhelm{os.getpid()}"
    tag = f"ephemeral:{run}"
    tmp = Path(tempfile.mkdtemp(prefix="ephemeral-helm-"))
    net = f"{run}_net"
    containers: list[str] = []
    t_all = time.monotonic()
    try:
        values = party_values(tmp, tag)
        lint(values)
        rendered = render(values, tmp)
        kube_validate(rendered)
        policy_scan(rendered)
        insecure_only_by_name(values[0])
        run_rendered(rendered, tmp, tag, net, containers)
        log(f"helm: all checks passed in {time.monotonic() - t_all:.0f} s")
    finally:
        for c in containers:
            docker("rm", "-f", "-v", c, check=False)
        for n in [net, *NETWORKS]:
            docker("network", "rm", n, check=False)
        docker("rmi", "-f", tag, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def party_values(tmp: Path, tag: str) -> list[dict]:
    """The three parties' values: the CI files plus freshly generated secrets."""
    keys = tmp / "keys"
    sh([BIN, "deploy", "configs", "--out", str(keys), "--hosts",
        ",".join(f"eph{i}-ephemeral-gateway.org{i}.svc.cluster.local" for i in range(N)),
        "--owner", f"{os.getuid()}:{os.getgid()}"])
    read = lambda p: (keys / p).read_text()  # noqa: E731
    certs = [read(f"party0/peers/party{j}.pem") for j in range(N)]
    repo, _, image_tag = tag.partition(":")
    out = []
    for i in range(N):
        v = yaml.safe_load((ROOT / f"deploy/helm/ci/party{i}.yaml").read_text())
        for j, p in enumerate(v["parties"]):
            p["cert"] = certs[j]
        v["mpc"] = {"cert": certs[i], "key": read(f"party{i}/mpc.key")}
        v["api"] = {"tls": {"cert": read(f"party{i}/api.pem"), "key": read(f"party{i}/api.key")}}
        for u in v["clients"]["users"]:
            u["token"] = read(f"party{i}/tokens/dev")
        v["image"] = {"repository": repo, "tag": image_tag, "pullPolicy": "IfNotPresent"}
        out.append(v)
    return out


def lint(values: list[dict]) -> None:
    for i, v in enumerate(values):
        report = helm.lint(str(CHART), v, strict=True, kube_version=f"v{KUBE_VERSION}")
        problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
        if report.get("errors") or problems:
            fail(f"helm lint --strict, party {i}: {json.dumps(report, indent=1)}")
    # Lint must also catch what is wrong: a values file the schema refuses.
    bad = dict(values[0], insecure={"dealer": "yes"})
    report = helm.lint(str(CHART), bad, strict=True)
    if not (report.get("errors") or report.get("messages")):
        fail("helm lint accepted insecure.dealer = 'yes' (the schema should refuse it)")
    log(f"helm lint --strict: {N} parties' values pass (Helm {helm.helm_sdk_version()}); a bad value is refused")


def render(values: list[dict], tmp: Path) -> list[list[dict]]:
    """helm template for each party; the objects of each, also written to rendered/partyI.yaml."""
    out_dir = tmp / "rendered"
    out_dir.mkdir()
    parties = []
    with helm.Chart.load(str(CHART)) as chart:
        for i, v in enumerate(values):
            chart.validate_schema(v)
            manifests = chart.render(v, name=f"eph{i}", namespace=f"org{i}", is_install=True)
            docs = []
            text = []
            for path, body in sorted(manifests.items()):
                if path.endswith("NOTES.txt"):
                    if f"id = {i}" not in body:
                        fail(f"NOTES.txt of party {i} has no cloud.toml stanza: {body}")
                    continue
                for d in yaml.safe_load_all(body):
                    if d:
                        docs.append(d)
                text.append(f"# Source: {path}\n{body}")
            (out_dir / f"party{i}.yaml").write_text("\n---\n".join(text))
            parties.append(docs)
    kinds = sorted({d["kind"] for d in parties[2]})
    log(f"helm template: {N} parties rendered; party 2 (every option on): {', '.join(kinds)}")
    for need in ["StatefulSet", "ConfigMap", "Secret", "Service", "NetworkPolicy", "Ingress", "ServiceMonitor", "Pod"]:
        if need not in kinds:
            fail(f"party 2's rendering has no {need}")
    return parties


def kube_validate(parties: list[list[dict]]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ephemeral-kv-"))
    try:
        files = []
        for i, docs in enumerate(parties):
            for k, d in enumerate(docs):
                if d["apiVersion"].startswith("monitoring.coreos.com/"):
                    ep = d["spec"]["endpoints"][0]
                    if ep["scheme"] != "https" or ep["port"] != "api":
                        fail(f"ServiceMonitor of party {i} does not scrape the API over HTTPS: {ep}")
                    continue
                f = tmp / f"p{i}-{k}-{d['kind']}.yaml"
                f.write_text(yaml.safe_dump(d))
                files.append(str(f))
        exe = str(Path(sys.executable).parent / "kubernetes-validate")
        p = subprocess.run([exe, "--strict", "--kubernetes-version", KUBE_VERSION, *files],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            fail(f"kubernetes-validate --strict:\n{p.stdout}\n{p.stderr}")
        log(f"kubernetes-validate --strict (Kubernetes {KUBE_VERSION}): {len(files)} objects valid")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def policy_scan(parties: list[list[dict]]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ephemeral-checkov-"))
    try:
        for i, docs in enumerate(parties):
            (tmp / f"party{i}.yaml").write_text(yaml.safe_dump_all(docs))
        exe = str(Path(sys.executable).parent / "checkov")
        p = subprocess.run([exe, "-d", str(tmp), "--framework", "kubernetes", "-o", "json",
                            "--skip-download"], capture_output=True, text=True, timeout=600)
        try:
            report = json.loads(p.stdout)
        except json.JSONDecodeError:
            fail(f"checkov printed no JSON report (exit {p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
        reports = report if isinstance(report, list) else [report]
        failed, skipped, passed, resources = [], [], 0, 0
        for r in reports:
            res = r.get("results", {})
            failed += res.get("failed_checks", [])
            skipped += res.get("skipped_checks", [])
            passed += r.get("summary", {}).get("passed", 0)
            resources += r.get("summary", {}).get("resource_count", 0)
            if r.get("summary", {}).get("parsing_errors"):
                fail(f"checkov could not parse some rendered objects: {r['summary']}")
        if passed == 0 or resources == 0:
            fail(f"checkov checked nothing: {[r.get('summary') for r in reports]}")
        if failed:
            lines = [f"{c['check_id']} {c['check_name']} ({c.get('resource')})" for c in failed]
            fail("checkov: failed checks:\n  " + "\n  ".join(lines))
        reasons = {}
        for c in skipped:
            why = (c.get("check_result") or {}).get("suppress_comment") or ""
            if not why.strip():
                fail(f"checkov: {c['check_id']} is skipped without a reason ({c.get('resource')})")
            reasons[c["check_id"]] = why
        log(f"checkov: {resources} objects, {passed} checks passed, 0 failed, {len(skipped)} skipped, each with its reason in the chart:")
        for cid, why in sorted(reasons.items()):
            print(f"    {cid}: {why}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def party_toml(docs: list[dict]) -> str:
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-config"))
    return cm["data"]["party.toml"]


def insecure_only_by_name(v: dict) -> None:
    with helm.Chart.load(str(CHART)) as chart:
        plain = party_toml(docs_of(chart.render(v, name="eph0", namespace="org0")))
        if "insecure" in plain:
            fail(f"the default rendering mentions insecure settings:\n{plain}")
        seed = "ab" * 32
        on = party_toml(docs_of(chart.render(dict(v, insecure={"dealer": True, "dealerSeed": seed}),
                                             name="eph0", namespace="org0")))
        if "insecure_dealer = true" not in on or seed not in on:
            fail("insecure.dealer did not turn the dealer on")
        try:
            chart.render(dict(v, insecure={"dealer": True}), name="eph0", namespace="org0")
            fail("insecure.dealer without a seed rendered")
        except helm.HelmError as e:
            if "insecure.dealerSeed" not in str(e):
                fail(f"insecure.dealer without a seed: unclear error {e}")
        for sneaky in ({"tuples": dict(v["tuples"], insecure_dealer=True)}, {"insecure_dealer": True}):
            try:
                chart.validate_schema(dict(v, **sneaky))
                fail(f"the schema accepted {sneaky}")
            except helm.HelmValuesError:
                pass
    log("insecure preprocessing: off by default, on only through insecure.dealer (with its seed); other spellings refused")


def docs_of(manifests: dict[str, str]) -> list[dict]:
    return [d for path, body in manifests.items() if path.endswith(".yaml")
            for d in yaml.safe_load_all(body) if d]


def run_rendered(parties: list[list[dict]], tmp: Path, tag: str, net: str, containers: list[str]) -> None:
    """Runs each party's rendered config in a container, mounted as the StatefulSet mounts it."""
    t = time.monotonic()
    out = sh([str(ROOT / "deploy/image/build.sh"), BIN, tag], timeout=300).stdout.strip()
    log(f"{out} in {time.monotonic() - t:.0f} s")
    docker("network", "create", "--internal", net)
    api_net = f"{net}_api"
    docker("network", "create", api_net)
    NETWORKS.append(api_net)
    ports = free_ports(N)
    cloud = f"timeout_secs = 600\n"
    try:
        for i, docs in enumerate(parties):
            sts = next(d for d in docs if d["kind"] == "StatefulSet")
            pod = sts["spec"]["template"]["spec"]
            ctr = pod["containers"][0]
            if ctr["image"] != tag:
                fail(f"party {i}'s StatefulSet runs {ctr['image']}, not {tag}")
            root = tmp / f"pod{i}"
            mounts = materialise(docs, pod, ctr, root)
            sc = ctr["securityContext"]
            gw = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"].endswith("-gateway"))
            alias = f"{gw['metadata']['name']}.org{i}.svc.cluster.local"
            name = f"{net}_party{i}"
            api_svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"].endswith("-api"))
            args = ["run", "-d", "--name", name, "--network", api_net,
                    "--user", f"{sc['runAsUser']}:{sc['runAsGroup']}", "--cap-drop", "ALL",
                    "--security-opt", "no-new-privileges"]
            if sc.get("readOnlyRootFilesystem"):
                args.append("--read-only")
            for src, dst, ro in mounts:
                args += ["-v", f"{src}:{dst}{':ro' if ro else ''}"]
            for e in ctr.get("env", []):
                args += ["-e", f"{e['name']}={e['value']}"]
            args += ["-p", f"127.0.0.1:{ports[i]}:{ctr['ports'][0]['containerPort']}", tag, *ctr["args"]]
            docker(*args)
            containers.append(name)
            # The MPC network (internal) knows each party by its gateway Service's DNS name, and
            # by its API Service's short name (what the helm test pod dials).
            docker("network", "connect", "--alias", alias, "--alias", api_svc["metadata"]["name"], net, name)
            toml_ = party_toml(docs)
            token = (root / "tokens/dev").read_text()
            cloud += (f"\n[[parties]]\nid = {i}\nurl = \"https://127.0.0.1:{ports[i]}\"\n"
                      f"token = \"{token}\"\nca_cert = \"{root / 'api-tls/tls.crt'}\"\n")
            if i == 0:
                print("    rendered party.toml of party 0:\n" + "\n".join("      " + l for l in toml_.splitlines()[:12]) + "\n      ...", flush=True)
        (tmp / "cloud.toml").write_text(cloud)
        c = Cloud(tmp / "cloud.toml")
        took = c.wait_ok(90, "the rendered configs")
        log(f"three containers from the rendered party.toml files connected in {took:.1f} s")
        a, b = c.create(42), c.create(17)
        got = c.seed(a, b)
        if got != [59]:
            fail(f"seed example on the rendered configs: got {got}, expected [59]")
        log("seed example on the chart's configs: 42 + 17 = 59")
        helm_test(parties[1], tmp / "pod1", tag, net)
    except BaseException:
        for name in containers:
            p = docker("logs", "--tail", "30", name, check=False)
            print(f"--- {name}\n{p.stdout[-3000:]}{p.stderr[-3000:]}", flush=True)
        raise


def materialise(docs: list[dict], pod: dict, ctr: dict, root: Path) -> list[tuple[str, str, bool]]:
    """Writes each volume the container mounts from the rendered ConfigMaps and Secrets."""
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    mounts = []
    for m in ctr["volumeMounts"]:
        # The claim (volumeClaimTemplates) is not among the pod's volumes: an empty directory.
        vol = next((v for v in pod["volumes"] if v["name"] == m["name"]), {})
        d = root / m["name"]
        d.mkdir(parents=True)
        if "configMap" in vol:
            for k, text in by_name[("ConfigMap", vol["configMap"]["name"])]["data"].items():
                (d / k).write_text(text)
        elif "secret" in vol:
            for k, b64 in (by_name[("Secret", vol["secret"]["secretName"])].get("data") or {}).items():
                (d / k).write_bytes(base64.b64decode(b64))
                os.chmod(d / k, 0o400)
        # emptyDir and the claim: empty directories. The pod's fsGroup makes every volume the
        # user's; here, as root, the files are handed to the image's user.
        if os.getuid() == 0:
            for f in [d, *d.iterdir()]:
                shutil.chown(f, 10001, 10001)
        mounts.append((str(d), m["mountPath"], bool(m.get("readOnly"))))
    return mounts


def helm_test(docs: list[dict], root: Path, tag: str, net: str) -> None:
    """Runs the helm test pod's container as rendered: the API certificate only, via the Service."""
    test = next(d for d in docs if d["kind"] == "Pod")
    ctr = test["spec"]["containers"][0]
    args = list(ctr["args"])
    # The API Service's name resolves to party 1's container on this network.
    i = args.index("--address")
    svc_host, port = args[i + 1].rsplit(":", 1)
    only_cert = root / "test-api"
    only_cert.mkdir()
    shutil.copy(root / "api-tls/tls.crt", only_cert / "tls.crt")
    os.chmod(only_cert / "tls.crt", 0o444)
    cfg = root / "config"
    p = docker("run", "--rm", "--network", net, "--user", "10001:10001", "--read-only", "--cap-drop", "ALL",
               "-v", f"{cfg}:/etc/ephemeral/config:ro", "-v", f"{only_cert}:/etc/ephemeral/api:ro",
               tag, *args, check=False, timeout=60)
    if p.returncode != 0:
        fail(f"the helm test pod's check failed: {p.stdout}{p.stderr}")
    log(f"helm test pod's command (ephemeral {' '.join(args[:1])} --address {svc_host}:{port} ...): {p.stdout.strip()}")


if __name__ == "__main__":
    main()
