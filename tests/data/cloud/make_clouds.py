#!/usr/bin/python3
"""Regenerate the point-cloud fixtures of tests/unit/test_cloud.c.

    /usr/bin/python3 tests/data/cloud/make_clouds.py

Every good fixture holds n points with the values of point(i) below, so the
test can check every coordinate.  The assimp-*.ply files are not made here:
they are copies of assimp's BSD-3-clause test models (see ASSIMP-LICENSE).
"""

import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def point(i):
    """(x, y, z, nx, ny, nz) of point i: exact in float32 and in short decimal text."""
    return (i * 0.5, -float(i), i * 0.25 + 1.0, 0.0, 1.0 if i % 2 else 0.0, 0.0 if i % 2 else -1.0)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def header(fmt, elements, nl="\n", comments=()):
    """elements: [(name, count, [property lines])]."""
    lines = ["ply", "format %s 1.0" % fmt] + ["comment " + c for c in comments]
    for name, count, props in elements:
        lines.append("element %s %d" % (name, count))
        lines += ["property " + p for p in props]
    lines.append("end_header")
    return nl.join(lines) + nl


def fmt_num(v):
    return repr(float(v)) if v != int(v) else str(int(v))


XYZ = ["float x", "float y", "float z"]
NRM = ["float nx", "float ny", "float nz"]
FACE = ("face", 3, ["list uchar int vertex_indices"])


def faces_bin(order, n, count=3):
    out = b""
    for k in range(count):
        idx = [(k + j) % n for j in range(3 + k % 2)]       # triangles and quads
        out += struct.pack(order + "B%di" % len(idx), len(idx), *idx)
    return out


def good():
    # ascii, with comments, obj_info and a face element after the vertices.
    n = 10
    h = header("ascii", [("vertex", n, XYZ), FACE], comments=["made by make_clouds.py"])
    h = h.replace("end_header", "obj_info generated\nend_header")
    body = "".join("%s %s %s\n" % tuple(fmt_num(v) for v in point(i)[:3]) for i in range(n))
    body += "3 0 1 2\n4 1 2 3 4\n3 2 3 4\n"
    write("ascii.ply", h + body)

    # ascii with CRLF everywhere and normals.
    h = header("ascii", [("vertex", n, XYZ + NRM)], nl="\r\n")
    body = "".join(" ".join(fmt_num(v) for v in point(i)) + "\r\n" for i in range(n))
    write("crlf.ply", h + body)

    # binary little endian float with normals.
    n = 50
    h = header("binary_little_endian", [("vertex", n, XYZ + NRM)])
    body = b"".join(struct.pack("<6f", *point(i)) for i in range(n))
    write("binle.ply", h.encode() + body)

    # binary big endian double, face elements before and after the vertices,
    # plus an edge element with no list after them.
    n = 20
    props = ["double x", "double y", "double z"]
    h = header("binary_big_endian", [FACE, ("vertex", n, props), ("edge", 2, ["int vertex1", "int vertex2"]),
                                     ("material", 1, ["list uint8 float32 ambient", "uchar flag"])])
    body = faces_bin(">", n)
    body += b"".join(struct.pack(">3d", *point(i)[:3]) for i in range(n))
    body += struct.pack(">4i", 0, 1, 1, 2)
    body += struct.pack(">B3fB", 3, 0.1, 0.2, 0.3, 1)
    write("binbe_faces.ply", h.encode() + body)

    # extra vertex properties in between (colours, a list on the vertex, every
    # type name), normals interleaved, in both binary orders and ascii.
    n = 12
    props = ["uchar red", "float32 x", "uint8 green", "list uchar int16 extra", "double y", "uchar blue",
             "float nx", "char c1", "short s1", "ushort u1", "int i1", "uint u2", "int8 c2", "int16 s2",
             "uint16 u3", "int32 i2", "uint32 u4", "float64 d1", "float z", "float ny", "float nz"]
    codes = {"uchar": "B", "uint8": "B", "char": "b", "int8": "b", "short": "h", "int16": "h", "ushort": "H",
             "uint16": "H", "int": "i", "int32": "i", "uint": "I", "uint32": "I", "float": "f", "float32": "f",
             "double": "d", "float64": "d"}
    role = {"x": 0, "y": 1, "z": 2, "nx": 3, "ny": 4, "nz": 5}
    for fmt, order in (("binary_little_endian", "<"), ("binary_big_endian", ">"), ("ascii", None)):
        h = header(fmt, [("vertex", n, props), FACE])
        body = b"" if order else ""
        for i in range(n):
            p = point(i)
            for prop in props:
                words = prop.split()
                if words[0] == "list":
                    items = list(range(i % 3))
                    body += (struct.pack(order + "B%dh" % len(items), len(items), *items) if order
                             else " ".join(str(v) for v in [len(items)] + items) + " ")
                    continue
                t, name = words
                v = p[role[name]] if name in role else (7 if t not in ("float", "double", "float64", "float32") else 0.5)
                body += struct.pack(order + codes[t], v) if order else fmt_num(v) + " "
            if not order:
                body = body[:-1] + "\n"
        if order:
            body += faces_bin(order, n)
            write("extra_%s.ply" % ("le" if order == "<" else "be"), h.encode() + body)
        else:
            body += "3 0 1 2\n4 1 2 3 4\n3 2 3 4\n"
            write("extra_ascii.ply", h + body)

    # xyz: 3 columns with comments and blank lines; 6 columns as .txt.
    n = 15
    lines = ["# x y z", ""] + ["%s %s %s" % tuple(fmt_num(v) for v in point(i)[:3]) for i in range(n)]
    lines[5] += "   # trailing comment"
    lines.insert(8, "\t  ")
    write("three.xyz", "\n".join(lines) + "\n")
    lines = ["\t".join(fmt_num(v) for v in point(i)) for i in range(n)]
    write("six.txt", "\r\n".join(lines))                   # CRLF, no final newline

    # npy.
    n = 25
    a = np.array([point(i) for i in range(n)])
    np.save(os.path.join(HERE, "f32.npy"), a[:, :3].astype(np.float32))
    np.save(os.path.join(HERE, "f64_6.npy"), a.astype(np.float64))
    np.save(os.path.join(HERE, "i16.npy"), np.arange(n * 3, dtype=np.int16).reshape(n, 3))


def hostile():
    big = 1 << 40
    write("huge.ply", header("binary_little_endian", [("vertex", big, XYZ)]).encode() + bytes(40))
    write("huge_ascii.ply", header("ascii", [("vertex", big, XYZ)]) + "1 2 3\n" * 6)
    # a face element before the vertices that claims more than the file holds
    write("huge_faces.ply", header("binary_little_endian", [("face", big, ["list uchar int vertex_indices"]),
                                                           ("vertex", 1, XYZ)]).encode() + bytes(64))
    # a list count far past the end of the file
    write("huge_list.ply", header("binary_little_endian", [("vertex", 2, XYZ), ("face", 1, ["list uint int vertex_indices"])]).encode()
          + struct.pack("<6f", 0, 0, 0, 1, 1, 1) + struct.pack("<I", 0xFFFFFFFF) + bytes(16))
    # 10 vertices claimed, 120 bytes needed, 60 present
    write("truncated.ply", header("binary_little_endian", [("vertex", 10, XYZ)]).encode() + bytes(60))
    # vertices complete, the face element after them cut short
    write("truncated_face.ply", header("binary_little_endian", [("vertex", 4, XYZ), FACE]).encode()
          + bytes(48) + faces_bin("<", 4)[:-3])
    write("truncated_ascii.ply", header("ascii", [("vertex", 10, XYZ)]) + "0.5 1.5 2.5\n" * 7 + "1 2")
    write("nan.ply", header("ascii", [("vertex", 5, XYZ)]) + "0 0 0\n1 1 1\n2 2 2\n3 nan 3\n4 4 4\n")
    write("inf.ply", header("binary_big_endian", [("vertex", 3, XYZ)]).encode()
          + struct.pack(">9f", 0, 0, 0, 1, 1, 1, 2, float("inf"), 2))
    write("big_double.ply", header("binary_little_endian", [("vertex", 2, ["double x", "double y", "double z"])]).encode()
          + struct.pack("<6d", 0, 0, 0, 1e300, 1, 1))
    write("bad_type.ply", header("ascii", [("vertex", 1, ["flaot x", "float y", "float z"])]) + "1 2 3\n")
    write("bad_format.ply", "ply\nformat binary_middle_endian 1.0\nelement vertex 1\nproperty float x\nend_header\n")
    write("no_end.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n")
    write("stray_data.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n1\n")
    write("no_xyz.ply", header("ascii", [("vertex", 1, ["float x", "float y"])]) + "1 2\n")
    write("no_vertex.ply", header("ascii", [FACE]) + "3 0 1 2\n" * 3)
    write("list_x.ply", header("ascii", [("vertex", 1, ["list uchar float x", "float y", "float z"])]) + "1 1 2 3\n")
    write("neg_list.ply", header("ascii", [("vertex", 1, XYZ), FACE]) + "1 2 3\n-1 0 0 0\n")
    write("malformed.ply", header("ascii", [("vertex", 2, XYZ)]) + "1 2 3\n4 five 6\n")
    write("mixed.xyz", "1 2 3\n4 5 6\n\n7 8 9 10\n")
    write("two_cols.xyz", "# header\n1 2\n")
    write("nan.xyz", "1 2 3\n4 5 6\n7 inf 9\n")
    write("junk.xyz", "1 2 3\n4 5 six\n")
    write("empty.xyz", "# nothing\n\n")
    np.save(os.path.join(HERE, "bad_shape.npy"), np.zeros((4, 4), np.float32))
    a = np.zeros((3, 3), np.float64)
    a[1, 2] = np.nan
    np.save(os.path.join(HERE, "nan.npy"), a)


if __name__ == "__main__":
    good()
    hostile()
