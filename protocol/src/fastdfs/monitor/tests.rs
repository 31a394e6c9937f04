//! Monitoring commands against captures of a real FastDFS 6.16 tracker:
//! - group records (91, 90) and storage records (92) parse to the values
//!   the capture annotates, and encode back to the same bytes;
//! - requests (90, 91, 92 with and without a storage id) encode to the
//!   captured bytes and parse back;
//! - error replies carry ENOENT and no body;
//! - hostile bodies (cut, padded, garbage) are errors, never panics.

use super::*;
use crate::fastdfs::{status, Header};

/// The packets of a capture file, in order: (sent by the client, bytes).
fn packets(text: &str) -> Vec<(bool, Vec<u8>)> {
    let mut out: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut in_hex = false;
    for line in text.lines() {
        if let Some(dir) = [">>> ", "<<< "].iter().position(|p| line.starts_with(p)) {
            out.push((dir == 0, Vec::new()));
            in_hex = false;
        } else if line.starts_with("full hex") {
            in_hex = true;
        } else if in_hex {
            match line.trim().split_once(": ") {
                Some((offset, hex)) if offset.len() == 4 => {
                    let last = &mut out.last_mut().expect("a packet").1;
                    let bytes = (0..hex.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"));
                    last.extend(bytes);
                }
                _ => in_hex = false,
            }
        }
    }
    out
}

macro_rules! capture {
    ($name:literal) => {
        packets(include_str!(concat!(
            "../../../tests/vectors/fastdfs/",
            $name
        )))
    };
}

/// The request and the reply (header, body) of a one-exchange capture.
fn exchange(p: &[(bool, Vec<u8>)], at: usize) -> (&[u8], Header, &[u8]) {
    let (sent, request) = &p[2 * at];
    let (got, reply) = &p[2 * at + 1];
    assert!(*sent && !*got);
    let (header, body) = Header::split(reply).expect("reply header");
    (request, header, body)
}

#[test]
fn all_groups_parse_and_round_trip() {
    let p = capture!("24a-tracker-SERVER_LIST_ALL_GROUPS.txt");
    let (request, header, body) = exchange(&p, 0);
    assert_eq!(ListAllGroups.encode_request().as_ref(), request);
    assert!(header.is_ok());
    let groups = ListAllGroups::parse_reply(body).unwrap();
    assert_eq!(groups.0.len(), 2);
    let g = &groups.0[0];
    assert_eq!(g.name, "group1");
    assert_eq!(
        (g.total_mb, g.free_mb, g.reserved_mb),
        (258019, 80211, 2580)
    );
    assert_eq!((g.storage_count, g.storage_port), (2, 23000));
    assert_eq!((g.readable_server_count, g.writable_server_count), (2, 2));
    assert_eq!(g.current_trunk_file_id, -1);
    assert_eq!(groups.0[1].name, "group2");
    assert_eq!(groups.0[1].storage_count, 1);
    let mut again = BytesMut::new();
    groups.encode(&mut again);
    assert_eq!(again.as_ref(), body);
}

#[test]
fn storages_parse_and_round_trip() {
    let p = capture!("25b-tracker-SERVER_LIST_STORAGE.txt");
    let (request, _, body) = exchange(&p, 0);
    let list = ListStorage {
        group: "group1".into(),
        storage_id: None,
    };
    assert_eq!(list.encode_request().as_ref(), request);
    let storages = ListStorage::parse_reply(body).unwrap().0;
    assert_eq!(storages.len(), 2);
    let s = &storages[0];
    assert_eq!((s.status, storage_status_name(s.status)), (7, "ACTIVE"));
    assert_eq!(s.rw_mode, 6);
    assert_eq!(
        (s.id.as_str(), s.ip_addr.as_str()),
        ("127.0.0.2", "127.0.0.2")
    );
    assert_eq!(
        (s.src_id.as_str(), s.version.as_str()),
        ("127.0.0.3", "6.16.1")
    );
    assert_eq!((s.join_time, s.up_time), (1796114306, 1796116570));
    assert_eq!(
        (s.total_mb, s.free_mb, s.reserved_mb),
        (258019, 72377, 2580)
    );
    assert_eq!((s.upload_priority, s.storage_port), (10, 23000));
    assert_eq!(s.counters.uploads(), (58, 58));
    assert_eq!(s.counters.deletes(), (2, 2));
    assert_eq!(s.counters.downloads(), (12, 12));
    assert_eq!(s.counters.upload_bytes(), (5647680, 5647680));
    assert_eq!(s.counters.download_bytes(), (5463360, 5463360));
    assert_eq!(
        (s.last_source_update, s.last_sync_update),
        (1796114415, 1796114415)
    );
    assert_eq!(s.last_synced_timestamp, 1796114414);
    assert_eq!(s.last_heart_beat_time, 1796116709);
    assert!(!s.if_trunk_server);
    assert_eq!(storages[1].src_id, "");
    let mut again = BytesMut::new();
    StorageStats(storages).encode(&mut again);
    assert_eq!(again.as_ref(), body);
}

#[test]
fn every_storage_capture_parses() {
    for p in [
        capture!("24b-tracker-SERVER_LIST_STORAGE.txt"),
        capture!("24c-tracker-SERVER_LIST_STORAGE.txt"),
        capture!("25c-tracker-SERVER_LIST_STORAGE.txt"),
        capture!("26b-tracker-SERVER_LIST_STORAGE.txt"),
    ] {
        let (_, header, body) = exchange(&p, 0);
        assert!(header.is_ok());
        let storages = ListStorage::parse_reply(body).unwrap().0;
        assert_eq!(storages.len(), body.len() / STORAGE_STAT_LEN);
        assert!(storages
            .iter()
            .all(|s| s.status == 7 && s.storage_port == 23000));
    }
}

#[test]
fn one_group_and_filtered_storage_requests() {
    let p = capture!("27a-tracker-SERVER_LIST_ONE_GROUP.txt");
    let (request, _, body) = exchange(&p, 0);
    let one = ListOneGroup {
        group: "group1".into(),
    };
    assert_eq!(one.encode_request().as_ref(), request);
    assert_eq!(ListOneGroup::parse_request(request).unwrap(), one);
    assert_eq!(ListOneGroup::parse_reply(body).unwrap().name, "group1");

    let p = capture!("27d-tracker-SERVER_LIST_STORAGE.txt");
    let (request, _, body) = exchange(&p, 0);
    let filtered = ListStorage {
        group: "group1".into(),
        storage_id: Some("127.0.0.3".into()),
    };
    assert_eq!(filtered.encode_request().as_ref(), request);
    assert_eq!(ListStorage::parse_request(request).unwrap(), filtered);
    let only = ListStorage::parse_reply(body).unwrap().0;
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].id, "127.0.0.3");
}

#[test]
fn unknown_group_or_storage_is_enoent_without_body() {
    for p in [
        capture!("27c-tracker-SERVER_LIST_ONE_GROUP.txt"),
        capture!("27e-tracker-SERVER_LIST_STORAGE.txt"),
        capture!("27f-tracker-SERVER_LIST_STORAGE.txt"),
    ] {
        let (_, header, body) = exchange(&p, 0);
        assert_eq!(header.status, status::ENOENT);
        assert!(body.is_empty());
    }
}

#[test]
fn hostile_bodies_are_errors() {
    let p = capture!("25b-tracker-SERVER_LIST_STORAGE.txt");
    let (_, _, body) = exchange(&p, 0);
    for cut in [1, 486, 488, body.len() - 1] {
        assert!(StorageStats::parse(&body[..cut]).is_err(), "cut at {cut}");
    }
    let mut padded = body.to_vec();
    padded.push(0);
    assert!(StorageStats::parse(&padded).is_err());
    let garbage = vec![0xff; STORAGE_STAT_LEN * 3];
    assert!(StorageStats::parse(&garbage).is_err(), "non-ASCII id");
    assert!(GroupStats::parse(&[0xff; GROUP_STAT_LEN - 1]).is_err());
    assert!(GroupStats::parse(&[b'g'; GROUP_STAT_LEN * 2]).is_ok());
    assert_eq!(GroupStats::parse(&[]).unwrap().0.len(), 0);
    assert!(GroupStat::parse(&[0; GROUP_STAT_LEN * 2]).is_err());
    let long_id = [vec![b'g'; 16], vec![b'1'; 16]].concat();
    let header = Header::request(cmd::SERVER_LIST_STORAGE, long_id.len() as u64, 0);
    assert!(ListStorage::parse_body(&header, &long_id).is_err());
}

#[test]
fn ipv6_records_are_recognised_by_length() {
    let v6 = StorageStat {
        ip_addr: "::1".into(),
        ..StorageStat::default()
    };
    let mut body = BytesMut::new();
    v6.write(&mut body, IPV6_ADDR_LEN);
    assert_eq!(body.len(), STORAGE_STAT_V6_LEN);
    let parsed = StorageStats::parse(&body).unwrap().0;
    assert_eq!(parsed[0].ip_addr, "::1");
}
