#!/usr/bin/python3
"""The Dockerfile (targets `exporter` and `advisor`) and .dockerignore, checked without a Docker daemon:
every FROM pinned (a Debian 12 point release or a digest, never latest or untagged), multi-stage (the binary
built in a Debian 12 stage with the packages of scripts/bootstrap.sh build_pkgs, Release, tests off, only its
target; copied into a slim runtime stage), final USER numeric and not root, exec-form ENTRYPOINT, EXPOSE of the
binary's port, OCI labels, no ADD of a URL, apt with --no-install-recommends and its lists removed in the same
RUN, every package known to Debian 12 (apt-cache show), and the runtime packages (with their dependencies)
holding every shared library `ldd` lists for a freshly built binary (mapped to packages with dpkg -S). The
build context: .dockerignore keeps out build trees, .git and node_modules and lets in every source the
Dockerfile copies.

Usage: dockerfile_test.py --repo REPO [--exporter build-release/exporter/topdog-exporter]
                          [--advisor build-release/advisor/topdog-advisor]
"""
import argparse
import json
import os
import re
import subprocess
import sys

failures = []

TARGETS = {"exporter": {"binary": "topdog-exporter", "port": "9100"},
           "advisor": {"binary": "topdog-advisor", "port": "9101"}}
# In build_pkgs but not needed to build the binaries (tests off) nor at run time in the image.
NOT_FOR_IMAGE = {"libgtest-dev", "libgmock-dev", "googletest", "gnuplot-nox"}


def expect(condition, message, detail=""):
    print(("  ok   " if condition else "  FAIL ") + message)
    if not condition:
        failures.append(message)
        if detail:
            print("       " + str(detail).replace("\n", "\n       "))


def parse_dockerfile(path):
    """Instructions as (line number, KEYWORD, arguments), continuation lines joined, comments dropped."""
    instructions, pending, start = [], "", 0
    for number, line in enumerate(open(path), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        keyword, _, args = text.partition(" ")
        instructions.append((start, keyword.upper(), args.strip()))
    return instructions


def stages_of(instructions):
    """[{name, base, line, body: [(line, KEYWORD, args)]}] in file order."""
    stages = []
    for number, keyword, args in instructions:
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append({"name": name, "base": words[0], "line": number, "body": []})
        elif stages:
            stages[-1]["body"].append((number, keyword, args))
    return stages


def apt_packages(run_args):
    """The packages of the `apt-get install` in a RUN (words after install that are not options)."""
    match = re.search(r"apt-get\s+install\s+(.*?)(?:&&|;|$)", run_args)
    if not match:
        return []
    return [w for w in match.group(1).split() if not w.startswith("-")]


def bootstrap_build_packages(repo):
    text = open(os.path.join(repo, "scripts", "bootstrap.sh")).read()
    body = re.search(r"^build_pkgs=\((.*?)\)", text, re.S | re.M).group(1)
    body = re.sub(r"#[^\n]*", "", body)
    return set(body.split())


def dependency_closure(packages):
    """The packages apt installs for `apt-get install --no-install-recommends PACKAGES` (Depends, Pre-Depends)."""
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                          "--no-breaks", "--no-replaces", "--no-enhances"] + list(packages),
                         capture_output=True, text=True)
    return {line.strip().split(":")[0] for line in out.stdout.splitlines() if not line.startswith(" ")
            and not line.startswith("<")}


def owner_package(library_path):
    """The Debian package shipping a shared library, trying the path ldd gave and its /usr and resolved forms."""
    candidates = [library_path, "/usr" + library_path, os.path.realpath(library_path)]
    for candidate in candidates:
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if out.returncode == 0:
            return out.stdout.split(":")[0].strip()
    return None


def ldd_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    libraries = []
    for line in out.stdout.splitlines():
        match = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if match:
            libraries.append(match.group(1))
        elif "not found" in line:
            libraries.append("NOT FOUND: " + line.strip())
    return libraries


def dockerignore_excludes(patterns, path):
    """Docker's rule: the last pattern matching the path or one of its parent directories decides."""
    excluded = False
    parts = path.split("/")
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip().rstrip("/")
        regex = "^" + re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]") + "$"
        if any(re.match(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def check_dockerfile(repo, version):
    path = os.path.join(repo, "Dockerfile")
    instructions = parse_dockerfile(path)
    stages = stages_of(instructions)
    names = [s["name"] for s in stages]
    expect(len(stages) >= 2, f"multi-stage ({len(stages)} stages)")
    for stage in stages:
        base = stage["base"]
        where = f"Dockerfile:{stage['line']} FROM {base}"
        if base in names[:stages.index(stage)]:
            continue
        image, _, digest = base.partition("@")
        name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        pinned = (digest.startswith("sha256:") and len(digest) == 71) or (tag and tag != "latest")
        expect(pinned, f"{where}: pinned (a tag other than latest, or a sha256 digest)")
        if name in ("debian", "docker.io/library/debian"):
            expect(re.fullmatch(r"12\.\d+(-slim)?", tag) is not None or digest,
                   f"{where}: a Debian 12 point release (12.N or 12.N-slim)")

    for number, keyword, args in instructions:
        if keyword == "ADD":
            expect(not re.search(r"(https?|ftp)://|git@", args), f"Dockerfile:{number}: no ADD of a URL", args)
        if keyword == "RUN" and "apt-get install" in args:
            expect("--no-install-recommends" in args, f"Dockerfile:{number}: apt-get install --no-install-recommends")
            expect("apt-get update" in args and re.search(r"rm -rf /var/lib/apt/lists/\*", args),
                   f"Dockerfile:{number}: apt-get update and rm -rf /var/lib/apt/lists/* in the same RUN")
            packages = apt_packages(args)
            out = subprocess.run(["apt-cache", "show", "--no-all-versions"] + packages, capture_output=True,
                                 text=True)
            known = set(re.findall(r"^Package: (\S+)", out.stdout, re.M))
            unknown = [p for p in packages if p not in known]
            expect(packages and not unknown, f"Dockerfile:{number}: the {len(packages)} packages are in Debian 12 "
                   "(apt-cache show)", unknown)

    by_name = {s["name"]: s for s in stages if s["name"]}

    def ancestry(stage):
        chain = [stage]
        while chain[-1]["base"] in by_name:
            chain.append(by_name[chain[-1]["base"]])
        return chain

    build_pkgs = bootstrap_build_packages(repo)
    for target, spec in TARGETS.items():
        stage = by_name.get(target)
        expect(stage is not None, f"target {target} exists")
        if stage is None:
            continue
        body = stage["body"]
        where = f"target {target}"
        expect(stage is stages[-1] or stage["base"] not in by_name, f"{where}: the runtime image starts from a base "
               "image, not from a build stage", stage["base"])
        expect(re.search(r"-slim$|^gcr\.io/distroless/", stage["base"].split("@")[0]) is not None,
               f"{where}: minimal runtime base (debian slim or distroless)", stage["base"])
        copies = [args for _, k, args in body if k == "COPY" and "--from=" in args]
        sources = [re.search(r"--from=(\S+)", c).group(1) for c in copies]
        expect(len(copies) == 1 and sources[0] in by_name and f"/{spec['binary']} " in copies[0] + " ",
               f"{where}: copies only {spec['binary']} from a build stage", copies)
        if len(copies) == 1 and sources[0] in by_name:
            build = by_name[sources[0]]
            run_list = [args for s in ancestry(build) for _, k, args in s["body"] if k == "RUN"]
            runs = " ".join(run_list)
            expect(re.search(r"cmake .*-DCMAKE_BUILD_TYPE=Release", runs) and "-DTOPDOG_BUILD_TESTS=OFF" in runs,
                   f"{where}: built by cmake, Release, tests off")
            built = [re.split(r"&&|;", r.split("--target", 1)[1])[0] for r in run_list if "cmake --build" in r
                     and "--target" in r]
            expect(built and built[-1].split() == [spec["binary"]], f"{where}: only {spec['binary']} is built",
                   built)
            root = ancestry(build)[-1]["base"]
            expect(re.fullmatch(r"debian:12\.\d+", root) is not None, f"{where}: built on Debian 12", root)
            installed = {p for s in ancestry(build) for _, k, args in s["body"] if k == "RUN"
                         for p in apt_packages(args)}
            missing = sorted(build_pkgs - NOT_FOR_IMAGE - installed)
            expect(not missing, f"{where}: the build stage installs scripts/bootstrap.sh build_pkgs (less tests)",
                   missing)
        users = [args for _, k, args in body if k == "USER"]
        uid = users[-1].split(":")[0] if users else ""
        expect(uid.isdigit() and int(uid) != 0 and all(p.isdigit() for p in users[-1].split(":")),
               f"{where}: USER numeric and not root", users)
        entry = [args for _, k, args in body if k == "ENTRYPOINT"]
        try:
            entry_words = json.loads(entry[-1]) if entry else []
        except ValueError:
            entry_words = []
        expect(entry_words[:1] == [f"/usr/bin/{spec['binary']}"],
               f"{where}: ENTRYPOINT [\"/usr/bin/{spec['binary']}\"] (exec form, no shell)", entry)
        expect(any(spec["port"] in args.split() for _, k, args in body if k == "EXPOSE"), f"{where}: EXPOSE "
               f"{spec['port']}")
        labels = " ".join(args for _, k, args in body if k == "LABEL")
        expect(all(f"org.opencontainers.image.{key}=" in labels for key in ("title", "description", "version")),
               f"{where}: OCI labels title, description, version")
        arg_version = [args.split("=", 1)[1] for _, k, args in body if k == "ARG" and args.startswith("VERSION=")]
        expect(arg_version == [version], f"{where}: ARG VERSION defaults to the project version {version}",
               arg_version)
        expect(not any(k in ("VOLUME", "WORKDIR") for _, k, _ in body),
               f"{where}: no VOLUME or WORKDIR (nothing written in the image at run time)")
    return by_name


def check_libraries(stage, binary, target):
    runtime_packages = {p for _, k, args in stage["body"] if k == "RUN" for p in apt_packages(args)}
    closure = dependency_closure(runtime_packages)
    libraries = ldd_libraries(binary)
    expect(libraries and not any(lib.startswith("NOT FOUND") for lib in libraries),
           f"{target}: ldd {binary} lists its libraries", libraries)
    uncovered = []
    for library in libraries:
        if library.startswith("NOT FOUND"):
            continue
        package = owner_package(library)
        if package is None or package not in closure:
            uncovered.append(f"{library} ({package or 'no package'})")
    expect(not uncovered, f"{target}: the runtime packages {' '.join(sorted(runtime_packages))} (and their "
           f"dependencies) hold every library of {os.path.basename(binary)}", "\n".join(uncovered))
    # The libraries the binary itself names (DT_NEEDED) must come from packages the stage names, not from whatever
    # another package happens to pull in (ca-certificates brings libssl3 through openssl today).
    dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    by_soname = {os.path.basename(lib): lib for lib in libraries}
    implicit = []
    for soname in needed:
        package = owner_package(by_soname.get(soname, soname))
        if package not in runtime_packages:
            implicit.append(f"{soname} ({package or 'no package'})")
    expect(needed and not implicit, f"{target}: the packages of the {len(needed)} libraries "
           f"{os.path.basename(binary)} links directly are named in the stage", "\n".join(implicit))


def check_dockerignore(repo):
    patterns = [line.strip() for line in open(os.path.join(repo, ".dockerignore"))
                if line.strip() and not line.startswith("#")]
    for path in ("build-release/exporter/topdog-exporter", "build/CMakeCache.txt", ".git/HEAD",
                 "tests/node/node_modules/js-yaml/package.json", "tests/fixtures/PROVENANCE.md"):
        expect(dockerignore_excludes(patterns, path), f".dockerignore keeps {path} out of the context")
    sources = ["CMakeLists.txt", "bench/CMakeLists.txt", "bench/advisor_reconcile_bench.cc",
               "bench/embedded_memory_bench.cc"]
    for top in ("common", "exporter", "advisor"):
        for directory, subdirs, files in os.walk(os.path.join(repo, top)):
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
            sources += [os.path.relpath(os.path.join(directory, f), repo) for f in files]
    left_out = [p for p in sources if dockerignore_excludes(patterns, p)]
    expect(not left_out and len(sources) > 10, f".dockerignore lets in the {len(sources)} sources the build copies",
           left_out[:10])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    parser.add_argument("--exporter", help="a freshly built topdog-exporter (Release)")
    parser.add_argument("--advisor", help="a freshly built topdog-advisor (Release)")
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    version = re.search(r"project\(topdog_observe VERSION ([0-9.]+)",
                        open(os.path.join(repo, "CMakeLists.txt")).read()).group(1)
    print("Dockerfile:")
    by_name = check_dockerfile(repo, version)
    print("runtime libraries:")
    for target, binary in (("exporter", args.exporter), ("advisor", args.advisor)):
        if not binary:
            print(f"  skip {target}: no binary given (--{target} PATH)")
        elif not os.path.exists(binary):
            print(f"  skip {target}: {binary} does not exist (build it first)")
        elif target in by_name:
            check_libraries(by_name[target], binary, target)
    print(".dockerignore:")
    check_dockerignore(repo)
    print(f"dockerfiles: {'FAILED ' + str(len(failures)) + ' check(s)' if failures else 'all checks passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
