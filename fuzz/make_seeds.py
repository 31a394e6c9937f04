#!/usr/bin/env python3
"""Builds fuzz/seeds/<target>/ from the captures in protocol/tests/vectors,
the example configs in conf/ and the nginx texts of the import tests; the
thumbnail seeds are small images made here and converted with cjpeg
(libjpeg-turbo) and cwebp (libwebp), kept as they are when those are missing.

Run from anywhere: python3 fuzz/make_seeds.py (it rewrites fuzz/seeds/).
"""
import hashlib
import json
import pathlib
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
VECTORS = ROOT / "protocol" / "tests" / "vectors"


def fdfs_dumps(text):
    """The 'full hex' dumps of one FastDFS capture file, in order."""
    dumps, current = [], None
    for line in text.splitlines():
        if line.startswith("full hex"):
            current = bytearray()
            dumps.append(current)
            continue
        m = re.match(r"^    ([0-9a-f]{4}): ([0-9a-f]+)\s*$", line)
        if current is not None and m:
            current.extend(bytes.fromhex(m.group(2)))
        else:
            current = None
    return [bytes(d) for d in dumps]


def mogilefs():
    seeds = []
    for line in (VECTORS / "mogilefs" / "tracker-vectors.jsonl").read_text().splitlines():
        if line.strip():
            ex = json.loads(line)
            seeds += [ex.get("request", ""), ex.get("response", "")]
    seeds += [
        "OK paths=18446744073709551615&path1=http://127.0.0.2:7500/dev1/0/000/000/0000000001.fid\r\n",
        "OK fid=1&dev_count=3&devid_1=1&path_1=http://a/1.fid\r\n",
        "OK key_count=2&key_1=a&key_2=b&next_after=b\r\n",
    ]
    return [s.encode() for s in seeds if s]


def fastdfs_packet():
    seeds = []
    for path in sorted((VECTORS / "fastdfs").glob("*.txt")):
        if path.name != "INDEX.txt":
            seeds += fdfs_dumps(path.read_text())
    return seeds


def fastdfs_id_token():
    text = "\n".join(p.read_text() for p in (VECTORS / "fastdfs").glob("*.txt"))
    ids = sorted(set(re.findall(r"group\d/M[0-9A-F]{2}/[0-9A-F]{2}/[0-9A-F]{2}/[A-Za-z0-9_.-]+", text)))
    seeds = [i.encode() for i in ids]
    seeds.append(b"M00/00/00/fwAAAmsBrKmAGkPLAAAnEGDVwFE623.bin\n1795271863\n1795272000\n900\n"
                 b"404e80eee38dcb09c5de2cc532ba85a3\nFastDFS1234567890")
    seeds.append(b"trunkgrp/M00/00/00/fwAADGsBrpGIefzdAAAD6MOCmu4AAAAAQAACAAAAAQA986.bin\n0\n0\n1\n\n")
    return seeds


def http_headers():
    text = "\n".join(p.read_text(errors="replace") for p in (VECTORS / "mogilefs").rglob("*.txt"))
    ranges = sorted(set(re.findall(r"Range: (bytes[^\r\n\\]*)", text)))
    dates = sorted(set(re.findall(r"Last-Modified: ([^\r\n\\]*)", text)))[:3]
    seeds = []
    for i, r in enumerate(ranges):
        if r.startswith("bytes="):
            content = ranges[(i + 1) % len(ranges)]
            date = dates[i % len(dates)] if dates else ""
            seeds.append(f'{r}\n{content}\n"472-27"\n\n{date}\n\n{date}\n"472-27"\n27 1795272377')
    seeds += [
        'bytes=-5\nbytes */27\n*\n"a", W/"472-27"\n\nSat, 21 Nov 2026 14:46:17 GMT\n"472-27"\n"472-27"\n0 0',
        "bytes=0-\nbytes 0-0/1\n\n\n\n\nW/\"x\"\n\"x\"\n18446744073709551615 18446744073709551615",
    ]
    return [s.encode() for s in seeds]


def config():
    return [p.read_bytes() for p in sorted((ROOT / "conf").glob("*.toml"))]


def import_nginx():
    tests = (ROOT / "gateway" / "src" / "import_nginx" / "tests.rs").read_text()
    texts = re.findall(r'r#"(.*?)"#', tests, flags=re.S)
    texts = [t for t in texts if "{" in t]
    texts += [p.read_text() for p in sorted((ROOT / "nginx").glob("*.conf"))]
    return [t.encode() for t in texts]


def picture(width, height):
    """RGB bytes of a small picture with gradients and a checker."""
    out = bytearray()
    for y in range(height):
        for x in range(width):
            checker = 60 if (x // 4 + y // 4) % 2 else 0
            out += bytes([(x * 255 // width + checker) % 256,
                          (y * 255 // height + checker) % 256, (x ^ y) * 8 % 256])
    return bytes(out)


def ppm(width, height):
    return b"P6\n%d %d\n255\n" % (width, height) + picture(width, height)


def png(width, height, rgba=False):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    pixels = picture(width, height)
    rows = b""
    for y in range(height):
        row = pixels[y * width * 3:(y + 1) * width * 3]
        if rgba:
            row = b"".join(row[i:i + 3] + bytes([i * 7 % 256]) for i in range(0, len(row), 3))
        rows += b"\0" + row
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if rgba else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def gif(width, height, frames):
    """A four-colour GIF of `frames` frames. Its LZW codes stay 3 bits wide:
    a clear code before every pair of pixels keeps the table from growing."""
    out = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x81, 0, 0)
    out += bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for frame in range(frames):
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00"
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        codes = []
        for i in range(width * height):
            if i % 2 == 0:
                codes.append(4)
            codes.append((i // width + i % width + frame) % 4)
        codes.append(5)
        bits, used, data = 0, 0, bytearray()
        for code in codes:
            bits |= code << used
            used += 3
            while used >= 8:
                data.append(bits & 0xFF)
                bits >>= 8
                used -= 8
        if used:
            data.append(bits)
        out += b"\x02"
        for i in range(0, len(data), 255):
            block = data[i:i + 255]
            out += bytes([len(block)]) + block
        out += b"\x00"
    return out + b"\x3b"


def convert(command, source):
    return subprocess.run(command, input=source, stdout=subprocess.PIPE,
                          check=True).stdout


def thumbnail():
    """Each image behind one choice byte (see fuzz_targets/thumbnail.rs)."""
    if not (shutil.which("cjpeg") and shutil.which("cwebp")):
        print("thumbnail: cjpeg or cwebp missing; seeds left as they are")
        return None
    images = [png(24, 16), png(16, 16, rgba=True), gif(12, 8, 1), gif(8, 8, 2)]
    source = ppm(40, 24)
    for flags in ([], ["-progressive"], ["-grayscale"], ["-progressive", "-grayscale"],
                  ["-sample", "1x1"], ["-restart", "1"]):
        images.append(convert(["cjpeg", "-quality", "80", *flags], source))
    for flags in (["-q", "80"], ["-lossless"], ["-q", "60", "-alpha_q", "50"]):
        with tempfile.TemporaryDirectory() as tmp:
            src = pathlib.Path(tmp) / "in.png"
            src.write_bytes(png(40, 24, rgba=True))
            images.append(subprocess.run(["cwebp", "-quiet", *flags, str(src), "-o", "-"],
                                         stdout=subprocess.PIPE, check=True).stdout)
    return [bytes([choice]) + image for image in images for choice in (0x01, 0x16)]


def main():
    targets = {
        "mogilefs": mogilefs,
        "fastdfs_packet": fastdfs_packet,
        "fastdfs_id_token": fastdfs_id_token,
        "http_headers": http_headers,
        "config": config,
        "import_nginx": import_nginx,
        "thumbnail": thumbnail,
    }
    for name, build in targets.items():
        seeds = build()
        if seeds is None:
            continue
        out = FUZZ / "seeds" / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for seed in seeds:
            (out / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)
        print(f"{name}: {len(list(out.iterdir()))} seeds")


if __name__ == "__main__":
    main()
