//! Config parsing and validation: the issue's example, defaults, unknown keys,
//! and errors that name the key and line.

use super::*;

const EXAMPLE: &str = r#"
[server]
listen = "127.0.0.1:8080"

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:7001", "127.0.0.2:7001"]

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]

[[location]]
prefix = "/upload/"
upstream = "mog"
domain = "imgs"
class = "photos"
methods = ["PUT", "DELETE"]
"#;

fn error_of(text: &str) -> String {
    Config::parse(text).unwrap_err().to_string()
}

#[test]
fn parses_the_documented_example() {
    let c = Config::parse(EXAMPLE).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.max_body_size, Bytes(1 << 30));
    let u = c.upstream("mog").unwrap();
    assert_eq!(u.protocol, Protocol::Mogilefs);
    assert_eq!(u.trackers.len(), 2);
    assert_eq!(u.connect_timeout, Secs(Duration::from_secs(1)));
    let upload = c.locations[1].get_ref();
    assert_eq!(upload.class.as_deref(), Some("photos"));
    assert!(upload.allows(Method::Put) && !upload.allows(Method::Get));
    assert!(c.locations[0].get_ref().allows(Method::Head));
    assert!(c.summary().contains("/upload/ -> mog [PUT,DELETE]"));
}

#[test]
fn unknown_keys_are_errors_with_a_line() {
    let text = EXAMPLE.replace("class = \"photos\"", "clas = \"photos\"");
    let e = error_of(&text);
    assert!(e.contains("clas"), "{e}");
    assert!(e.contains("line 20"), "{e}");
    let e = error_of(&EXAMPLE.replace("[server]", "[server]\nlisten_port = 1"));
    assert!(e.contains("listen_port"), "{e}");
}

#[test]
fn semantic_errors_name_key_and_line() {
    let e = error_of(&EXAMPLE.replace(
        "upstream = \"mog\"\ndomain = \"imgs\"\nclass",
        "upstream = \"nope\"\ndomain = \"imgs\"\nclass",
    ));
    assert!(e.contains("location[1].upstream"), "{e}");
    assert!(e.contains("\"nope\""), "{e}");
    assert!(e.contains("line 18"), "{e}");
    let e = error_of(&EXAMPLE.replace("prefix = \"/images/\"", "prefix = \"images\""));
    assert!(e.contains("location[0].prefix"), "{e}");
    let e = error_of(&EXAMPLE.replace(
        "domain = \"imgs\"\nmethods = [\"GET\"",
        "methods = [\"GET\"",
    ));
    assert!(e.contains("location[0].domain"), "{e}");
    let e = error_of(&EXAMPLE.replace(
        "trackers = [\"127.0.0.1:7001\", \"127.0.0.2:7001\"]",
        "trackers = []",
    ));
    assert!(e.contains("upstream[0].trackers"), "{e}");
}

#[test]
fn bad_values_are_explained() {
    let e = error_of(&EXAMPLE.replace("[server]", "[server]\nmax_body_size = \"12 parsecs\""));
    assert!(e.contains("max_body_size") || e.contains("parsecs"), "{e}");
    let e = error_of(&EXAMPLE.replace("protocol = \"mogilefs\"", "protocol = \"nfs\""));
    assert!(e.contains("nfs"), "{e}");
    let e = error_of(&EXAMPLE.replace("methods = [\"PUT\", \"DELETE\"]", "methods = [\"PATCH\"]"));
    assert!(e.contains("PATCH"), "{e}");
}

#[test]
fn tracker_addresses_take_default_ports() {
    let a = resolve_tracker("127.0.0.1", Protocol::Mogilefs).unwrap();
    assert_eq!(a[0].port(), 7001);
    let a = resolve_tracker("127.0.0.1", Protocol::Fastdfs).unwrap();
    assert_eq!(a[0].port(), 22122);
    let a = resolve_tracker("localhost:7002", Protocol::Mogilefs).unwrap();
    assert_eq!(a[0].port(), 7002);
    assert!(resolve_tracker("127.0.0.1:notaport", Protocol::Mogilefs).is_err());
}

#[test]
fn workers_out_of_range_is_an_error_with_its_line() {
    let text = EXAMPLE.replace("[server]\n", "[server]\n# workers = 2\nworkers = 0\n");
    let e = error_of(&text);
    assert!(e.contains("server.workers"), "{e}");
    assert!(e.contains("line 4"), "{e}");
    let c = Config::parse(&EXAMPLE.replace("[server]\n", "[server]\nworkers = 3\n")).unwrap();
    assert_eq!(c.server.workers, 3);
}

/// `EXAMPLE` with `map` (TOML lines) in its upstream.
fn with_storage_map(map: &str) -> String {
    EXAMPLE.replace(
        "trackers = [\"127.0.0.1:7001\", \"127.0.0.2:7001\"]",
        &format!("trackers = [\"127.0.0.1:7001\", \"127.0.0.2:7001\"]\n{map}"),
    )
}

#[test]
fn storage_maps_parse_in_both_table_forms() {
    let inline = with_storage_map(
        r#"storage_map = { "172.17.0.0/16" = "127.0.0.0/16", "10.0.0.5:7500" = "127.0.0.9:7501" }"#,
    );
    let c = Config::parse(&inline).unwrap();
    let map = c
        .upstream("mog")
        .unwrap()
        .address_map(&c.listeners())
        .unwrap();
    let dial = |a: &str| map.lookup(a.parse().unwrap()).to_string();
    assert_eq!(dial("172.17.0.3:7500"), "127.0.0.3:7500");
    assert_eq!(dial("10.0.0.5:7500"), "127.0.0.9:7501");
    let table = EXAMPLE.replace(
        "\n[[location]]\nprefix = \"/images/\"",
        "\n[upstream.storage_map]\n\"172.17.0.2\" = \"127.0.0.2\"\n\n[[location]]\nprefix = \"/images/\"",
    );
    let c = Config::parse(&table).unwrap();
    assert_eq!(c.upstream("mog").unwrap().storage_map.len(), 1);
}

#[test]
fn malformed_storage_map_entries_name_the_key() {
    let cases = [
        (
            r#"storage_map = { "docker0" = "127.0.0.1" }"#,
            "not an ip:port",
        ),
        (
            r#"storage_map = { "172.17.0.0/16" = "127.0.0.0/24" }"#,
            "same length",
        ),
        (
            r#"storage_map = { "172.17.0.2" = "127.0.0.2:80" }"#,
            "of one form",
        ),
        (r#"storage_map = { "172.17.0.2" = 5 }"#, "storage_map"),
    ];
    for (map, want) in cases {
        let e = error_of(&with_storage_map(map));
        assert!(e.contains("upstream[0].storage_map"), "{map}: {e}");
        assert!(e.contains(want), "{map}: {e}");
        assert!(e.contains("line 9"), "{map}: {e}");
    }
}

#[test]
fn storage_map_targets_the_gateway_never_dials_are_errors() {
    let cases = [
        (
            r#"storage_map = { "172.17.0.2" = "0.0.0.0" }"#,
            "never dials",
        ),
        (
            r#"storage_map = { "172.17.0.0/16" = "224.0.0.0/16" }"#,
            "multicast",
        ),
        (
            r#"storage_map = { "172.17.0.2:7500" = "127.0.0.1:8080" }"#,
            "own listener",
        ),
    ];
    for (map, want) in cases {
        let e = error_of(&with_storage_map(map));
        assert!(e.contains("upstream[0].storage_map"), "{map}: {e}");
        assert!(e.contains(want), "{map}: {e}");
    }
}
