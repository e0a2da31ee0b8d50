#!/usr/bin/env bash
# Captures the /proc, /sys and udev files the node collectors read into DEST/{proc,sys,udev}, so tests
# and the node_exporter compatibility check can run on a frozen copy of a real machine.
# Usage: scripts/capture-node-tree.sh DEST   (then record the capture in tests/fixtures/PROVENANCE.md)
set -euo pipefail
dest=${1:?usage: $0 DEST}
mkdir -p "$dest/proc" "$dest/sys" "$dest/udev" "$dest/root"

copy() {  # copy SRC DST: a file, read with cat because /proc and /sys report size 0
  local src=$1 dst=$2
  [ -r "$src" ] || return 0
  mkdir -p "$(dirname "$dst")"
  cat "$src" > "$dst" 2>/dev/null || rm -f "$dst"
}

for f in stat meminfo loadavg diskstats vmstat net/dev sys/fs/file-nr 1/mounts 1/mountinfo mounts \
         pressure/cpu pressure/io pressure/memory pressure/irq cpuinfo; do
  copy "/proc/$f" "$dest/proc/$f"
done
for cpu in /sys/devices/system/cpu/cpu[0-9]*; do
  n=${cpu#/sys/}
  for f in topology/core_id topology/physical_package_id thermal_throttle/core_throttle_count \
           thermal_throttle/package_throttle_count online; do
    copy "$cpu/$f" "$dest/sys/$n/$f"
  done
done
for f in isolated online present possible; do
  copy "/sys/devices/system/cpu/$f" "$dest/sys/devices/system/cpu/$f"
done
for cs in /sys/devices/system/clocksource/clocksource*; do
  n=${cs#/sys/}
  copy "$cs/available_clocksource" "$dest/sys/$n/available_clocksource"
  copy "$cs/current_clocksource" "$dest/sys/$n/current_clocksource"
done
for b in /sys/block/*; do
  name=$(basename "$b")
  for f in queue/rotational dev dm/name dm/uuid; do
    copy "$b/$f" "$dest/sys/block/$name/$f"
  done
done
if [ -d /run/udev/data ]; then
  for f in /run/udev/data/b*; do
    [ -e "$f" ] && copy "$f" "$dest/udev/$(basename "$f")"
  done
fi
# Mount points named in the mount table exist under root/ so statfs on the copy succeeds.
while read -r _ mnt _; do
  mnt=$(printf '%b' "${mnt//\\0/\\0}")
  mkdir -p "$dest/root$mnt" 2>/dev/null || true
done < "$dest/proc/1/mounts" 2>/dev/null || true
echo "captured into $dest (kernel $(uname -r))"
