#!/usr/bin/python3
"""Regenerates the TorchScript archive fixtures of tests/unit/test_ptar.c.

Run with /usr/bin/python3 (torch 1.13) from anywhere; files land next to this
script.  expected.txt holds, per archive, the figures ptar_stat must report,
computed here independently of the C code (zipfile + a stub unpickler):

    FILE FILE_SIZE WEIGHT_BYTES FLOAT_BYTES LARGEST N_RECORDS N_EXTRA ROOT
"""
import io
import os
import pickle
import struct
import zipfile
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = "task: detect\nimgsz: [64, 64]\nstride: 32\nnames: {0: 'face'}\n"
FLOAT_STORAGES = {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage"}


def path(name):
    return os.path.join(HERE, name)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.register_buffer("scale16", torch.arange(4, dtype=torch.float16))
        self.register_buffer("ids", torch.arange(5, dtype=torch.int64))

    def forward(self, x):
        return self.lin(x) + self.scale16[:2].float() + self.ids[:2].float()


class Stub:
    def __init__(self, *a, **k):
        pass

    def __new__(cls, *a, **k):
        return object.__new__(cls)

    def __setstate__(self, state):
        pass

    def __call__(self, *a, **k):
        return Stub()


def storages(pkl_bytes):
    """{key: storage class name} of the persistent ids in a pickle."""
    found = {}

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch" and name.endswith("Storage"):
                return name
            return Stub

        def persistent_load(self, pid):
            assert pid[0] == "storage"
            found[pid[2]] = pid[1]
            return Stub()

    U(io.BytesIO(pkl_bytes)).load()
    return found


def figures(name, source=None):
    """The expected line for name, whose entries are those of source (default: itself)."""
    z = zipfile.ZipFile(path(source or name))
    infos = z.infolist()
    root = infos[0].filename.split("/")[0]
    weight = largest = n = flt = 0
    extra = 0
    for pkl, folder in (("data.pkl", "data/"), ("constants.pkl", "constants/")):
        try:
            types = storages(z.read(root + "/" + pkl))
        except KeyError:
            types = {}
        for i in infos:
            rest = i.filename[len(root) + 1:]
            if rest.startswith(folder) and "/" not in rest[len(folder):]:
                key = rest[len(folder):]
                weight += i.file_size
                largest = max(largest, i.file_size)
                n += 1
                if types[key] in FLOAT_STORAGES:
                    flt += i.file_size
    extra = sum(1 for i in infos if i.filename.startswith(root + "/extra/"))
    return "%s %d %d %d %d %d %d %s\n" % (name, os.path.getsize(path(name)), weight, flt, largest, n,
                                         extra, root)


def write_zip(name, entries, zip64=False, comment=b""):
    """A zip written by hand: stored entries, optionally with every ZIP64 structure."""
    out = bytearray()
    central = bytearray()
    for fname, data in entries:
        fn = fname.encode()
        crc = zlib.crc32(data)
        off = len(out)
        if zip64:
            lextra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(fn), len(lextra)) + fn + lextra + data
            cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(fn), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + fn + cextra
        else:
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, len(data), len(data),
                               len(fn), 0) + fn + data
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, len(data),
                                   len(data), len(fn), 0, 0, 0, 0, 0, off) + fn
    cd_off = len(out)
    out += central
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                           len(central), cd_off)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment))
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_off,
                           len(comment))
    out += comment
    with open(path(name), "wb") as f:
        f.write(out)


def main():
    torch.manual_seed(0)
    m = torch.jit.script(Tiny())
    torch.jit.save(m, path("model.pt"), _extra_files={"config.txt": CONFIG, "notes.txt": "hello"})
    frozen = torch.jit.freeze(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 2)).eval()))
    torch.jit.save(frozen, path("frozen.pt"))

    z = zipfile.ZipFile(path("model.pt"))
    entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    write_zip("zip64.pt", entries, zip64=True)
    write_zip("comment.pt", entries, comment=b"PK\x05\x06 a comment that looks like a directory")
    with zipfile.ZipFile(path("deflated.pt"), "w", zipfile.ZIP_DEFLATED) as d:
        for fname, data in entries:
            d.writestr(fname, data)

    with open(path("config.txt"), "w") as f:
        f.write(CONFIG)
    data = open(path("model.pt"), "rb").read()
    with open(path("truncated.pt"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(path("tail_cut.pt"), "wb") as f:
        f.write(data[:-30])
    with open(path("not_zip.pt"), "wb") as f:
        f.write(b"this is not a zip file, just some text\n" * 3)
    with zipfile.ZipFile(path("no_pickle.pt"), "w") as d:
        d.writestr("root/version", "3\n")
        d.writestr("root/data/0", b"\0" * 8)

    with open(path("expected.txt"), "w") as f:
        for name in ("model.pt", "frozen.pt", "zip64.pt", "deflated.pt"):
            f.write(figures(name))
        # Python's zipfile takes the comment's fake signature for the directory
        f.write(figures("comment.pt", "model.pt"))


if __name__ == "__main__":
    main()
