#!/usr/bin/env python3
"""Extracts selected files from a ttar archive (the text archive format of prometheus/procfs fixtures).

Usage: ttar_extract.py ARCHIVE DEST PREFIX [PREFIX ...]
Only regular files whose path starts with one of the prefixes are written; symlinks are skipped
(some procfs fixtures point at absolute paths). Used once to import fixtures; see PROVENANCE.md.
"""
import os
import sys


def main():
    archive, dest, prefixes = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(archive, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().split("\n")
    i = 0
    written = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Path: "):
            path = line[len("Path: "):]
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if nxt.startswith("Lines: "):
                count = int(nxt[len("Lines: "):])
                body = lines[i + 2:i + 2 + count]
                i += 2 + count
                text = "\n".join(body)
                if text.endswith("EOF"):
                    text = text[:-3]
                elif count > 0:
                    text += "\n"
                text = text.replace("NULLBYTE", "\0")
                if any(path.startswith(p) for p in prefixes):
                    out = os.path.join(dest, path)
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    with open(out, "w", encoding="utf-8", errors="surrogateescape") as o:
                        o.write(text)
                    written += 1
                continue
        i += 1
    print(f"wrote {written} files", file=sys.stderr)


if __name__ == "__main__":
    main()
