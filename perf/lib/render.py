#!/usr/bin/env python3
"""Render a perf/conf/*.in template: replace @KEY@ with values given as KEY=VALUE.

Fails (exit 1, one line) when a placeholder is left without a value, so a typo in a
template cannot silently produce a config that benchmarks something else.
"""
import re
import sys


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: render.py TEMPLATE OUTPUT [KEY=VALUE ...]")
    template, output, pairs = argv[1], argv[2], argv[3:]
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            sys.exit(f"render.py: argument {pair!r} is not KEY=VALUE")
        values[key] = value
    text = open(template, encoding="utf-8").read()

    def sub(m):
        key = m.group(1)
        if key not in values:
            sys.exit(f"render.py: {template}: no value for @{key}@")
        return values[key]

    text = re.sub(r"@([A-Z][A-Z0-9_]*)@", sub, text)
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv)
