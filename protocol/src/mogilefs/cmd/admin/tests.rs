//! Overview commands against captures of a real mogilefsd 2.73:
//! - `get_hosts`, `get_devices`, `get_domains` replies parse to the captured
//!   values, whatever the field order;
//! - requests encode as the captured lines (with and without a filter);
//! - what devcluster would answer (`reply_args`) parses back the same;
//! - counts larger than the fields present, bad numbers and missing ids are
//!   bounded or refused, never a panic or a huge loop.

use super::*;
use crate::mogilefs::{Reply, Request};

/// The (request, reply fields) pairs of a capture file.
fn exchanges(text: &str) -> Vec<(String, Args)> {
    let mut out = Vec::new();
    let mut request = None;
    for line in text.lines() {
        if let Some(sent) = line.strip_prefix("C> ") {
            request = Some(sent.replace("\\r\\n", ""));
        } else if let Some(got) = line.strip_prefix("S< ") {
            let reply = Reply::parse(&got.replace("\\r\\n", "\r\n")).expect("reply line");
            let Reply::Ok(args) = reply else {
                panic!("not OK")
            };
            out.push((request.take().expect("a request"), args));
        }
    }
    out
}

macro_rules! capture {
    ($name:literal) => {
        exchanges(include_str!(concat!(
            "../../../../tests/vectors/mogilefs/tracker/",
            $name
        )))
    };
}

fn line(request: Request) -> String {
    request.encode().trim_end().to_owned()
}

#[test]
fn hosts_from_capture() {
    let ex = capture!("03-get_hosts.txt");
    assert_eq!(line(GetHosts::default().request()), ex[0].0.trim_end());
    let hosts = GetHosts::parse_reply(&ex[0].1).unwrap();
    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts[0].hostid, 1);
    assert_eq!(hosts[0].hostname, "host1");
    assert_eq!(hosts[0].hostip, "127.0.0.2");
    assert_eq!(hosts[0].http_port, Some(7500));
    assert_eq!(hosts[0].http_get_port, None);
    assert_eq!(hosts[1].status, "alive");
    assert_eq!(line(GetHosts { hostid: Some(1) }.request()), ex[1].0);
    assert_eq!(GetHosts::parse_reply(&ex[1].1).unwrap(), hosts[..1]);
    assert_eq!(
        GetHosts::parse_reply(&GetHosts::reply_args(&hosts)).unwrap(),
        hosts
    );
}

#[test]
fn devices_from_capture() {
    let ex = capture!("04-get_devices.txt");
    let devices = GetDevices::parse_reply(&ex[0].1).unwrap();
    assert_eq!(devices.len(), 4);
    let d = &devices[0];
    assert_eq!((d.devid, d.hostid), (3, 2));
    assert_eq!(
        (d.status.as_str(), d.observed_state.as_str()),
        ("alive", "writeable")
    );
    assert_eq!(
        (d.mb_total, d.mb_used, d.mb_free),
        (Some(93052), Some(13528), Some(79524))
    );
    assert_eq!(
        (d.mb_asof, d.utilization, d.weight),
        (None, None, Some(100))
    );
    assert!(d.reject_bad_md5);
    assert_eq!(line(GetDevices { devid: Some(3) }.request()), ex[1].0);
    assert_eq!(GetDevices::parse_reply(&ex[1].1).unwrap(), devices[..1]);
    let again = GetDevices::parse_reply(&GetDevices::reply_args(&devices)).unwrap();
    assert_eq!(again, devices);
}

#[test]
fn domains_from_capture() {
    let ex = capture!("02-get_domains.txt");
    let domains = GetDomains::parse_reply(&ex[0].1).unwrap();
    assert_eq!(domains.len(), 1);
    assert_eq!(domains[0].name, "imgs");
    let classes = &domains[0].classes;
    assert_eq!(classes.len(), 2);
    assert_eq!(classes[0].name, "normal");
    assert_eq!(classes[1].name, "default");
    assert!(classes.iter().all(|c| c.mindevcount == 2));
    assert_eq!(classes[0].replpolicy, "MultipleHosts()");
    assert_eq!(classes[0].hashtype, "NONE");
    let again = GetDomains::parse_reply(&GetDomains::reply_args(&domains)).unwrap();
    assert_eq!(again, domains);
}

#[test]
fn hostile_replies_are_bounded_or_refused() {
    // A huge count with few fields: cut to the fields present, then the
    // missing id is an error, found at once.
    let huge = Args::decode("hosts=18446744073709551615&host1_hostid=1");
    assert!(GetHosts::parse_reply(&huge).is_err());
    let one = Args::decode("hosts=99999999999&host1_hostid=1");
    assert!(GetHosts::parse_reply(&one).is_err());
    assert!(GetHosts::parse_reply(&Args::decode("hosts=x")).is_err());
    assert!(GetHosts::parse_reply(&Args::decode("")).is_err());
    assert_eq!(GetHosts::parse_reply(&Args::decode("hosts=0")).unwrap(), []);
    let bad_port = Args::decode("hosts=1&host1_hostid=1&host1_http_port=99999");
    assert!(GetHosts::parse_reply(&bad_port).is_err());
    let bad_size = Args::decode("devices=1&dev1_devid=1&dev1_hostid=1&dev1_mb_free=-1");
    assert!(GetDevices::parse_reply(&bad_size).is_err());
    let classes = Args::decode("domains=1&domain1=d&domain1classes=4000000000");
    assert!(GetDomains::parse_reply(&classes).is_err());
    let no_name = Args::decode("domains=1&domain1classes=0");
    assert!(GetDomains::parse_reply(&no_name).is_err());
}
