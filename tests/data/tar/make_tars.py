#!/usr/bin/env python3
"""Seeds for tests/fuzz/fuzz_tar.c: small archives in each format tarfile writes.
Run from the repository root: /usr/bin/python3 tests/data/tar/make_tars.py"""
import io
import tarfile

OUT = "tests/data/tar/"
PNG = open("tests/data/images/pal1.png", "rb").read()


def add(t, name, data, kind=tarfile.REGTYPE):
    i = tarfile.TarInfo(name)
    i.type = kind
    i.size = len(data) if kind == tarfile.REGTYPE else 0
    i.mtime = 1700000000
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


for fmt, name in [(tarfile.USTAR_FORMAT, "ustar"), (tarfile.PAX_FORMAT, "pax"), (tarfile.GNU_FORMAT, "gnu")]:
    with tarfile.open(OUT + name + ".tar", "w", format=fmt) as t:
        add(t, "000000.png", PNG)
        add(t, "000000.json", b'{"caption": "x"}')
        add(t, "dir", b"", tarfile.DIRTYPE)
        add(t, "d" * 60 + "/" + "e" * 60 + ".png", PNG)  # prefix + name in ustar
        if fmt != tarfile.USTAR_FORMAT:
            add(t, "f" * 150 + ".png", PNG)  # pax path / GNU long name
