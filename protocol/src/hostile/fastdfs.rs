//! FastDFS: packets a hostile or broken tracker, storage or client may send.
//! - property: random packets, headers with extreme lengths, bodies whose
//!   length fields (name, metadata and master lengths, file sizes) lie, and
//!   every captured request and reply cut, flipped and spliced, through the
//!   header, every command's request parser, every reply parser, file IDs,
//!   name blocks and tokens: nothing panics, each input ends within
//!   [`super::PER_INPUT`], and whatever parses re-encodes to a packet that
//!   parses back to the same value.

use super::{mutations, Input, Rng, Watchdog};
use crate::checks::fastdfs::check;
use crate::fastdfs::cmd;
use crate::fastdfs::fields::put_n8;
use crate::vectors::fastdfs_exchanges;
use bytes::{BufMut, BytesMut};

fn packet(code: u8, pkg_len: i64, body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_i64(pkg_len);
    out.put_u8(code);
    out.put_u8(0);
    out.put_slice(body);
    out.to_vec()
}

/// Bodies whose length fields claim what the body does not hold.
fn adversarial() -> Vec<Input> {
    let lengths = [
        0,
        1,
        16,
        44,
        127,
        128,
        1 << 31,
        i64::MAX - 1,
        i64::MAX,
        -1,
        i64::MIN,
    ];
    let mut out = Vec::new();
    for &len in &lengths {
        for code in [
            cmd::UPLOAD_FILE,
            cmd::UPLOAD_SLAVE_FILE,
            cmd::APPEND_FILE,
            cmd::SET_METADATA,
            cmd::DOWNLOAD_FILE,
        ] {
            let mut body = BytesMut::new();
            for _ in 0..3 {
                put_n8(&mut body, len as u64);
            }
            body.put_slice(b"group1\0\0\0\0\0\0\0\0\0\0M00/00/00/abc");
            out.push((format!("cmd {code} fields {len}"), packet(code, len, &body)));
            out.push((format!("cmd {code} header {len}"), packet(code, len, &[])));
        }
    }
    let mut many = BytesMut::new();
    many.put_slice(b"group1\0\0\0\0\0\0\0\0\0\0");
    for i in 0..40_000u32 {
        let ip = format!("127.0.{}.{}", (i >> 8) & 0xff, i & 0xff);
        crate::fastdfs::fields::put_fixed(&mut many, &ip, 15);
        put_n8(&mut many, 23000);
    }
    out.push((
        "40k storages".into(),
        packet(cmd::RESP, many.len() as i64, &many),
    ));
    let meta: Vec<u8> = (0..200_000).flat_map(|_| *b"k\x02v\x01").collect();
    out.push((
        "200k metadata records".into(),
        packet(cmd::RESP, meta.len() as i64, &meta),
    ));
    out.push(("1 MiB of separators".into(), vec![1; 1 << 20]));
    out
}

fn random_packets(rng: &mut Rng, n: usize) -> Vec<Input> {
    let codes = [
        11, 12, 13, 14, 15, 21, 22, 23, 24, 38, 82, 90, 100, 101, 102, 103, 104, 105, 106, 107, 111,
    ];
    let alphabet = b"\0\x01\x02\xff/M0123456789ABCDEFabcdefgroup.-_";
    (0..n)
        .map(|i| {
            let len = rng.below(200);
            let body = rng.bytes_from(alphabet, len);
            let claimed = if rng.below(4) == 0 {
                rng.next() as i64
            } else {
                len as i64
            };
            (
                format!("random packet {i}"),
                packet(*rng.pick(&codes), claimed, &body),
            )
        })
        .collect()
}

#[test]
fn every_parser_ends_and_never_panics_on_hostile_packets() {
    let mut rng = Rng::new(0x6664_6673);
    let mut inputs = adversarial();
    inputs.extend(random_packets(&mut rng, 3000));
    let all = fastdfs_exchanges();
    for (i, ex) in all.iter().enumerate() {
        let other = &all[(i + 1) % all.len()].request;
        inputs.extend(mutations(&ex.name, &ex.request, other, &mut rng, 8));
        if let Some(response) = &ex.response {
            inputs.extend(mutations(&ex.name, response, &ex.request, &mut rng, 8));
        }
    }
    assert!(inputs.len() > 5000, "only {} inputs", inputs.len());
    Watchdog::run(inputs, check);
}
