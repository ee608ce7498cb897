"""Checks what can be checked of the deployment files without Docker or Kubernetes here.

- compose.yaml parses; it runs each split role on its seed port and the gateway pointed at them,
  every QSPP service waits on healthy or finished dependencies and runs read-only, and the replicated
  profile's nginx upstream names every replica;
- the Helm chart's templates render (the subset of Go templates they use, see `render`) into YAML
  with, for every role, a Deployment (`serve --role`, liveness on /health, readiness on /ready,
  non-root, read-only root filesystem, keys from a Secret), a Service, a PodDisruptionBudget and an
  HPA on CPU;
- the Dockerfile builds with scripts/dev/build-static.sh, the very script the test command runs, on the
  official Swift image, and runs as a non-root user with a HEALTHCHECK.
"""
import pathlib
import re
import sys

import yaml

root = pathlib.Path(__file__).resolve().parents[2]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


compose = yaml.safe_load((root / "compose.yaml").read_text())
services = compose["services"]
roles = {"consent": "3000", "auth": "3001", "valuation": "3002", "gateway": "8080"}
replicas = [name for name in services if name.startswith("qspp-")]
check(len(replicas) >= 2, "compose: at least two replicas in the replicated profile")
qspp = list(roles) + replicas
for name in qspp + ["migrate"]:
    for dependency, rule in services[name].get("depends_on", {}).items():
        check(rule.get("condition") in ("service_healthy", "service_completed_successfully"),
              f"compose: {name} waits for {dependency} without a health condition")
for name in qspp:
    check(services[name].get("read_only") is True, f"compose: {name} must run read-only")
for role, port in roles.items():
    check(services[role]["command"] == ["serve", "--role", role], f"compose: {role} must serve --role {role}")
    check(services[role]["environment"].get("QSPP_PORT") == port, f"compose: {role} listens on {port}")
gateway = services["gateway"]
for role in ("consent", "auth", "valuation"):
    check(gateway["environment"].get(f"QSPP_UPSTREAM_{role.upper()}") == f"http://{role}:{roles[role]}",
          f"compose: the gateway must find {role} at its service")
    check(gateway["depends_on"].get(role, {}).get("condition") == "service_healthy",
          f"compose: the gateway starts once {role} is healthy")
check(all(services[name].get("profiles") == ["replicated"] for name in replicas + ["nginx"]),
      "compose: the replicated topology is a profile")
check("healthcheck" in services["postgres"], "compose: postgres needs a healthcheck")
nginx = (root / "deploy/nginx/qspp.conf").read_text()
for name in replicas:
    check(f"server {name}:8080" in nginx, f"nginx: the upstream lacks {name}")

chart = root / "deploy/helm/qspp"
values = yaml.safe_load((chart / "values.yaml").read_text())
yaml.safe_load((chart / "Chart.yaml").read_text())


def lookup(value, path):
    for part in path.split("."):
        value = value[part]
    return value


def render(text, item=None):
    """The subset of Helm's templates the chart uses: `{{- range .Values.list }}...{{- end }}`, and
    `.Values.x`, `.Release.Name` and, inside a range, `.field` of the item (`$.` for the root)."""
    text = re.sub(r"\s*\{\{-", "{{", text)
    def expand(match):
        return "".join(render(match.group(2), entry) for entry in lookup(values, match.group(1)))
    text = re.sub(r"\{\{ range \.Values\.(\S+) \}\}(.*?)\{\{ end \}\}", expand, text, flags=re.S)
    def substitute(match):
        expression = match.group(1).strip().removeprefix("$")
        if expression == ".Release.Name":
            return "qspp"
        if expression.startswith(".Values."):
            return str(lookup(values, expression[len(".Values."):]))
        if item is not None and expression.startswith("."):
            return str(lookup(item, expression[1:]))
        raise ValueError(f"unsupported template expression: {expression}")
    return re.sub(r"\{\{(.*?)\}\}", substitute, text)


documents = {}
for template in sorted((chart / "templates").glob("*.yaml")):
    for document in yaml.safe_load_all(render(template.read_text())):
        if document:
            documents[(document["kind"], document["metadata"]["name"])] = document
for role in (entry["name"] for entry in values["roles"]):
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        check((kind, f"qspp-{role}") in documents, f"helm: no {kind} for the {role} role")
    deployment = documents.get(("Deployment", f"qspp-{role}"))
    if deployment is None:
        continue
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    check(container["args"] == ["serve", "--role", role], f"helm: the {role} Deployment must serve --role {role}")
    check(container["livenessProbe"]["httpGet"]["path"] == "/health", "helm: liveness must probe /health")
    check(container["readinessProbe"]["httpGet"]["path"] == "/ready", "helm: readiness must probe /ready")
    check(container["securityContext"]["readOnlyRootFilesystem"] is True, "helm: read-only root filesystem")
    check(pod["securityContext"]["runAsNonRoot"] is True, "helm: must run as non-root")
    check(any(source.get("secretRef") for source in container["envFrom"]), "helm: keys come from a Secret")
    env = {entry["name"]: entry["value"] for entry in container["env"]}
    for upstream in ("consent", "auth", "valuation"):
        check(env.get(f"QSPP_UPSTREAM_{upstream.upper()}") == f"http://qspp-{upstream}",
              f"helm: the gateway must find {upstream} at its Service")
    check(env.get("QSPP_TOKEN_ISSUER") == values["publicURL"], "helm: every role names the public URL as issuer")
    check(env.get("QSPP_MANAGEMENT_PORT") == str(values["managementPort"]), "helm: metrics on the management port")
    service = documents[("Service", f"qspp-{role}")]
    check(all(port["targetPort"] != "management" for port in service["spec"]["ports"]),
          "helm: the Service must not expose the management port")
    hpa = documents[("HorizontalPodAutoscaler", f"qspp-{role}")]
    check(hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu", "helm: the HPA scales on CPU")
    check(hpa["spec"]["scaleTargetRef"]["name"] == f"qspp-{role}", f"helm: the {role} HPA scales its Deployment")

dockerfile = (root / "Dockerfile").read_text()
runs = re.findall(r"^RUN (.*)$", dockerfile, re.M)
check("scripts/dev/build-static.sh /out" in runs, "Dockerfile: must build with scripts/dev/build-static.sh")
check(re.search(r"^FROM swift:6\.3", dockerfile, re.M) is not None, "Dockerfile: builds on the official Swift image")
check(re.search(r"^USER 10001", dockerfile, re.M) is not None, "Dockerfile: runs as a non-root user")
check("HEALTHCHECK" in dockerfile, "Dockerfile: has a HEALTHCHECK")
# The build stage needs everything the manifest names, or SwiftPM refuses the package.
copied = set(re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.M))
ignored = set((root / ".dockerignore").read_text().split())
for needed in ("Package.swift", "Sources", "Tests", "scripts"):
    check(needed in copied and needed not in ignored, f"Dockerfile: the build stage needs {needed}")
check("scripts/check/check-static.sh" in (root / "scripts/test.sh").read_text()
      and "scripts/dev/build-static.sh" in (root / "scripts/check/check-static.sh").read_text(),
      "the test command must run scripts/dev/build-static.sh (through check-static.sh), as the Dockerfile does")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"deployment files: compose ({len(services)} services), Helm chart ({len(documents)} objects) and Dockerfile check out")
