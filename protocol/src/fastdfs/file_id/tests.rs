//! File ID parsing: real IDs from the captures parse and decode as
//! `fdfs_file_info` does; malformed and traversal-shaped IDs are refused;
//! minting and slave naming give what a storage gives.

use super::*;
use std::net::Ipv4Addr;

const NORMAL: &str = "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt";
const APPENDER: &str = "group2/M00/00/02/fwAABGsBrryEKliPAAAAAGVJxbk009.txt";
const SLAVE: &str = "group2/M00/00/02/fwAABGsBrsWAd7qBAAAAFmVJxbk796_big.txt";
const TRUNK: &str = "trunkgrp/M00/00/00/fwAADGsBrpGIefzdAAAD6MOCmu4AAAAAQAACAAAAAQA986.bin";
const EMPTY: &str = "group1/M00/00/01/fwAAAmsBrsKAWtg1AAAAAAAAAAA159.bin";
const NO_EXT: &str = "group1/M00/00/00/fwAAAmsBrKmAGkPLAAAnEGDVwFE6231234";

#[test]
fn parses_a_normal_id() {
    let id = FileId::parse(NORMAL).unwrap();
    assert_eq!(id.group(), "group1");
    assert_eq!(
        id.remote_name(),
        "M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt"
    );
    assert_eq!(id.file_name(), "fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt");
    assert_eq!((id.store_path_index(), id.sub_dirs()), (0, (0, 1)));
    assert_eq!(id.kind(), FileKind::Normal);
    assert_eq!(id.source(), Source::Ip(Ipv4Addr::new(127, 0, 0, 2)));
    assert_eq!(id.create_time(), 1_795_272_372);
    assert_eq!((id.size(), id.crc32()), (Some(22), Some(0x6549_c5b9)));
    assert_eq!(id.extension(), Some("txt"));
    assert_eq!(
        id.relative_path(),
        PathBuf::from("data/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt")
    );
    assert_eq!(id.to_string(), NORMAL);
    assert_eq!(id.file_ref(), FileRef::new("group1", id.remote_name()));
}

#[test]
fn parses_appender_slave_trunk_empty_and_extensionless_ids() {
    let appender = FileId::parse(APPENDER).unwrap();
    assert_eq!(
        (appender.kind(), appender.size(), appender.crc32()),
        (FileKind::Appender, None, None)
    );

    let slave = FileId::parse(SLAVE).unwrap();
    assert_eq!((slave.kind(), slave.size()), (FileKind::Slave, None));
    assert_eq!(slave.create_time(), 1_795_272_389);
    assert_eq!(slave.extension(), Some("txt"));

    let trunk = FileId::parse(TRUNK).unwrap();
    let slot = TrunkSlot {
        id: 1,
        offset: 2048,
        size: 1024,
    };
    assert_eq!(
        (trunk.kind(), trunk.size()),
        (FileKind::Trunk(slot), Some(1000))
    );

    assert_eq!(FileId::parse(EMPTY).unwrap().size(), Some(0));
    let bare = FileId::parse(NO_EXT).unwrap();
    assert_eq!((bare.extension(), bare.size()), (None, Some(10000)));
}

#[test]
fn remote_name_with_a_configured_group() {
    let id = FileId::from_parts("group1", "M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt").unwrap();
    assert_eq!(id.as_str(), NORMAL);
}

#[test]
fn refuses_malformed_ids() {
    let cases: &[(&str, FileIdError)] = &[
        ("group1", FileIdError::NoGroup),
        (
            "/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
            FileIdError::Group,
        ),
        (
            "group_1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
            FileIdError::Group,
        ),
        (
            "group12345678901234/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
            FileIdError::Group,
        ),
        (
            "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.tx",
            FileIdError::Length(43),
        ),
        (
            "group1/m00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
            FileIdError::StorePath,
        ),
        (
            "group1/M0g/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
            FileIdError::StorePath,
        ),
        (
            "group1/M00/0a/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
            FileIdError::SubDir,
        ),
        (
            "group1/M00/00/1/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt0",
            FileIdError::SubDir,
        ),
        (
            "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxb+451.txt",
            FileIdError::Block,
        ),
        (
            "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451txt.",
            FileIdError::Tail,
        ),
        (
            "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.t t",
            FileIdError::Tail,
        ),
        (
            "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk4511txt",
            FileIdError::Tail,
        ),
    ];
    for (id, want) in cases {
        assert_eq!(FileId::parse(id).as_ref().err(), Some(want), "{id}");
    }
}

#[test]
fn refuses_traversal_shaped_ids() {
    let cases = [
        "group1/M00/00/01/../../../../etc/passwd/xxxxxxxxxxxxxxxxxxxxxxxxxx",
        "group1/M00/../01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451/../../x.txt",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt/",
        "group1/M00/00/01//fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
        "group1//M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451_..txt",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451_a..b",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451_x/y.txt",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451_x\\y.txt",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451_x%2f.txt",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451_x\0.txt",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt-m",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451-m",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451_é.txt",
    ];
    for id in cases {
        assert!(FileId::parse(id).is_err(), "{id:?} must be refused");
    }
    let long = format!(
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451{}.txt",
        "_a".repeat(50)
    );
    assert_eq!(FileId::parse(&long).err(), Some(FileIdError::Length(144)));
}

#[test]
fn a_trunk_flag_needs_a_trunk_block() {
    // The trunk block of TRUNK removed: the size says trunk, the length says normal.
    let cut = TRUNK.replace("AAAAAQAACAAAAAQA", "");
    assert_eq!(FileId::parse(&cut).err(), Some(FileIdError::Tail));
}

#[test]
fn mints_ids_that_parse_back() {
    let name = NewName {
        source: Ipv4Addr::new(127, 0, 0, 3),
        create_time: 1_700_000_000,
        size: 4096,
        crc32: 0xdead_beef,
        appender: false,
        random: 0x1234_5678_9abc,
        ext: "jpg".into(),
    };
    let id = FileId::mint("group1", 1, (0x0A, 0xFF), &name).unwrap();
    assert!(id.remote_name().starts_with("M01/0A/FF/"));
    assert_eq!(id.remote_name().len(), 44);
    assert_eq!(
        (id.size(), id.crc32(), id.extension()),
        (Some(4096), Some(0xdead_beef), Some("jpg"))
    );
    assert_eq!(id.source(), Source::Ip(Ipv4Addr::new(127, 0, 0, 3)));
    assert_eq!(FileId::parse(id.as_str()), Ok(id));
    let bad_ext = NewName {
        ext: "j.g".into(),
        ..name
    };
    assert!(FileId::mint("group1", 0, (0, 0), &bad_ext).is_err());
}

#[test]
fn names_slaves_like_the_storage() {
    let master = FileId::parse("group2/M00/00/02/fwAABGsBrsWAd7qBAAAAFmVJxbk796.txt").unwrap();
    assert_eq!(master.slave("_big", None).unwrap().as_str(), SLAVE);
    assert_eq!(
        master.slave("_150x150", Some("jpg")).unwrap().file_name(),
        "fwAABGsBrsWAd7qBAAAAFmVJxbk796_150x150.jpg"
    );
    assert_eq!(master.slave("", None), Err(FileIdError::Tail));
    assert!(master.slave("-m", Some("")).is_err());
    assert!(master.slave("_x-m", Some("")).is_err());
    assert!(master.slave("/../x", None).is_err());
}
