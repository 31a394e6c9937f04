//! Bookkeeping rules of the metadata, without any network.

use super::*;
use crate::mogilefs::topology::Usage;
use std::net::SocketAddr;

/// Domain `imgs` (classes default and `one` with mindevcount 1) on 2 hosts
/// with 2 devices each, all probed up.
fn meta() -> Meta {
    let mut meta = Meta::default();
    meta.create_domain("imgs").unwrap();
    meta.set_class("imgs", "one", 1, false).unwrap();
    for (port, devids) in [(7500, [1, 2]), (7501, [3, 4])] {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        meta.topology.add_host(addr, &devids);
    }
    let usage = Usage {
        total_mb: 1000,
        used_mb: 0,
    };
    for devid in 1..=4 {
        meta.topology.observe(devid, Some(usage), 0);
    }
    meta
}

fn store(meta: &mut Meta, key: &str, class: Option<&str>) -> (u64, u64) {
    let (fid, devids) = meta.open("imgs", class, None, 1, None).unwrap();
    let temp = meta.take_tempfile(fid).unwrap();
    meta.commit(fid, temp, key, 10, devids[0]);
    (fid, devids[0])
}

#[test]
fn fids_count_up_and_explicit_fids_move_the_sequence() {
    let mut meta = meta();
    assert_eq!(meta.open("imgs", None, None, 1, None).unwrap().0, 1);
    assert_eq!(meta.open("imgs", None, Some(100), 1, None).unwrap().0, 100);
    assert_eq!(
        meta.open("imgs", None, Some(100), 1, None),
        Err("fid_in_use")
    );
    assert_eq!(meta.open("imgs", None, None, 3, None).unwrap().1.len(), 3);
    assert_eq!(meta.open("imgs", None, None, 1, None).unwrap().0, 102);
    assert_eq!(
        meta.open("imgs", Some("nope"), None, 1, None),
        Err("unreg_class")
    );
}

#[test]
fn size_hints_beyond_free_space_find_no_device() {
    let mut meta = meta();
    let huge = Some(1_000_000_000_000_000);
    assert_eq!(meta.open("imgs", None, None, 1, huge), Err("no_devices"));
    assert!(meta.open("imgs", None, None, 1, Some(1000)).is_ok());
}

#[test]
fn readonly_devices_get_no_new_files() {
    let mut meta = meta();
    for device in meta.topology.devices.values_mut() {
        device.state = DeviceState::ReadOnly;
    }
    assert_eq!(meta.open("imgs", None, None, 3, None), Err("no_devices"));
}

#[test]
fn commit_replaces_the_previous_file_of_a_key() {
    let mut meta = meta();
    let (old, devid) = store(&mut meta, "k", None);
    let (new, _) = meta.open("imgs", None, None, 1, None).unwrap();
    let temp = meta.take_tempfile(new).unwrap();
    let replaced = meta.commit(new, temp, "k", 5, 3);
    assert_eq!(replaced, vec![meta.topology.url(devid, old).unwrap()]);
    assert_eq!(meta.lookup("imgs", "k").unwrap().0, new);
    assert!(meta.take_tempfile(new).is_none());
}

#[test]
fn replication_goes_to_another_host_until_mindevcount() {
    let mut meta = meta();
    let (fid, devid) = store(&mut meta, "k", None);
    let CopyPlan::Copy { devid: dst, .. } = meta.plan_copy(fid) else {
        panic!("expected a copy")
    };
    let host = |d: u64| meta.topology.devices[&d].hostid;
    assert_ne!(host(dst), host(devid));
    assert!(meta.add_replica(fid, dst));
    assert_eq!(meta.plan_copy(fid), CopyPlan::Done);
    let (one, _) = store(&mut meta, "single", Some("one"));
    assert_eq!(meta.plan_copy(one), CopyPlan::Done);
}

#[test]
fn replication_waits_when_no_other_host_is_up() {
    let mut meta = meta();
    let (fid, devid) = store(&mut meta, "k", None);
    let other_host: Vec<u64> = if devid <= 2 { vec![3, 4] } else { vec![1, 2] };
    for d in other_host {
        meta.topology.observe(d, None, 1);
    }
    assert_eq!(meta.plan_copy(fid), CopyPlan::Wait);
    assert_eq!(meta.under_replicated(), vec![fid]);
}

#[test]
fn keys_list_in_byte_order_under_a_prefix() {
    let mut meta = meta();
    for key in ["b/2", "a/1", "b/1", "b/10", "c"] {
        store(&mut meta, key, None);
    }
    assert_eq!(
        meta.list_keys("imgs", "b/", None, 10),
        ["b/1", "b/10", "b/2"]
    );
    assert_eq!(meta.list_keys("imgs", "b/", Some("b/1"), 1), ["b/10"]);
    assert_eq!(meta.list_keys("imgs", "", None, 2), ["a/1", "b/1"]);
    assert!(meta.list_keys("imgs", "z", None, 10).is_empty());
}

#[test]
fn rename_refuses_to_overwrite() {
    let mut meta = meta();
    store(&mut meta, "a", None);
    store(&mut meta, "b", None);
    assert_eq!(meta.rename("imgs", "a", "b"), Err("key_exists"));
    assert_eq!(meta.rename("imgs", "x", "y"), Err("unknown_key"));
    assert_eq!(meta.rename("imgs", "a", "c"), Ok(()));
    assert_eq!(meta.lookup("imgs", "c").unwrap().1.key, "c");
}

#[test]
fn classes_follow_create_and_update_rules() {
    let mut meta = meta();
    assert_eq!(meta.set_class("imgs", "one", 2, false), Err("class_exists"));
    assert_eq!(
        meta.set_class("imgs", "new", 2, true),
        Err("class_not_found")
    );
    assert_eq!(
        meta.set_class("nope", "x", 2, false),
        Err("domain_not_found")
    );
    assert_eq!(meta.set_class("imgs", "default", 3, false), Ok(()));
    assert_eq!(meta.create_domain("imgs"), Err("domain_exists"));
}
