"""Checks what can be checked of the deployment files without Docker or Kubernetes here.

- compose.yaml parses, every QSPP service waits on healthy or finished dependencies, replicas run
  read-only, and nginx's upstream names every replica;
- the Helm chart's templates render (the subset of Go templates they use: `{{ .Values.x }}` and
  `{{ .Release.Name }}`) into YAML with a Deployment (liveness on /health, readiness on /ready,
  non-root, read-only root filesystem), a Service, a PodDisruptionBudget and an HPA on CPU;
- the Dockerfile builds with scripts/build-static.sh, the very script the test command runs, on the
  official Swift image, and runs as a non-root user with a HEALTHCHECK.
"""
import pathlib
import re
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


compose = yaml.safe_load((root / "compose.yaml").read_text())
services = compose["services"]
replicas = [name for name in services if name.startswith("qspp-")]
check(len(replicas) >= 2, "compose: at least two replicas")
for name in replicas + ["migrate"]:
    for dependency, rule in services[name].get("depends_on", {}).items():
        check(rule.get("condition") in ("service_healthy", "service_completed_successfully"),
              f"compose: {name} waits for {dependency} without a health condition")
for name in replicas:
    check(services[name].get("read_only") is True, f"compose: {name} must run read-only")
check("healthcheck" in services["postgres"], "compose: postgres needs a healthcheck")
nginx = (root / "deploy/nginx/qspp.conf").read_text()
for name in replicas:
    check(f"server {name}:8080" in nginx, f"nginx: the upstream lacks {name}")

chart = root / "deploy/helm/qspp"
values = yaml.safe_load((chart / "values.yaml").read_text())
yaml.safe_load((chart / "Chart.yaml").read_text())


def lookup(path):
    value = values
    for part in path.split("."):
        value = value[part]
    return value


def render(text):
    def substitute(match):
        expression = match.group(1).strip()
        if expression == ".Release.Name":
            return "qspp"
        if expression.startswith(".Values."):
            return str(lookup(expression[len(".Values."):]))
        raise ValueError(f"unsupported template expression: {expression}")
    return re.sub(r"\{\{(.*?)\}\}", substitute, text)


documents = {}
for template in sorted((chart / "templates").glob("*.yaml")):
    document = yaml.safe_load(render(template.read_text()))
    documents[document["kind"]] = document
for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
    check(kind in documents, f"helm: no {kind}")
pod = documents["Deployment"]["spec"]["template"]["spec"]
container = pod["containers"][0]
check(container["livenessProbe"]["httpGet"]["path"] == "/health", "helm: liveness must probe /health")
check(container["readinessProbe"]["httpGet"]["path"] == "/ready", "helm: readiness must probe /ready")
check(container["securityContext"]["readOnlyRootFilesystem"] is True, "helm: read-only root filesystem")
check(pod["securityContext"]["runAsNonRoot"] is True, "helm: must run as non-root")
check(any(source.get("secretRef") for source in container["envFrom"]), "helm: keys come from a Secret")
metric = documents["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["resource"]["name"]
check(metric == "cpu", "helm: the HPA scales on CPU")

dockerfile = (root / "Dockerfile").read_text()
runs = re.findall(r"^RUN (.*)$", dockerfile, re.M)
check("scripts/build-static.sh /out" in runs, "Dockerfile: must build with scripts/build-static.sh")
check(re.search(r"^FROM swift:6\.3", dockerfile, re.M) is not None, "Dockerfile: builds on the official Swift image")
check(re.search(r"^USER 10001", dockerfile, re.M) is not None, "Dockerfile: runs as a non-root user")
check("HEALTHCHECK" in dockerfile, "Dockerfile: has a HEALTHCHECK")
# The build stage needs everything the manifest names, or SwiftPM refuses the package.
copied = set(re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.M))
ignored = set((root / ".dockerignore").read_text().split())
for needed in ("Package.swift", "Sources", "Tests", "scripts"):
    check(needed in copied and needed not in ignored, f"Dockerfile: the build stage needs {needed}")
check("scripts/check-static.sh" in (root / "scripts/test.sh").read_text()
      and "scripts/build-static.sh" in (root / "scripts/check-static.sh").read_text(),
      "the test command must run scripts/build-static.sh (through check-static.sh), as the Dockerfile does")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"deployment files: compose ({len(services)} services), Helm chart ({len(documents)} objects) and Dockerfile check out")
