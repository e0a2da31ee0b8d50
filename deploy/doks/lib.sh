# shellcheck shell=bash
# Shared by up.sh and down.sh (sourced, not run): how commands are shown, run, or only shown (--dry-run), and
# the settings both scripts derive their resource names from. Requires bash >= 4.4 and GNU coreutils.

# Settings from the environment (flags override them in the scripts). Names, not secrets.
cluster=${TOPDOG_CLUSTER:-topdog}
region=${TOPDOG_REGION:-nyc3}
# shellcheck disable=SC2034  # read by the scripts that source this file
registry=${TOPDOG_REGISTRY:-topdog}
# shellcheck disable=SC2034
db_name=${TOPDOG_DB:-}
dry_run=0

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

value_of() {  # the value of option $1 given as "$1 VALUE" ($2 is the next word)
  [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"
  printf '%s' "$2"
}

# One argument as a shell would need it: plain words stay plain, anything else in single quotes.
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=,@%+^-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# Prints a command line: on stdout in a dry run (fd 3, the plan, also from inside $(...)), on stderr with "+ "
# otherwise (the log). The words '|', '<' and '>' are shown bare, as the pipe or redirection they stand for.
show() {
  local line="" arg
  for arg in "$@"; do
    case $arg in
      '|' | '<' | '>') line+=" $arg" ;;
      *) line+=" $(quote "$arg")" ;;
    esac
  done
  if ((dry_run)); then
    printf '%s\n' "${line# }" >&3
  else
    printf '+ %s\n' "${line# }" >&2
  fi
}

# A remark in the plan: "# text" in a dry run, a log line otherwise.
comment() {
  if ((dry_run)); then printf '# %s\n' "$*" >&3; else say "$*"; fi
}

# A command that changes something: shown, and run unless this is a dry run.
run() {
  show "$@"
  ((dry_run)) || "$@"
}

# A read-only query whose output the caller reads. A dry run shows it and answers nothing: there, nothing exists.
# A failing query is fatal (an expired token must not look like "no cluster yet").
lookup() {
  show "$@"
  ((dry_run)) && return 0
  "$@"
}

# The same for queries that fail when the thing does not exist (`doctl registry get` answers 404 when the account
# has no registry): any failure reads as "nothing", its message goes to the log.
lookup_or_empty() {
  show "$@"
  ((dry_run)) && return 0
  "$@" 2> >(sed 's/^/  (lookup) /' >&2) || true
}

# Prints the first column of the lines of a `--format ID,Name --no-header` listing whose second column is $1.
id_by_name() {
  awk -v name="$1" '$2 == name { print $1 }'
}

# The kubectl context `doctl kubernetes cluster kubeconfig save` writes for the cluster.
kube_context() {
  printf 'do-%s-%s' "$region" "$cluster"
}

exec 3>&1
