#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Deletes what up.sh created: the DOKS cluster together with the load balancers and volumes its Services and
# PersistentVolumeClaims made (doctl's --dangerous: ingress-nginx's load balancer, Prometheus's and Alertmanager's
# volumes), the managed PostgreSQL (its data is lost) and, with --registry-too, the container registry with every
# image in it. Asks for the cluster's name first unless --yes. --dry-run prints the commands instead.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

assume_yes=0
registry_too=0
wait_delete=1800s

usage() {
  cat <<EOF
Usage: deploy/doks/down.sh [--name NAME] [--region REGION] [--database NAME] [--registry NAME] [--registry-too]
                           [--yes] [--dry-run]

Deletes the DOKS cluster NAME ($cluster) with its load balancers and volumes, and the managed PostgreSQL
(NAME-pg); with --registry-too also the container registry ($registry) and its images. The same environment
variables as up.sh (TOPDOG_CLUSTER, TOPDOG_REGION, TOPDOG_DB, TOPDOG_REGISTRY). Without --yes it asks for the
cluster's name. --dry-run prints the commands (assuming everything exists) and runs none.
EOF
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
    --name) cluster=$(value_of "$@"); shift ;;
    --region) region=$(value_of "$@"); shift ;;
    --database) db_name=$(value_of "$@"); shift ;;
    --registry) registry=$(value_of "$@"); shift ;;
    --registry-too) registry_too=1 ;;
    --yes) assume_yes=1 ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
db_name=${db_name:-$cluster-pg}

if ! ((assume_yes || dry_run)); then
  what="cluster $cluster (with its load balancers and volumes) and database $db_name"
  ((registry_too)) && what+=" and registry $registry with all its images"
  printf 'This deletes %s. Type the cluster name to go on: ' "$what" >&2
  answer=""
  read -r answer || true
  [[ $answer == "$cluster" ]] || die "not confirmed: nothing deleted"
fi

cluster_id=$(lookup doctl kubernetes cluster list --format ID,Name --no-header | id_by_name "$cluster")
((dry_run)) && cluster_id='<cluster-id>'
if [[ -n $cluster_id ]]; then
  run timeout "$wait_delete" doctl kubernetes cluster delete "$cluster_id" --dangerous --force
else
  say "no cluster $cluster"
fi

db_id=$(lookup doctl databases list --format ID,Name --no-header | id_by_name "$db_name")
((dry_run)) && db_id='<database-id>'
if [[ -n $db_id ]]; then
  run doctl databases delete "$db_id" --force
else
  say "no database $db_name"
fi

if ((registry_too)); then
  existing=$(lookup_or_empty doctl registry get --format Name --no-header)
  ((dry_run)) && existing=$registry
  if [[ $existing == "$registry" ]]; then
    run doctl registry delete --force
  else
    say "no registry $registry (the account's: ${existing:-none}): left alone"
  fi
fi
