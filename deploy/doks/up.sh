#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# From doctl to a running stack on DigitalOcean: the DOKS cluster (one node pool, 3 x s-2vcpu-4gb, autoscaling
# 3..9), the container registry, the managed PostgreSQL, the two images, ingress-nginx, cert-manager and
# kube-prometheus-stack from Helm at the versions pinned in versions.env, the Secrets, and the kustomize overlay.
# Idempotent: every create is guarded by a lookup, Secrets and manifests are applied, Helm releases upgraded, so
# it can be run again after a failure or to roll out a change. --dry-run prints the commands instead.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=versions.env
. "$here/versions.env"

k8s_version=${TOPDOG_K8S_VERSION:-$DOKS_VERSION}
node_size=s-2vcpu-4gb
node_count=3
min_nodes=3
max_nodes=9
registry_region=${TOPDOG_REGISTRY_REGION:-}
registry_tier=basic  # two repositories: the starter tier holds one
db_size=db-s-1vcpu-1gb
db_database=shop
overlay=doks
do_token_file=""
spaces_key_file=""
spaces_secret_file=""
tenant_keys_dir=""
opa_jwt_dir=""
pagerduty_key_file=""
slack_url_file=""
skip_images=0
force_images=0
scrape_user=prometheus
wait_cluster=1800s  # doctl's own --wait has no limit: bounded with timeout(1)
wait_database=1800s
wait_helm=15m
wait_rollout=300s

usage() {
  cat <<EOF
Usage: deploy/doks/up.sh [options]

Creates (or brings up to date) topdog on DigitalOcean Kubernetes:
  1. DOKS cluster NAME in REGION, node pool NAME-pool: $node_count x $node_size, autoscaling $min_nodes..$max_nodes
  2. container registry REGISTRY (tier $registry_tier), attached to the cluster so its nodes can pull
  3. managed PostgreSQL $POSTGRES_VERSION (NAME-pg, $db_size), reachable only from the cluster, database '$db_database'
  4. images topdog-exporter and topdog-advisor (tag = the project version in CMakeLists.txt), built and pushed
     unless the registry already has that tag
  5. Secrets: scrape credentials and Grafana's admin (generated once), DigitalOcean token, database URI,
     Spaces keys, tenant keys, Alertmanager receivers, OPA's JWT settings (--authz); deploy/README.md lists them
  6. Helm (upgrade --install, values from deploy/helm/): kube-prometheus-stack $KUBE_PROMETHEUS_STACK_CHART_VERSION,
     cert-manager $CERT_MANAGER_CHART_VERSION, ingress-nginx $INGRESS_NGINX_CHART_VERSION
  7. the overlay deploy/overlays/doks (or doks-authz), with the images from the registry; waits for the rollouts

Options (environment variable in brackets):
  --name NAME             cluster name, also the prefix of the node pool and database [TOPDOG_CLUSTER] ($cluster)
  --region REGION         DigitalOcean region of cluster and database [TOPDOG_REGION] ($region)
  --k8s-version SLUG      a slug of 'doctl kubernetes options versions', or 'latest' (resolved to the newest
                          slug and printed) [TOPDOG_K8S_VERSION] ($k8s_version, versions.env)
  --registry NAME         container registry name; one per account, names are global [TOPDOG_REGISTRY] ($registry)
  --registry-region R     registry region [TOPDOG_REGISTRY_REGION] (the cluster's region)
  --database NAME         managed PostgreSQL cluster name [TOPDOG_DB] (NAME-pg)
  --do-token-file FILE    DigitalOcean API token for topdog-advisor (node-pool bounds); default: the
                          DIGITALOCEAN_ACCESS_TOKEN environment variable; neither: the advisor leaves node pools alone
  --spaces-access-key-file FILE, --spaces-secret-key-file FILE
                          DO Spaces keys for the backend (Secret shop/backend-spaces; needed on the first run)
  --tenant-keys-dir DIR   per-tenant (BYOK) keys for the backend, one file per tenant (Secret
                          shop/backend-tenant-keys; created empty when absent)
  --pagerduty-routing-key-file FILE, --slack-webhook-url-file FILE
                          Alertmanager's receivers (Secret monitoring/alertmanager-receivers; created empty
                          when absent: alerts are then not delivered)
  --authz                 apply deploy/overlays/doks-authz (Envoy + OPA ext_authz in front of the backend)
  --opa-jwt-dir DIR       with --authz: files jwks.json, issuer, audience (Secret shop/opa-jwt; first run)
  --skip-images           do not build or push images (they are in the registry already)
  --force-images          build and push even when the registry has the tag
  --dry-run               print every command instead of running it (lookups too: nothing is assumed to exist)
  -h, --help              this text

doctl must be authenticated (doctl auth init, or DIGITALOCEAN_ACCESS_TOKEN). Needs: doctl, kubectl >= 1.27,
helm 3, docker (unless --skip-images), openssl, htpasswd (apache2-utils), GNU coreutils. Secret values are
read from files and never printed; generated ones (the scrape password) are kept in the cluster.
EOF
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
    --name) cluster=$(value_of "$@"); shift ;;
    --region) region=$(value_of "$@"); shift ;;
    --k8s-version) k8s_version=$(value_of "$@"); shift ;;
    --registry) registry=$(value_of "$@"); shift ;;
    --registry-region) registry_region=$(value_of "$@"); shift ;;
    --database) db_name=$(value_of "$@"); shift ;;
    --do-token-file) do_token_file=$(value_of "$@"); shift ;;
    --spaces-access-key-file) spaces_key_file=$(value_of "$@"); shift ;;
    --spaces-secret-key-file) spaces_secret_file=$(value_of "$@"); shift ;;
    --tenant-keys-dir) tenant_keys_dir=$(value_of "$@"); shift ;;
    --pagerduty-routing-key-file) pagerduty_key_file=$(value_of "$@"); shift ;;
    --slack-webhook-url-file) slack_url_file=$(value_of "$@"); shift ;;
    --opa-jwt-dir) opa_jwt_dir=$(value_of "$@"); shift ;;
    --authz) overlay=doks-authz ;;
    --skip-images) skip_images=1 ;;
    --force-images) force_images=1 ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
db_name=${db_name:-$cluster-pg}
registry_region=${registry_region:-$region}
pool=$cluster-pool
ctx=$(kube_context)
version=$(sed -n 's/^project(topdog_observe VERSION \([0-9][0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
[[ -n $version ]] || die "no project version in $repo/CMakeLists.txt"
image_base=registry.digitalocean.com/$registry
overlay_dir=$repo/deploy/overlays/$overlay

for file in "$do_token_file" "$spaces_key_file" "$spaces_secret_file" "$pagerduty_key_file" "$slack_url_file"; do
  [[ -z $file || -r $file ]] || die "cannot read $file"
done
for dir in "$tenant_keys_dir" "$opa_jwt_dir"; do
  [[ -z $dir || -d $dir ]] || die "$dir is not a directory"
done
[[ -z $spaces_key_file && -z $spaces_secret_file || -n $spaces_key_file && -n $spaces_secret_file ]] ||
  die "--spaces-access-key-file and --spaces-secret-key-file go together"
[[ -d $overlay_dir ]] || die "no overlay $overlay_dir"

# Secret material lives only in this private directory, removed on exit.
umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/topdog-up.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$work/empty"

preflight() {
  ((dry_run)) && return 0
  local tool
  for tool in doctl kubectl helm openssl htpasswd timeout realpath; do
    command -v "$tool" >/dev/null || die "$tool not found (see deploy/README.md, prerequisites)"
  done
  if ! ((skip_images)); then
    command -v docker >/dev/null || die "docker not found (or pass --skip-images)"
    docker info --format '{{.ServerVersion}}' >/dev/null ||
      die "the docker daemon does not answer (or pass --skip-images)"
  fi
  local minor
  minor=$(kubectl version --client -o json | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | sed -n 1p)
  [[ ${minor:-0} -ge 27 ]] || die "kubectl >= 1.27 needed (kustomize with components), found 1.${minor:-?}"
  lookup doctl account get --format Email --no-header >/dev/null ||
    die "doctl is not authenticated: doctl auth init (or export DIGITALOCEAN_ACCESS_TOKEN)"
}

# Prints the cluster's ID, creating the cluster first if there is none of that name.
ensure_cluster() {
  local id
  id=$(lookup doctl kubernetes cluster list --format ID,Name --no-header | id_by_name "$cluster")
  if [[ -z $id ]]; then
    if [[ $k8s_version == latest ]]; then
      k8s_version=$(lookup doctl kubernetes options versions --format Slug --no-header | sed -n 1p)
      ((dry_run)) && k8s_version='<newest slug>'
      [[ -n $k8s_version ]] || die "doctl kubernetes options versions listed nothing"
      say "Kubernetes version latest = $k8s_version"
    fi
    local node_pool="name=$pool;size=$node_size;count=$node_count"
    node_pool+=";auto-scale=true;min-nodes=$min_nodes;max-nodes=$max_nodes"
    run timeout "$wait_cluster" doctl kubernetes cluster create "$cluster" --region "$region" \
      --version "$k8s_version" --node-pool "$node_pool" --wait --format ID --no-header >&2
    id=$(lookup doctl kubernetes cluster list --format ID,Name --no-header | id_by_name "$cluster")
    ((dry_run)) && id='<cluster-id>'
    [[ -n $id ]] || die "cluster $cluster was not created"
  else
    say "cluster $cluster exists: $id"
  fi
  printf '%s' "$id"
}

ensure_registry() {
  local existing
  existing=$(lookup_or_empty doctl registry get --format Name --no-header)
  if [[ -z $existing ]]; then
    run doctl registry create "$registry" --subscription-tier "$registry_tier" --region "$registry_region"
  elif [[ $existing != "$registry" ]]; then
    die "this account's registry is '$existing' (one per account): pass --registry $existing"
  else
    say "registry $registry exists"
  fi
  # Idempotent. DigitalOcean writes the pull secret registry-$registry into the namespaces of the cluster (ours
  # exist already: create_namespaces) and attaches it to their `default` ServiceAccounts only; the overlay names it
  # on our ServiceAccounts (apply_overlay, deploy/overlays/doks/registry-pull-secret.yaml).
  run doctl kubernetes cluster registry add "$cluster_id"
  ((dry_run)) && return 0
  local ns
  for ns in topdog shop; do
    secret_exists "$ns" "registry-$registry" ||
      say "warning: no Secret $ns/registry-$registry (yet): pods will not pull from $image_base until it exists" \
        "(deploy/README.md, Registry)"
  done
}

# Prints the database cluster's ID, creating it first if there is none of that name; lets only the Kubernetes
# cluster connect; creates the application's database.
ensure_database() {
  local id rules dbs
  id=$(lookup doctl databases list --format ID,Name --no-header | id_by_name "$db_name")
  if [[ -z $id ]]; then
    run timeout "$wait_database" doctl databases create "$db_name" --engine pg --version "$POSTGRES_VERSION" \
      --region "$region" --size "$db_size" --num-nodes 1 --wait >&2
    id=$(lookup doctl databases list --format ID,Name --no-header | id_by_name "$db_name")
    ((dry_run)) && id='<database-id>'
    [[ -n $id ]] || die "database $db_name was not created"
  else
    say "database $db_name exists: $id"
  fi
  rules=$(lookup doctl databases firewalls list "$id" --format Type,Value --no-header)
  if ! awk -v c="$cluster_id" '$1 == "k8s" && $2 == c { found = 1 } END { exit !found }' <<<"$rules"; then
    run doctl databases firewalls append "$id" --rule "k8s:$cluster_id" >&2
  fi
  dbs=$(lookup doctl databases db list "$id" --format Name --no-header)
  if ! grep -qxF -- "$db_database" <<<"$dbs"; then
    run doctl databases db create "$id" "$db_database" >&2
  fi
  printf '%s' "$id"
}

# Writes the private connection URI of database $db_database to $1 (never shown).
database_url_to() {
  show doctl databases connection "$db_id" --private --format URI --no-header '>' "$1"
  ((dry_run)) && return 0
  doctl databases connection "$db_id" --private --format URI --no-header >"$1"
  local url
  url=$(<"$1")
  [[ $url == postgresql://*/defaultdb\?* ]] || die "unexpected connection URI format from doctl databases connection"
  url=${url/\/defaultdb\?//$db_database?}
  printf '%s' "$url" >"$1"
}

build_images() {
  local component image tags logged_in=0
  for component in exporter advisor; do
    image=$image_base/topdog-$component:$version
    tags=$(lookup_or_empty doctl registry repository list-tags "topdog-$component" --format Tag --no-header)
    if ! ((force_images)) && grep -qxF -- "$version" <<<"$tags"; then
      say "$image exists (--force-images to rebuild)"
      continue
    fi
    if ! ((logged_in)); then
      run doctl registry login --expiry-seconds 3600
      logged_in=1
    fi
    # DOKS nodes are amd64, whatever the machine building the image is.
    run docker build --platform linux/amd64 --target "$component" --build-arg VERSION="$version" \
      --tag "$image" "$repo"
    run docker push "$image"
  done
}

kube() { run kubectl --context "$ctx" "$@"; }

# `kubectl create ARGS --dry-run=client -o yaml | kubectl apply -f -`: creates or updates; values come from files.
apply_created() {
  show kubectl --context "$ctx" "$@" --dry-run=client -o yaml '|' kubectl --context "$ctx" apply -f -
  ((dry_run)) && return 0
  kubectl --context "$ctx" "$@" --dry-run=client -o yaml | kubectl --context "$ctx" apply -f - >&2
}

secret_exists() {  # namespace name
  [[ -n $(lookup_or_empty kubectl --context "$ctx" -n "$1" get secret "$2" -o name) ]]
}

# The file $1 with a random password (48 hex digits, no newline).
generate_password_to() {
  show openssl rand -hex 24 '>' "$1"
  ((dry_run)) && return 0
  local password
  password=$(openssl rand -hex 24)
  printf '%s' "$password" >"$1"
}

# A web config of node_exporter's format for the binary $1: TLS from the cert-manager certificate mounted at
# /etc/topdog-$1/tls, basic auth for the user of the bcrypt hash line in $2. Written to $3.
write_web_config() {
  ((dry_run)) && return 0
  local hash
  hash=$(sed -n 1p "$2" | cut -d: -f2-)
  {
    printf 'tls_server_config:\n'
    printf '  cert_file: /etc/topdog-%s/tls/tls.crt\n  key_file: /etc/topdog-%s/tls/tls.key\n' "$1" "$1"
    printf 'basic_auth_users:\n'
    printf '  %s: '\''%s'\''\n' "$scrape_user" "$hash"
  } >"$3"
}

# A Secret the stack cannot start without, which only the team can provide (--flag): applied from the files when
# given; otherwise it must exist already. In a dry run, where nothing exists, the plan notes what is missing.
require_secret() {  # namespace name flag
  secret_exists "$1" "$2" && return 0
  if ((dry_run)); then
    comment "needed on a first run: $3 (Secret $1/$2 does not exist yet)"
    return 0
  fi
  die "Secret $1/$2 does not exist: give $3 (deploy/README.md, Secrets)"
}

# The overlay creates these namespaces too (with their pod-security labels); the registry's pull secret and the
# Secrets need them first.
create_namespaces() {
  local ns
  for ns in topdog shop monitoring; do
    apply_created create namespace "$ns"
  done
}

apply_secrets() {
  if [[ -z $do_token_file && -n ${DIGITALOCEAN_ACCESS_TOKEN:-} ]]; then
    do_token_file=$work/digitalocean-token
    printf '%s' "$DIGITALOCEAN_ACCESS_TOKEN" >"$do_token_file"
  fi
  if [[ -n $do_token_file ]]; then
    apply_created -n topdog create secret generic topdog-advisor-digitalocean --from-file=token="$do_token_file"
  else
    say "no DigitalOcean token for the advisor (--do-token-file): it will leave node pools alone"
  fi

  # Prometheus scrapes the exporters and the advisors over TLS with basic auth: the password in topdog-scrape-auth
  # (read by the ServiceMonitors), its bcrypt hash in both web configs. Generated once; all three anew only when
  # one is missing, so they always match.
  if secret_exists topdog topdog-scrape-auth && secret_exists topdog topdog-exporter-web-config &&
    secret_exists topdog topdog-advisor-web-config; then
    say "scrape credentials exist (delete topdog/topdog-scrape-auth to rotate them)"
  else
    generate_password_to "$work/scrape-password"
    show htpasswd -niBC 10 "$scrape_user" '<' "$work/scrape-password" '>' "$work/scrape-htpasswd"
    ((dry_run)) || htpasswd -niBC 10 "$scrape_user" <"$work/scrape-password" >"$work/scrape-htpasswd"
    write_web_config exporter "$work/scrape-htpasswd" "$work/exporter-web-config.yml"
    write_web_config advisor "$work/scrape-htpasswd" "$work/advisor-web-config.yml"
    printf '%s' "$scrape_user" >"$work/scrape-user"
    apply_created -n topdog create secret generic topdog-scrape-auth \
      --from-file=username="$work/scrape-user" --from-file=password="$work/scrape-password"
    apply_created -n topdog create secret generic topdog-exporter-web-config \
      --from-file=web-config.yml="$work/exporter-web-config.yml"
    apply_created -n topdog create secret generic topdog-advisor-web-config \
      --from-file=web-config.yml="$work/advisor-web-config.yml"
  fi

  # Grafana's admin login (the chart's default password would be public): generated once.
  if secret_exists monitoring grafana-admin; then
    say "Grafana's admin Secret exists"
  else
    generate_password_to "$work/grafana-password"
    printf 'admin' >"$work/grafana-user"
    apply_created -n monitoring create secret generic grafana-admin \
      --from-file=admin-user="$work/grafana-user" --from-file=admin-password="$work/grafana-password"
  fi

  # Alertmanager mounts its receivers' credentials and does not start without the Secret: without the files (and
  # without the Secret) it is created with empty values, so alerts are routed but not delivered until they are set.
  if [[ -n $pagerduty_key_file || -n $slack_url_file ]]; then
    apply_created -n monitoring create secret generic alertmanager-receivers \
      --from-file=pagerduty-routing-key="${pagerduty_key_file:-$work/empty}" \
      --from-file=slack-webhook-url="${slack_url_file:-$work/empty}"
  elif ! secret_exists monitoring alertmanager-receivers; then
    say "no --pagerduty-routing-key-file / --slack-webhook-url-file: alertmanager-receivers created empty"
    apply_created -n monitoring create secret generic alertmanager-receivers \
      --from-file=pagerduty-routing-key="$work/empty" --from-file=slack-webhook-url="$work/empty"
  fi

  database_url_to "$work/database-url"
  apply_created -n shop create secret generic backend-database --from-file=uri="$work/database-url"
  if [[ -n $spaces_key_file ]]; then
    apply_created -n shop create secret generic backend-spaces \
      --from-file=access-key-id="$spaces_key_file" --from-file=secret-access-key="$spaces_secret_file"
  else
    require_secret shop backend-spaces "--spaces-access-key-file and --spaces-secret-key-file"
  fi
  if [[ -n $tenant_keys_dir ]]; then
    apply_created -n shop create secret generic backend-tenant-keys --from-file="$tenant_keys_dir"
  elif ! secret_exists shop backend-tenant-keys; then
    say "no --tenant-keys-dir: backend-tenant-keys created empty (no tenant brings its own key yet)"
    apply_created -n shop create secret generic backend-tenant-keys
  fi
  if [[ $overlay == doks-authz ]]; then
    if [[ -n $opa_jwt_dir ]]; then
      apply_created -n shop create secret generic opa-jwt --from-file="$opa_jwt_dir"
    else
      require_secret shop opa-jwt "--opa-jwt-dir (files jwks.json, issuer, audience)"
    fi
  fi
}

helm_release() {  # release chart version namespace values-file
  run helm upgrade --install "$1" "$2" --version "$3" --namespace "$4" --create-namespace \
    --kube-context "$ctx" --values "$repo/deploy/helm/$5" --wait --timeout "$wait_helm"
}

install_charts() {
  run helm repo add "$KUBE_PROMETHEUS_STACK_REPO_NAME" "$KUBE_PROMETHEUS_STACK_REPO_URL" --force-update
  run helm repo add "$CERT_MANAGER_REPO_NAME" "$CERT_MANAGER_REPO_URL" --force-update
  run helm repo add "$INGRESS_NGINX_REPO_NAME" "$INGRESS_NGINX_REPO_URL" --force-update
  run helm repo update "$KUBE_PROMETHEUS_STACK_REPO_NAME" "$CERT_MANAGER_REPO_NAME" "$INGRESS_NGINX_REPO_NAME"
  # kube-prometheus-stack first: its CRDs (ServiceMonitor, PrometheusRule) are used by the other two and the overlay.
  helm_release kube-prometheus-stack "$KUBE_PROMETHEUS_STACK_CHART" "$KUBE_PROMETHEUS_STACK_CHART_VERSION" monitoring \
    kube-prometheus-stack.values.yaml
  helm_release cert-manager "$CERT_MANAGER_CHART" "$CERT_MANAGER_CHART_VERSION" cert-manager cert-manager.values.yaml
  helm_release ingress-nginx "$INGRESS_NGINX_CHART" "$INGRESS_NGINX_CHART_VERSION" ingress-nginx \
    ingress-nginx.values.yaml
}

# The overlay as it is in the repo, wrapped by a kustomization (kustomize takes bases by relative path only) that
# puts in what only this run knows: the registry (the overlay's `registry.digitalocean.com/topdog` is a
# placeholder, DOCR names are global; so is the pull secret `registry-topdog` on its ServiceAccounts), the images'
# tag, and the cluster and node-pool ids in the advisor's config (DOKS_CLUSTER_ID, DOKS_NODE_POOL_ID in
# deploy/overlays/doks/advisor-config.yaml).
apply_overlay() {
  local wrapper=$work/kustomize rel pool_id placeholder=registry.digitalocean.com/topdog
  local advisor_config=$repo/deploy/overlays/doks/advisor-config.yaml
  pool_id=$(lookup doctl kubernetes cluster node-pool list "$cluster_id" --format ID,Name --no-header |
    id_by_name "$pool")
  ((dry_run)) && pool_id='<node-pool-id>'
  [[ -n $pool_id ]] || die "cluster $cluster has no node pool $pool"
  grep -q DOKS_CLUSTER_ID "$advisor_config" || die "$advisor_config has no DOKS_CLUSTER_ID to replace"
  mkdir -p "$wrapper"
  sed -e "s|DOKS_CLUSTER_ID|$cluster_id|g" -e "s|DOKS_NODE_POOL_ID|$pool_id|g" "$advisor_config" \
    >"$wrapper/advisor-config.yaml"
  rel=$(realpath --relative-to="$wrapper" "$overlay_dir")
  cat >"$wrapper/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $rel
images:
  - name: $placeholder/topdog-exporter
    newName: $image_base/topdog-exporter
    newTag: "$version"
  - name: $placeholder/topdog-advisor
    newName: $image_base/topdog-advisor
    newTag: "$version"
  - name: $placeholder/backend
    newName: $image_base/backend
  - name: $placeholder/frontend
    newName: $image_base/frontend
patches:
  - target: {version: v1, kind: ServiceAccount}
    patch: '[{"op": "add", "path": "/imagePullSecrets", "value": [{"name": "registry-$registry"}]}]'
configMapGenerator:
  - name: topdog-advisor-config
    namespace: topdog
    behavior: replace
    files:
      - config.yaml=advisor-config.yaml
EOF
  comment "$wrapper: deploy/overlays/$overlay with images from $image_base (topdog-*:$version)," \
    "DOKS_CLUSTER_ID=$cluster_id, DOKS_NODE_POOL_ID=$pool_id"
  kube apply -k "$wrapper"
  kube -n topdog rollout status daemonset/topdog-exporter --timeout "$wait_rollout"
  kube -n topdog rollout status deployment/topdog-advisor --timeout "$wait_rollout"
  kube -n shop rollout status deployment/backend --timeout "$wait_rollout"
  if [[ $overlay == doks-authz ]]; then
    kube -n shop rollout status deployment/envoy --timeout "$wait_rollout"
  fi
}

preflight
cluster_id=$(ensure_cluster)
run doctl kubernetes cluster kubeconfig save "$cluster_id"
create_namespaces
ensure_registry
db_id=$(ensure_database)
((skip_images)) || build_images
apply_secrets
install_charts
apply_overlay
if ((dry_run)); then
  say "dry run: nothing was run or changed"
else
  say "done: cluster $cluster ($cluster_id), kubectl context $ctx, images $image_base/*:$version"
  say "the load balancer's address: kubectl --context $ctx -n ingress-nginx get service ingress-nginx-controller"
fi
