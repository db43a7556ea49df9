#!/usr/bin/env bash
# Renders the gpu-inference manifests for one environment:
#   IMAGE_TAG=<tag> gpu-inference/k8s/render.sh <env file> | kubectl apply -f -
# <env file>: `terraform -chdir=infra/terraform output -raw k8s_env > dev.env` (example.env shows it).
# Only the listed ${NAME} placeholders are substituted, and every one must have a value.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file=${1:?usage: IMAGE_TAG=<tag> render.sh <env file>}
: "${IMAGE_TAG:?set IMAGE_TAG to the pushed image tag}"

set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
export IMAGE_TAG

names=(ACR_LOGIN_SERVER INFERENCE_IP INFERENCE_LB_SUBNET FUNCTIONS_SUBNET_CIDR GPU_NODE_LABEL
       INFERENCE_MIN_REPLICAS INFERENCE_MAX_REPLICAS IMAGE_TAG)
shell_format=""
for name in "${names[@]}"; do
  [ -n "${!name:-}" ] || { echo "render.sh: $name is not set in $env_file" >&2; exit 1; }
  shell_format+="\${$name} "
done

first=1
for template in "$here"/[0-9][0-9]-*.yaml; do
  [ "$first" = 1 ] || echo "---"
  first=0
  envsubst "$shell_format" < "$template"
done
