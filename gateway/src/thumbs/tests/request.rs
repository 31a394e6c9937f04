//! The request side:
//! - slave names: `_<W>x<H>` only at the end of the file name, master path
//!   rebuilt; names that merely contain `_` or look almost like a size are
//!   plain names;
//! - query parsing: keys, bad values, duplicates, no thumbnail keys at all;
//!   the access layer's `expires`/`sig` are not thumbnail keys, an older
//!   URL's `sig` is the thumbnail signature only without `expires`;
//! - `[location.thumbnails]` parsing and its checks;
//! - resolving: listed sizes, presets, refusals with a message (400), free
//!   sizes only with a valid signature in its one spelling (403 otherwise);
//! - `Accept` negotiation and `Vary`;
//! - ETags follow the source's validators and the parameters.

use crate::config::thumbnails::Thumbnails;
use crate::thumbs::request::{derived_key, sign};
use crate::thumbs::{
    negotiate, parse_query, parse_slave_name, resolve_query, resolve_slave, thumb_etag, Fit,
    FormatChoice, Output, ParamError, Resolved, SourceValidators,
};
use axum::http::StatusCode;
use std::time::{Duration, SystemTime};

const MASTER: &str = "group1/M00/00/00/rBEAAl33pQaAWNQNAAHYvQQn-YE374.jpg";

#[test]
fn slave_names_split_into_master_and_size() {
    let s =
        parse_slave_name("group1/M00/00/00/rBEAAl33pQaAWNQNAAHYvQQn-YE374_150x150.jpg").unwrap();
    assert_eq!(s.master, MASTER);
    assert_eq!(
        (s.prefix.as_str(), s.width, s.height),
        ("_150x150", 150, 150)
    );
    let s = parse_slave_name("photos/my_cat_80x60.png").unwrap();
    assert_eq!(
        (s.master.as_str(), s.width, s.height),
        ("photos/my_cat.png", 80, 60)
    );
    let s = parse_slave_name("a.b/c_10x20").unwrap();
    assert_eq!(s.master, "a.b/c");
    for plain in [
        "my_photo.jpg",
        "photo.jpg",
        "_150x150.jpg",
        "p_0150x150.jpg",
        "p_150x150x2.jpg",
        "p_150X150.jpg",
        "p_150x.jpg",
        "p_x150.jpg",
        "p_0x150.jpg",
        "p_99999x1.jpg",
        "p_+1x1.jpg",
        "dir_150x150/a.jpg",
        "p_150x150_.jpg",
    ] {
        assert_eq!(parse_slave_name(plain), None, "{plain}");
    }
}

#[test]
fn query_keys_parse_and_bad_ones_are_refused() {
    assert_eq!(parse_query("").unwrap(), None);
    assert_eq!(parse_query("token=abc&ts=1").unwrap(), None);
    let q = parse_query("w=150&h=100&fit=cover&format=webp&token=x")
        .unwrap()
        .unwrap();
    assert_eq!(
        (q.width, q.height, q.fit),
        (Some(150), Some(100), Some(Fit::Cover))
    );
    assert_eq!(q.format, Some(FormatChoice::Webp));
    let q = parse_query("preset=small").unwrap().unwrap();
    assert_eq!(q.preset.as_deref(), Some("small"));
    for bad in [
        "w=0",
        "w=abc",
        "w=150&w=100",
        "fit=zoom",
        "format=bmp",
        "q=0",
        "q=101",
        "enlarge=2",
        "preset=",
    ] {
        let err = parse_query(bad).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(matches!(err, ParamError::Invalid { .. }), "{bad}: {err}");
    }
}

#[test]
fn access_signature_parameters_are_not_thumbnail_ones() {
    let access = format!("expires=1700000000&sig={}", "0a".repeat(32));
    assert_eq!(parse_query(&access).unwrap(), None, "a plain signed read");
    assert_eq!(parse_query("sig=abc").unwrap(), None);
    assert_eq!(parse_query("thumb_sig=abc").unwrap(), None);
    let listed = parse_query(&format!("w=150&h=150&{access}"))
        .unwrap()
        .unwrap();
    assert_eq!((listed.width, listed.sig), (Some(150), None));
    let both = parse_query(&format!("w=640&h=480&thumb_sig=tsig&{access}"))
        .unwrap()
        .unwrap();
    assert_eq!(both.sig.as_deref(), Some("tsig"));
    // An older free-size URL: `sig` and no `expires`.
    let older = parse_query("w=640&h=480&sig=tsig").unwrap().unwrap();
    assert_eq!(older.sig.as_deref(), Some("tsig"));
    let newer_wins = parse_query("w=640&thumb_sig=new&sig=old").unwrap().unwrap();
    assert_eq!(newer_wins.sig.as_deref(), Some("new"));
    for twice in ["w=1&sig=a&sig=b", "w=1&thumb_sig=a&thumb_sig=b"] {
        let err = parse_query(twice).unwrap_err();
        assert!(matches!(err, ParamError::Invalid { .. }), "{twice}: {err}");
    }
}

fn config(extra: &str) -> Thumbnails {
    let text = format!(
        "sizes = [\"150x150\", \"300x200\"]\n\
         presets.small = {{ width = 150, height = 150, fit = \"cover\", format = \"auto\" }}\n{extra}"
    );
    toml::from_str(&text).unwrap()
}

#[test]
fn config_defaults_and_checks() {
    let c = config("");
    assert!(c.enabled && c.slave_names && !c.free_sizes && !c.store);
    assert_eq!((c.quality, c.max_pixels), (80, 50_000_000));
    assert_eq!(c.limits().time_budget, Duration::from_secs(10));
    assert_eq!(c.limits().max_source_bytes, 20 << 20);
    for (bad, says) in [
        ("sizes = [\"150\"]", "not WxH"),
        ("sizes = [\"0x10\"]", "not WxH"),
        ("quality = 0", "not between 1 and 100"),
        ("free_sizes = true", "key of at least 16 bytes"),
        (
            "free_sizes = true\nkey = \"short\"",
            "key of at least 16 bytes",
        ),
        ("time_budget = \"0s\"", "time_budget"),
        (
            "formats = [\"source\"]\npresets.x = { width = 1, format = \"webp\" }",
            "not in thumbnails.formats",
        ),
        ("presets.x = { fit = \"cover\" }", "not both 0"),
        ("colour = true", "unknown field"),
    ] {
        let err = toml::from_str::<Thumbnails>(bad).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn listed_sizes_and_presets_resolve_others_are_400() {
    let c = config("");
    let r = resolve_query(
        &c,
        "/p/a.jpg",
        &parse_query("w=300&h=200").unwrap().unwrap(),
    )
    .unwrap();
    assert_eq!(
        (r.width, r.height, r.fit, r.quality),
        (300, 200, Fit::Contain, 80)
    );
    let r = resolve_query(
        &c,
        "/p/a.jpg",
        &parse_query("preset=small").unwrap().unwrap(),
    )
    .unwrap();
    assert_eq!(
        (r.width, r.fit, r.format),
        (150, Fit::Cover, FormatChoice::Auto)
    );
    for (query, says) in [
        (
            "w=151&h=150",
            "151x150 is not offered here (sizes: 150x150, 300x200)",
        ),
        ("preset=huge", "unknown thumbnail preset \"huge\""),
        ("preset=small&w=10", "cannot be combined"),
        ("w=150&h=150&q=95", "q needs free_sizes"),
        ("w=150&h=150&enlarge=1", "enlarge is not allowed"),
        ("fit=cover", "needs w and h"),
    ] {
        let err = resolve_query(&c, "/p/a.jpg", &parse_query(query).unwrap().unwrap()).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(err.to_string().contains(says), "{query}: {err}");
    }
    let slave = parse_slave_name("x/a_150x150.jpg").unwrap();
    assert_eq!(resolve_slave(&c, &slave).unwrap().width, 150);
    let slave = parse_slave_name("x/a_151x150.jpg").unwrap();
    assert!(resolve_slave(&c, &slave)
        .unwrap_err()
        .to_string()
        .contains("151x150"));
    let off = config("slave_names = false");
    assert_eq!(
        resolve_slave(&off, &parse_slave_name("a_150x150.jpg").unwrap()),
        Err(ParamError::Disabled)
    );
}

#[test]
fn free_sizes_need_a_valid_signature() {
    let key = "0123456789abcdef0123";
    let c = config(&format!("free_sizes = true\nkey = \"{key}\""));
    let unsigned = parse_query("w=640&h=480&fit=fill&q=70").unwrap().unwrap();
    assert_eq!(
        resolve_query(&c, "/p/a.jpg", &unsigned),
        Err(ParamError::BadSignature)
    );
    assert_eq!(ParamError::BadSignature.status(), StatusCode::FORBIDDEN);
    // Sign what the request resolves to, as an application would.
    let r = Resolved {
        width: 640,
        height: 480,
        fit: Fit::Fill,
        format: FormatChoice::Source,
        quality: 70,
        enlarge: false,
    };
    let sig = sign(key.as_bytes(), "/p/a.jpg", &r);
    let signed = parse_query(&format!("w=640&h=480&fit=fill&q=70&thumb_sig={sig}"))
        .unwrap()
        .unwrap();
    assert_eq!(resolve_query(&c, "/p/a.jpg", &signed).unwrap(), r);
    let older = parse_query(&format!("w=640&h=480&fit=fill&q=70&sig={sig}"))
        .unwrap()
        .unwrap();
    assert_eq!(resolve_query(&c, "/p/a.jpg", &older).unwrap(), r);
    // One spelling: no padding, no other value of the last character's
    // unused bits.
    assert_eq!(sig.len(), 43);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = ALPHABET.iter().position(|&c| c == sig.as_bytes()[42]);
    let sibling = char::from(ALPHABET[last.expect("URL-safe alphabet") ^ 1]);
    for other in [format!("{sig}="), format!("{}{sibling}", &sig[..42])] {
        let q = parse_query(&format!("w=640&h=480&fit=fill&q=70&thumb_sig={other}"))
            .unwrap()
            .unwrap();
        assert_eq!(
            resolve_query(&c, "/p/a.jpg", &q),
            Err(ParamError::BadSignature),
            "{other}"
        );
    }
    // The same signature on another path, or other parameters, fails.
    assert_eq!(
        resolve_query(&c, "/p/b.jpg", &signed),
        Err(ParamError::BadSignature)
    );
    let tampered = parse_query(&format!("w=641&h=480&fit=fill&q=70&sig={sig}"))
        .unwrap()
        .unwrap();
    assert_eq!(
        resolve_query(&c, "/p/a.jpg", &tampered),
        Err(ParamError::BadSignature)
    );
    // Listed sizes need no signature even with free sizes on.
    let listed = parse_query("w=150&h=150").unwrap().unwrap();
    assert!(resolve_query(&c, "/p/a.jpg", &listed).is_ok());
}

#[test]
fn accept_decides_auto_and_vary() {
    let webp = Some("image/avif,image/webp,image/apng,*/*;q=0.8");
    let n = negotiate(FormatChoice::Auto, webp);
    assert_eq!((n.output, n.vary_accept), (Output::Webp, true));
    for other in [Some("*/*"), Some("image/webp;q=0"), Some("image/png"), None] {
        let n = negotiate(FormatChoice::Auto, other);
        assert_eq!(
            (n.output, n.vary_accept),
            (Output::Source, true),
            "{other:?}"
        );
    }
    let n = negotiate(FormatChoice::Webp, None);
    assert_eq!((n.output, n.vary_accept), (Output::Webp, false));
    let n = negotiate(FormatChoice::Source, webp);
    assert_eq!((n.output, n.vary_accept), (Output::Source, false));
}

#[test]
fn etags_follow_source_validators_and_parameters() {
    let c = config("");
    let r = resolve_query(
        &c,
        "/p/a.jpg",
        &parse_query("preset=small").unwrap().unwrap(),
    )
    .unwrap();
    let source = SourceValidators {
        etag: Some("\"abc\"".into()),
        last_modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        length: Some(1234),
    };
    let (webp, jpeg) = (r.params(Output::Webp), r.params(Output::Source));
    let tag = thumb_etag(&source, &webp);
    assert!(
        tag.starts_with("\"t") && tag.ends_with('"') && tag.len() == 27,
        "{tag}"
    );
    assert_eq!(tag, thumb_etag(&source.clone(), &webp));
    assert_ne!(tag, thumb_etag(&source, &jpeg));
    let mut changed = source.clone();
    changed.etag = Some("\"abd\"".into());
    assert_ne!(tag, thumb_etag(&changed, &webp));
    let mut changed = source.clone();
    changed.length = Some(1235);
    assert_ne!(tag, thumb_etag(&changed, &webp));
    assert_eq!(
        derived_key("photos/cat.jpg", "42", &webp),
        "photos/cat.jpg@42-150x150-cover-q80-webp"
    );
}
