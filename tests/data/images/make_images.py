#!/usr/bin/python3
"""Regenerates the image fixtures of tests/unit/test_image.c.

Run with /usr/bin/python3 (Pillow 9.4, numpy) from anywhere; it writes next to
itself.  For every valid image NAME.png / NAME.jpg it also writes the pixels
the decoder must produce as NAME.pgm (1 channel) or NAME.ppm (3 channels),
binary PNM with maxval 255:

  * PNGs: computed here from the samples that were encoded (not decoded back),
    so the C test compares them byte for byte.
  * JPEGs: Pillow's own decode (convert("RGB") for CMYK, exif_transpose for
    EXIF orientation, draft() for the reduced-scale ones); the C test compares
    them within a small tolerance.

Most PNGs are written by the tiny encoder below rather than by Pillow, because
Pillow cannot write 16-bit RGB/RGBA/gray+alpha or Adam7-interlaced PNGs.
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.RandomState(20240611)


def path(name):
    return os.path.join(HERE, name)


def write_pnm(name, arr):
    """arr: (H, W) or (H, W, 3) uint8."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.ndim == 2:
        head = b"P5\n%d %d\n255\n" % (arr.shape[1], arr.shape[0])
        ext = ".pgm"
    else:
        assert arr.shape[2] == 3
        head = b"P6\n%d %d\n255\n" % (arr.shape[1], arr.shape[0])
        ext = ".ppm"
    with open(path(name + ext), "wb") as f:
        f.write(head + arr.tobytes())


# ---------------------------------------------------------------- PNG encoder

def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]  # x0, y0, dx, dy


def pack_rows(samples, depth):
    """samples: (h, w, c) ints -> bytes of filtered scanlines (filter 0/1/2 mix)."""
    h, w, c = samples.shape
    out = bytearray()
    prev = None
    for y in range(h):
        row = samples[y].reshape(-1)
        if depth == 16:
            raw = row.astype(">u2").tobytes()
        elif depth == 8:
            raw = row.astype(np.uint8).tobytes()
        else:
            per = 8 // depth
            nbytes = (len(row) + per - 1) // per
            buf = bytearray(nbytes)
            for i, v in enumerate(row):
                buf[i // per] |= int(v) << (8 - depth * (i % per + 1))
            raw = bytes(buf)
        # Exercise libpng's unfiltering: none, sub or up by row.
        ftype = y % 3
        bpp = max(1, c * depth // 8)
        if ftype == 1:
            f = bytes((raw[i] - (raw[i - bpp] if i >= bpp else 0)) & 0xFF for i in range(len(raw)))
        elif ftype == 2 and prev is not None:
            f = bytes((raw[i] - prev[i]) & 0xFF for i in range(len(raw)))
        else:
            ftype, f = 0, raw
        out += bytes([ftype]) + f
        prev = raw
    return bytes(out)


def encode_png(samples, color_type, depth, palette=None, trns=None, interlace=False):
    """samples: (H, W, C) integer array of raw sample values (palette indices
    for colour type 3).  Returns the PNG bytes."""
    h, w, c = samples.shape
    assert c == CHANNELS[color_type]
    if interlace:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += pack_rows(sub, depth)
    else:
        data = pack_rows(samples, depth)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    z = zlib.compress(data, 9)
    # Two IDAT chunks, so that libpng has to join them.
    half = len(z) // 2
    png += chunk(b"IDAT", z[:half]) + chunk(b"IDAT", z[half:])
    png += chunk(b"IEND", b"")
    return png


def save_png(name, samples, color_type, depth, expected, **kw):
    with open(path(name + ".png"), "wb") as f:
        f.write(encode_png(samples, color_type, depth, **kw))
    write_pnm(name, expected)


def gray_scale(depth):
    return {1: 255, 2: 85, 4: 17, 8: 1}[depth]


def make_pngs():
    W, H = 13, 7
    for depth in (1, 2, 4, 8, 16):
        s = rng.randint(0, 1 << depth, size=(H, W, 1))
        exp = (s[..., 0] >> 8) if depth == 16 else s[..., 0] * gray_scale(depth)
        save_png("gray%d" % depth, s, 0, depth, exp)
    for depth in (8, 16):
        s = rng.randint(0, 1 << depth, size=(H, W, 3))
        save_png("rgb%d" % depth, s, 2, depth, s >> (depth - 8))
        s = rng.randint(0, 1 << depth, size=(H, W, 4))
        save_png("rgba%d" % depth, s, 6, depth, s[..., :3] >> (depth - 8))
        s = rng.randint(0, 1 << depth, size=(H, W, 2))
        save_png("graya%d" % depth, s, 4, depth, s[..., 0] >> (depth - 8))
    for depth in (1, 2, 4, 8):
        n = 1 << depth
        pal = rng.randint(0, 256, size=(n, 3))
        s = rng.randint(0, n, size=(H, W, 1))
        save_png("pal%d" % depth, s, 3, depth, pal[s[..., 0]], palette=pal)
    # Palette with tRNS (alpha dropped, not composited).
    pal = rng.randint(0, 256, size=(16, 3))
    s = rng.randint(0, 16, size=(H, W, 1))
    save_png("pal4_trns", s, 3, 4, pal[s[..., 0]], palette=pal, trns=bytes(range(0, 160, 20)))
    pal = rng.randint(0, 256, size=(200, 3))
    s = rng.randint(0, 200, size=(H, W, 1))
    save_png("pal8_trns", s, 3, 8, pal[s[..., 0]], palette=pal, trns=bytes(range(0, 250, 2)))
    # Gray and RGB with a tRNS colour key.
    s = rng.randint(0, 256, size=(H, W, 1))
    save_png("gray8_trns", s, 0, 8, s[..., 0], trns=struct.pack(">H", int(s[0, 0, 0])))
    s = rng.randint(0, 256, size=(H, W, 3))
    save_png("rgb8_trns", s, 2, 8, s, trns=struct.pack(">HHH", *map(int, s[0, 0])))

    # Adam7, on an odd size that leaves some passes short.
    W, H = 20, 11
    s = rng.randint(0, 256, size=(H, W, 3))
    save_png("rgb8_interlaced", s, 2, 8, s, interlace=True)
    s = rng.randint(0, 65536, size=(H, W, 4))
    save_png("rgba16_interlaced", s, 6, 16, s[..., :3] >> 8, interlace=True)
    s = rng.randint(0, 4, size=(H, W, 1))
    save_png("gray2_interlaced", s, 0, 2, s[..., 0] * 85, interlace=True)
    pal = rng.randint(0, 256, size=(2, 3))
    s = rng.randint(0, 2, size=(H, W, 1))
    save_png("pal1_interlaced", s, 3, 1, pal[s[..., 0]], palette=pal, interlace=True)
    s = rng.randint(0, 65536, size=(H, W, 2))
    save_png("graya16_interlaced", s, 4, 16, s[..., 0] >> 8, interlace=True)
    # A 1x1 image, which has only the first Adam7 pass.
    s = np.array([[[7, 200, 99]]])
    save_png("rgb8_1x1_interlaced", s, 2, 8, s, interlace=True)

    # Pillow-written (adaptive filters, its own zlib settings), 1-bit via bits=.
    img = Image.fromarray(rng.randint(0, 256, size=(9, 17, 3)).astype(np.uint8), "RGB")
    img.save(path("pillow_rgb.png"))
    write_pnm("pillow_rgb", np.asarray(img))
    img = Image.fromarray(rng.randint(0, 4, size=(9, 17)).astype(np.uint8), "P")
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250])
    img.save(path("pillow_pal2.png"), bits=2)
    write_pnm("pillow_pal2", np.asarray(img.convert("RGB")))


def make_bad_pngs():
    good = encode_png(rng.randint(0, 256, size=(7, 13, 3)), 2, 8)
    # IDAT chunks start after the 8-byte signature and the 25-byte IHDR.
    idat = 8 + 25
    n = struct.unpack(">I", good[idat:idat + 4])[0]
    with open(path("truncated.png"), "wb") as f:
        f.write(good[:idat + 8 + n // 2])
    bad = bytearray(good)
    bad[idat + 8 + n] ^= 0x55                        # first IDAT's CRC
    with open(path("bad_crc.png"), "wb") as f:
        f.write(bytes(bad))
    # A zlib stream that is broken but carries a valid chunk CRC.
    z = bytearray(zlib.compress(b"\x00" + bytes(39) * 1, 9))
    z[2] = 0xFF
    z[3] = 0xFF
    body = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 13, 7, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", bytes(z)) + chunk(b"IEND", b""))
    with open(path("corrupt_idat.png"), "wb") as f:
        f.write(body)

    # A complete zlib stream that holds only the first of seven rows.
    body = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 13, 7, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(40))) + chunk(b"IEND", b""))
    with open(path("short_idat.png"), "wb") as f:
        f.write(body)

    def header_only(w, h):
        z = zlib.compress(bytes(64))
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", z) + chunk(b"IEND", b""))
    with open(path("huge.png"), "wb") as f:
        f.write(header_only(100000, 100000))
    with open(path("zero.png"), "wb") as f:
        f.write(header_only(0, 7))
    with open(path("signature_only.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")


# ---------------------------------------------------------------------- JPEG

def photo(w, h):
    """A smooth colour picture, with some texture, that JPEG keeps well."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0)
    g = 128 + 100 * np.cos(y / 4.0)
    b = 255 * (x + y) / (w + h)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, size=(h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def save_jpeg(name, img, expected=None, **kw):
    img.save(path(name + ".jpg"), **kw)
    if expected is None:
        got = Image.open(path(name + ".jpg"))
        got = got.convert("RGB") if got.mode in ("RGB", "CMYK") else got
        expected = np.asarray(got)
    write_pnm(name, expected)


def corners(w, h):
    """Upright test card: red top-left, green top-right, blue bottom-left,
    white bottom-right quadrant, on flat colours so JPEG keeps them."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2] = (230, 20, 20)
    a[: h // 2, w // 2:] = (20, 230, 20)
    a[h // 2:, : w // 2] = (20, 20, 230)
    a[h // 2:, w // 2:] = (240, 240, 240)
    return a


# The transpose to apply to the upright picture so that a viewer applying the
# EXIF orientation gets it back (the inverse of exif_transpose's operation).
STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def make_jpegs():
    pic = Image.fromarray(photo(21, 13), "RGB")
    save_jpeg("baseline", pic, quality=90)
    save_jpeg("baseline444", pic, quality=95, subsampling=0)
    save_jpeg("progressive", pic, quality=90, progressive=True)
    save_jpeg("gray", pic.convert("L"), quality=90)
    save_jpeg("cmyk", pic.convert("CMYK"), quality=95)
    # YCCK: Pillow has no switch for it; libjpeg picks YCCK for CMYK only when
    # asked, so the CMYK fixture covers the inverted-Adobe path and YCCK shares
    # the TJPF_CMYK output path in the decoder.

    # EXIF orientations 1..8 of one upright card; expected = Pillow's
    # exif_transpose of Pillow's decode.
    up = Image.fromarray(corners(20, 12), "RGB")
    for o in range(1, 9):
        stored = up if STORE[o] is None else up.transpose(STORE[o])
        exif = Image.Exif()
        exif[0x0112] = o
        buf = io.BytesIO()
        stored.save(buf, "JPEG", quality=95, exif=exif.tobytes())
        name = "exif%d" % o
        with open(path(name + ".jpg"), "wb") as f:
            f.write(buf.getvalue())
        got = ImageOps.exif_transpose(Image.open(path(name + ".jpg")))
        assert got.size == (20, 12), (o, got.size)
        write_pnm(name, np.asarray(got.convert("RGB")))
    # Pillow writes big-endian ("MM") EXIF; add a hand-built little-endian
    # ("II") one with orientation 6, IFD0 right after the TIFF header.
    tiff = (b"II\x2a\x00\x08\x00\x00\x00" + struct.pack("<H", 1)
            + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + b"\0\0\0\0")
    buf = io.BytesIO()
    up.transpose(STORE[6]).save(buf, "JPEG", quality=95, exif=b"Exif\x00\x00" + tiff)
    with open(path("exif6_ii.jpg"), "wb") as f:
        f.write(buf.getvalue())
    got = ImageOps.exif_transpose(Image.open(path("exif6_ii.jpg")))
    assert got.size == (20, 12)
    write_pnm("exif6_ii", np.asarray(got))

    # Reduced-scale decode: a 64x48 picture; expected from Pillow's draft(),
    # which uses the same libjpeg DCT scaling.
    big = Image.fromarray(photo(64, 48), "RGB")
    big.save(path("big.jpg"), quality=90)
    for denom in (2, 4):
        im = Image.open(path("big.jpg"))
        im.draft("RGB", (64 // denom, 48 // denom))
        assert im.size == (64 // denom, 48 // denom), im.size
        write_pnm("big_d%d" % denom, np.asarray(im))
    write_pnm("big", np.asarray(Image.open(path("big.jpg"))))
    # The same picture stored with orientation 6 (upright 48x64).
    exif = Image.Exif()
    exif[0x0112] = 6
    big.save(path("big_exif6.jpg"), quality=90, exif=exif.tobytes())
    im = Image.open(path("big_exif6.jpg"))
    im.draft("RGB", (16, 12))
    write_pnm("big_exif6_d4", np.asarray(ImageOps.exif_transpose(im)))

    # Broken ones.
    data = open(path("baseline.jpg"), "rb").read()
    # Two junk bytes before SOF: libjpeg warns "extraneous bytes" and goes on,
    # as does Pillow; the pixels are those of baseline.jpg.
    sof = data.index(b"\xff\xc0")
    with open(path("extraneous.jpg"), "wb") as f:
        f.write(data[:sof] + b"\x12\x34" + data[sof:])
    write_pnm("extraneous", np.asarray(Image.open(path("extraneous.jpg"))))
    sos = data.index(b"\xff\xda")
    with open(path("truncated.jpg"), "wb") as f:
        f.write(data[: (sos + len(data)) // 2])          # cut inside the scan
    huge = bytearray(data)
    huge[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)  # height, width
    with open(path("huge.jpg"), "wb") as f:
        f.write(bytes(huge))
    zero = bytearray(data)
    zero[sof + 5:sof + 7] = struct.pack(">H", 0)
    with open(path("zero.jpg"), "wb") as f:
        f.write(bytes(zero))
    with open(path("text.jpg"), "wb") as f:
        f.write(b"this is not a picture\n")
    open(path("empty.png"), "wb").close()
    with open(path("soi_only.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff")


if __name__ == "__main__":
    for f in os.listdir(HERE):
        if f.endswith((".png", ".jpg", ".pgm", ".ppm")):
            os.remove(path(f))
    make_pngs()
    make_bad_pngs()
    make_jpegs()
