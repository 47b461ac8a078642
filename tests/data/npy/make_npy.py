#!/usr/bin/python3
"""Regenerates the .npy fixtures of tests/unit/test_npy.c.

Run with /usr/bin/python3 (numpy 1.24) from anywhere; files land next to this
script.  Every valid array holds arange(count) cast to its dtype (bool:
arange % 2), so the C test can check values without a table.
"""
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def save(name, a):
    np.save(path(name), a, allow_pickle=True)


def raw(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def v1(header, data=b""):
    """A version 1.0 file with the header dict text given verbatim."""
    h = header.encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data


def arange(shape, dtype):
    n = int(np.prod(shape))
    if np.dtype(dtype).kind == "b":
        return (np.arange(n) % 2).astype(dtype).reshape(shape)
    return np.arange(n).astype(dtype).reshape(shape)


# every dtype, little endian, shape (2, 3)
for code in ["b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"]:
    save("le_%s.npy" % code, arange((2, 3), "<" + code))
# big endian
for code in ["i2", "u4", "i8", "f2", "f4", "f8"]:
    save("be_%s.npy" % code, arange((2, 3), ">" + code))
# Fortran order, 2-d and 3-d (values in C order are still arange)
save("fortran_2d.npy", np.asfortranarray(arange((3, 4), "<i4")))
save("fortran_3d.npy", np.asfortranarray(arange((2, 3, 4), ">f8")))
# scalar, 1-d, 0-size, 4-d
save("scalar.npy", np.array(7, dtype="<f4"))
save("vec5.npy", arange((5,), "<i8"))
save("empty.npy", np.zeros((0, 3), dtype="<f4"))
save("d4.npy", arange((1, 2, 3, 4), "<u2"))
# format version 2.0 (and 3.0 written by hand)
with open(path("v2.npy"), "wb") as f:
    a = arange((2, 2), "<f4")
    np.lib.format.write_array(f, a, version=(2, 0))
with open(path("v3.npy"), "wb") as f:
    a = arange((3,), "<i2")
    np.lib.format.write_array(f, a, version=(3, 0))
# header spelled unusually: other key order, double quotes, Python 2 longs, no trailing comma
raw("odd_header.npy", v1('{"shape": (2L, 2L) , "fortran_order":False,"descr":"<u1"}  \n', bytes([0, 1, 2, 3])))
raw("question_bool.npy", v1("{'descr': '?', 'fortran_order': False, 'shape': (3,), }\n", bytes([0, 1, 2])))

# reference files for the writer's byte-for-byte test
save("w_f32_2x3.npy", arange((2, 3), "<f4"))
save("w_u8_7.npy", arange((7,), "<u1"))
save("w_i64_scalar.npy", np.array(0, dtype="<i8"))
save("w_f16_1x2x3x4.npy", arange((1, 2, 3, 4), "<f2"))
save("w_b1_0x4.npy", np.zeros((0, 4), dtype="?"))

# hostile and unsupported files
raw("bad_magic.npy", b"\x93NUMPX\x01\x00\x10\x00" + b" " * 16)
raw("lying_shape.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000,), }\n", b"\0" * 48))
raw("truncated.npy", open(path("le_f8.npy"), "rb").read()[:-5])
raw("trailing.npy", open(path("le_f4.npy"), "rb").read() + b"\0\0\0\0")
raw("huge_shape.npy", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }\n"))
raw("huge_dim.npy", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n"))
raw("negative_shape.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }\n"))
raw("too_many_dims.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }\n" % ("1, " * 17)))
raw("header_past_end.npy", b"\x93NUMPY\x01\x00\xff\x7f{'descr': '<f4'")
raw("header_past_end_v2.npy", b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr': '<f4'")
raw("bad_version.npy", b"\x93NUMPY\x04\x00\x10\x00" + b"{}" + b" " * 14)
raw("missing_key.npy", v1("{'descr': '<f4', 'shape': (1,), }\n", b"\0" * 4))
raw("extra_key.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", b"\0" * 4))
raw("structured.npy", v1("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", b"\0" * 4))
raw("unterminated.npy", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,\n", b"\0" * 4))
save("object.npy", np.array([{"a": 1}, None], dtype=object))
save("complex.npy", np.zeros(2, dtype="<c8"))
save("string.npy", np.array(["ab", "cd"]))
save("datetime.npy", np.zeros(2, dtype="datetime64[s]"))
