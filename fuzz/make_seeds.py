#!/usr/bin/env python3
"""Builds fuzz/seeds/<target>/ from the captures in protocol/tests/vectors,
the example configs in conf/ and the nginx texts of the import tests.

Run from anywhere: python3 fuzz/make_seeds.py (it rewrites fuzz/seeds/).
"""
import hashlib
import json
import pathlib
import re
import shutil

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


def main():
    targets = {
        "mogilefs": mogilefs,
        "fastdfs_packet": fastdfs_packet,
        "fastdfs_id_token": fastdfs_id_token,
        "http_headers": http_headers,
        "config": config,
        "import_nginx": import_nginx,
    }
    for name, build in targets.items():
        out = FUZZ / "seeds" / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for seed in build():
            (out / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)
        print(f"{name}: {len(list(out.iterdir()))} seeds")


if __name__ == "__main__":
    main()
