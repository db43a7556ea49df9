"""gpu-inference/k8s: the templates render with the values Terraform outputs (render.sh, envsubst)
and every rendered object validates against the pinned Kubernetes version's schemas (offline, the
schemas shipped with kubernetes-validate, strict: unknown fields fail)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from string import Template
from typing import Any

import hcl2
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "gpu-inference" / "k8s"
EXAMPLE_ENV = K8S / "example.env"
KUBERNETES_VERSION = "1.31.0"  # infra/terraform variables.tf: kubernetes_version
IMAGE_TAG = "0.1.0"


def example_values() -> dict[str, str]:
    lines = [line for line in EXAMPLE_ENV.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines) | {"IMAGE_TAG": IMAGE_TAG}


def templates() -> list[Path]:
    return sorted(K8S.glob("[0-9][0-9]-*.yaml"))


def render_in_python() -> list[dict[str, Any]]:
    values = example_values()
    text = "\n---\n".join(Template(path.read_text()).substitute(values) for path in templates())
    return [document for document in yaml.safe_load_all(text) if document]


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(document for document in documents if document["kind"] == kind)


def test_placeholders_match_terraform_output_and_render_sh() -> None:
    placeholders = {name for path in templates() for name in re.findall(r"\$\{([A-Z_]+)\}", path.read_text())}
    outputs = hcl2.load((ROOT / "infra" / "terraform" / "outputs.tf").open())["output"]
    k8s_env = next(body for entry in outputs for name, body in entry.items() if name.strip('"') == "k8s_env")
    terraform_names = set(re.findall(r"\b([A-Z][A-Z_]+)\s*=", k8s_env["value"]))
    render_names = set(re.search(r"names=\(([^)]*)\)", (K8S / "render.sh").read_text()).group(1).split())
    assert placeholders == terraform_names | {"IMAGE_TAG"}
    assert render_names == placeholders
    assert set(example_values()) == placeholders


def test_every_rendered_object_validates_strictly() -> None:
    documents = render_in_python()
    kinds = sorted(document["kind"] for document in documents)
    assert kinds == sorted(["Namespace", "ServiceAccount", "DaemonSet", "Deployment", "Service",
                            "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"])
    for document in documents:
        assert kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True) == "1.31"


def test_a_broken_manifest_is_rejected() -> None:
    deployment = by_kind(render_in_python(), "Deployment")
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_inference_runs_on_gpu_nodes_behind_an_internal_load_balancer() -> None:
    documents = render_in_python()
    values = example_values()
    pod = by_kind(documents, "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == f"{values['ACR_LOGIN_SERVER']}/papyr-inference:{IMAGE_TAG}"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert pod["nodeSelector"] == {"papyr.io/accelerator": values["GPU_NODE_LABEL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    service = by_kind(documents, "Service")
    annotations = service["metadata"]["annotations"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true"
    assert annotations["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == values["INFERENCE_IP"]
    policy = by_kind(documents, "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": values["FUNCTIONS_SUBNET_CIDR"]}}]
    hpa = by_kind(documents, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 1)


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) is not installed")
def test_render_sh_produces_the_same_objects() -> None:
    run = subprocess.run(
        [str(K8S / "render.sh"), str(EXAMPLE_ENV)],
        env={**os.environ, "IMAGE_TAG": IMAGE_TAG}, capture_output=True, text=True, timeout=30, check=True,
    )
    assert [document for document in yaml.safe_load_all(run.stdout) if document] == render_in_python()


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) is not installed")
def test_render_sh_refuses_a_missing_value(tmp_path: Path) -> None:
    partial = tmp_path / "partial.env"
    partial.write_text("ACR_LOGIN_SERVER=acr.azurecr.io\n")
    run = subprocess.run(
        [str(K8S / "render.sh"), str(partial)],
        env={**os.environ, "IMAGE_TAG": IMAGE_TAG}, capture_output=True, text=True, timeout=30, check=False,
    )
    assert run.returncode != 0
    assert "INFERENCE_IP is not set" in run.stderr
