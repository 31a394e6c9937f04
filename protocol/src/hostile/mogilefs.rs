//! MogileFS: tracker replies and requests a hostile or broken peer may send.
//! - `get_paths` claiming 2^64-1 paths is refused at once (it looped forever);
//! - a 0.7 MiB reply of 100,000 distinct fields decodes, and every field of it
//!   is read, in linear time (a linear search per field took ~30 s);
//! - `list_keys` with a million-key count, and 1000 real keys, are bounded;
//! - a count above the fields present or above its maximum is an error for
//!   `paths`, `dev_count` and `key_count`, and error values are truncated;
//! - property: random lines, adversarial counts and field sets, and every
//!   captured exchange cut, flipped and spliced, through the line codec,
//!   `Args`, `Request`, `Reply` and every command's parsers on both sides:
//!   nothing panics, each input ends within [`super::PER_INPUT`], and no
//!   parsed list is longer than the fields it came from.

use super::{mutations, Input, Rng, Watchdog};
use crate::checks::mogilefs::check;
use crate::mogilefs::cmd::{CreateOpen, GetPaths, ListKeys};
use crate::mogilefs::{line, Args, Command, ProtocolError, Reply};
use crate::vectors::mogilefs_exchanges;

fn ok_line(args: &Args) -> Vec<u8> {
    Reply::Ok(args.clone()).encode().into_bytes()
}

/// `n` fields `prefix1=v..prefixN=v` after `head`.
fn numbered(head: &str, prefix: &str, n: usize) -> Args {
    let mut args = Args::decode(head);
    for i in 1..=n {
        args.push(
            &format!("{prefix}{i}"),
            format!("http://127.0.0.1:7500/dev1/{i}.fid"),
        );
    }
    args
}

#[test]
fn get_paths_with_a_count_of_2_pow_64_is_refused_at_once() {
    let line = b"OK paths=18446744073709551615&path1=http://127.0.0.2:7500/dev1/0/000/000/0000000001.fid\r\n";
    Watchdog::one("paths=u64::MAX", line.to_vec(), |bytes| {
        let Ok(Reply::Ok(args)) = Reply::parse(std::str::from_utf8(bytes).unwrap()) else {
            panic!("an OK line")
        };
        assert!(matches!(
            GetPaths::parse_reply(&args),
            Err(ProtocolError::BadField { field: "paths", .. })
        ));
    });
}

#[test]
fn a_reply_of_100k_distinct_fields_decodes_in_linear_time() {
    let mut line = String::from("OK ");
    for i in 0..100_000 {
        line.push_str(&format!("{i:x}=v&"));
    }
    line.push_str("paths=1&path1=x");
    assert!(line.len() > 700_000 && line.len() < line::MAX_LINE);
    Watchdog::one("100k fields", line.into_bytes(), |bytes| {
        let Ok(Reply::Ok(args)) = Reply::parse(std::str::from_utf8(bytes).unwrap()) else {
            panic!("an OK line")
        };
        assert_eq!(args.len(), 100_002);
        for i in (0..100_000).step_by(7) {
            assert_eq!(args.get(&format!("{i:x}")), Some("v"));
        }
        assert_eq!(GetPaths::parse_reply(&args).unwrap(), ["x"]);
    });
}

#[test]
fn list_keys_counts_are_bounded() {
    let page = numbered("key_count=1000000&next_after=k", "key_", 1000);
    Watchdog::one("key_count=1e6", ok_line(&page), |bytes| {
        let args = Args::decode(&String::from_utf8_lossy(&bytes[3..]));
        assert!(ListKeys::parse_reply(&args).is_err());
    });
    let mut page = numbered("next_after=k", "key_", 1000);
    page.push("key_count", "1000");
    let args = Args::decode(&page.encode());
    assert_eq!(ListKeys::parse_reply(&args).unwrap().keys.len(), 1000);
}

#[test]
fn counts_beyond_the_fields_present_or_the_maximum_are_errors() {
    let paths = Args::decode("paths=5&path1=http://a/1.fid");
    assert!(GetPaths::parse_reply(&paths).is_err());
    let paths = numbered("", "path", 1100).with("paths", "1100");
    assert!(GetPaths::parse_reply(&paths).is_err());
    let paths = Args::decode("paths=2&path1=http://a/1.fid&path2=");
    assert_eq!(GetPaths::parse_reply(&paths).unwrap(), ["http://a/1.fid"]);
    let open = Args::decode("fid=1&dev_count=18446744073709551615&devid_1=1&path_1=http://a/1.fid");
    assert!(matches!(
        CreateOpen::parse_reply(&open),
        Err(ProtocolError::BadField {
            field: "dev_count",
            ..
        })
    ));
    let long = format!("paths={}", "9".repeat(10_000));
    let Err(ProtocolError::BadField { value, .. }) = GetPaths::parse_reply(&Args::decode(&long))
    else {
        panic!("a bad count")
    };
    assert!(value.len() <= 64, "the error quotes {} bytes", value.len());
}

/// Lines with counts and field sets chosen to hurt.
fn adversarial(rng: &mut Rng) -> Vec<Input> {
    let counts = [
        "0",
        "1",
        "2",
        "1000",
        "1001",
        "1024",
        "1025",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "-1",
        "+1",
        "1e9",
        " 1",
        "",
    ];
    let mut out = Vec::new();
    for count in counts {
        for (name, prefix) in [
            ("paths", "path"),
            ("dev_count", "path_"),
            ("key_count", "key_"),
        ] {
            let mut args = numbered("fid=1", prefix, rng.below(40));
            args.push(name, count);
            out.push((format!("{name}={count:?}"), ok_line(&args)));
        }
    }
    let big = numbered("paths=100000", "path", 20_000);
    out.push(("20k paths".into(), ok_line(&big)));
    let same: String = (0..200_000).map(|_| "a=b&").collect();
    out.push((
        "200k equal names".into(),
        format!("OK {same}\r\n").into_bytes(),
    ));
    let devids: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let info = format!(
        "OK fid=1&domain=d&class=c&key=k&length=1&devcount=1&devids={}",
        devids.join(",")
    );
    out.push(("100k devids".into(), info.into_bytes()));
    out.push(("1 MiB of &".into(), vec![b'&'; 1 << 20]));
    out.push(("1 MiB of %".into(), vec![b'%'; 1 << 20]));
    out.push(("no newline".into(), vec![b'O'; line::MAX_LINE + 10]));
    out
}

fn random_lines(rng: &mut Rng, n: usize) -> Vec<Input> {
    let alphabet = b"OKER &=%+_-.,:/\\\r\n\0\xff0123456789pathskeydv_count";
    (0..n)
        .map(|i| {
            let mut line = rng
                .pick(&[&b"OK "[..], b"ERR ", b"get_paths ", b""])
                .to_vec();
            let len = rng.below(300);
            line.extend(rng.bytes_from(alphabet, len));
            (format!("random line {i}"), line)
        })
        .collect()
}

#[test]
fn every_parser_ends_and_never_panics_on_hostile_lines() {
    let mut rng = Rng::new(0x6d6f_6769_6c65);
    let mut inputs = adversarial(&mut rng);
    inputs.extend(random_lines(&mut rng, 3000));
    let all = mogilefs_exchanges();
    for (i, ex) in all.iter().enumerate() {
        let other = &all[(i + 1) % all.len()].response;
        inputs.extend(mutations(
            &ex.scenario,
            ex.response.as_bytes(),
            other.as_bytes(),
            &mut rng,
            8,
        ));
        inputs.extend(mutations(
            &ex.scenario,
            ex.request.as_bytes(),
            ex.response.as_bytes(),
            &mut rng,
            4,
        ));
    }
    assert!(inputs.len() > 5000, "only {} inputs", inputs.len());
    Watchdog::run(inputs, check);
}
