#!/usr/bin/env python3
"""Resident memory of a process from the files benchmarks/resident.c wrote at its exit:
PREFIX.maps (/proc/self/maps as the program sees it) and PREFIX.smaps (/proc/self/smaps).

Natively both describe the same process. Under qemu-user, maps is qemu's emulation (the guest's
own mappings, at guest addresses) and smaps is qemu's real one (the emulator's mappings too), so
only the host mappings inside a guest mapping count, moved by qemu's guest base (found from the
mappings of files: the same file and offset at a guest and at a host address).

Usage: resident.py PREFIX [--exclude FILE] [--by-file]
Prints TOTAL_KIB and, with --by-file, one "KIB NAME" line per mapped file (anonymous: [anon]);
--exclude leaves out a file's mappings (the preloaded benchmarks/resident.c itself)."""
import collections
import re
import sys

LINE = re.compile(r'^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$')


def mappings(path):
    out = []
    for line in open(path):
        m = LINE.match(line)
        if m:
            out.append([int(m.group(1), 16), int(m.group(2), 16), int(m.group(4), 16), m.group(5).strip(), 0])
        elif line.startswith('Rss:') and out:
            out[-1][4] = int(line.split()[1])
    return out


def main():
    prefix = sys.argv[1]
    exclude = sys.argv[sys.argv.index('--exclude') + 1] if '--exclude' in sys.argv else None
    guest = mappings(prefix + '.maps')
    host = mappings(prefix + '.smaps')
    # qemu's guest base: host address minus guest address of the same file at the same offset.
    deltas = collections.Counter()
    for gs, _, goff, gname, _ in guest:
        if gname.startswith('/'):
            for hs, _, hoff, hname, _ in host:
                if hname == gname and hoff == goff:
                    deltas[hs - gs] += 1
    delta = deltas.most_common(1)[0][0] if deltas else 0
    by_name = collections.Counter()
    total = 0
    for hs, he, _, hname, rss in host:
        inside = next((g for g in guest if g[0] + delta <= hs and he <= g[1] + delta), None)
        if inside is None or not rss:
            continue
        name = inside[3] if inside[3] else '[anon]'
        if name == exclude:
            continue
        by_name[name] += rss
        total += rss
    print(total)
    if '--by-file' in sys.argv:
        for name, kib in sorted(by_name.items(), key=lambda x: -x[1]):
            print(kib, name)


main()
