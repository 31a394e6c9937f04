//! FastDFS groups and locations:
//! - a `group = "group1"` location serves URLs that carry no group
//!   (`/M00/00/00/...`, as with `url_have_group_name = false`): GET, HEAD,
//!   Range, tokens signed over the same remote name; malformed group-less
//!   paths are 400;
//! - an upload location with `group` stores every file in that group
//!   (QUERY_STORE_WITH_GROUP_ONE); without one the tracker spreads them;
//!   a group the tracker does not know → 503, nothing stored;
//! - a well-formed ID of a group the tracker does not know → 404.

use dfs_e2e::fastdfs::{bounded, mint_id, now_ts, raw_get, token_query, FdfsEnv, FdfsOptions};
use dfs_e2e::pattern;
use reqwest::header;
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn urls_without_a_group_use_the_locations_group() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&FdfsOptions {
            read_extra: "group = \"group1\"".into(),
            extra_tables: "[[location]]\nprefix = \"/t/\"\nupstream = \"fdfs\"\n\
                           group = \"group1\"\ntoken = { secret = \"k\" }\n"
                .into(),
            ..Default::default()
        })
        .await;
        let data = pattern(61, 2048);
        let id = env.upload(data.clone(), "jpg").await;
        let remote = id.remote_name().to_owned();
        assert!(remote.starts_with("M00/"), "{remote}");

        let (status, body) = env.get(&format!("/{remote}")).await;
        assert_eq!(status, 200);
        assert!(body == data);
        let head = env.http.head(env.url(&format!("/{remote}"))).send().await;
        let head = head.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()[header::CONTENT_TYPE], "image/jpeg");
        let r = env
            .http
            .get(env.url(&format!("/{remote}")))
            .header(header::RANGE, "bytes=-1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(&r.bytes().await.unwrap()[..], &data[2047..]);
        // A full ID still names the file.
        assert!(env.get_id(&id).await.1 == data);

        let query = token_query(&id, "k", now_ts());
        let (status, body) = env.get(&format!("/t/{remote}?{query}")).await;
        assert_eq!(status, 200, "token over the remote name");
        assert!(body == data);
        assert_eq!(env.get(&format!("/t/{remote}")).await.0, 403);

        let name = id.file_name();
        for target in [
            format!("/M0G/00/00/{name}"),
            format!("/M00/00/00/{}", &name[..20]),
            format!("/M00/../../{name}"),
            format!("/M00/%2e%2e/%2e%2e/{name}"),
            "/M00/../../etc/passwd".to_owned(),
            format!("/00/00/{name}"),
        ] {
            let (status, text) = raw_get(env.gateway.addr, &target).await;
            assert_eq!(status, 400, "{target}: {text}");
        }
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn uploads_go_to_the_locations_group() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&FdfsOptions {
            groups: vec![("group1".into(), 1), ("group2".into(), 1)],
            upload_extra: "group = \"group2\"".into(),
            extra_tables: "[[location]]\nprefix = \"/any/\"\nupstream = \"fdfs\"\n\
                           methods = [\"POST\"]\n\n\
                           [[location]]\nprefix = \"/nowhere/\"\nupstream = \"fdfs\"\n\
                           methods = [\"POST\"]\ngroup = \"group9\"\n"
                .into(),
            ..Default::default()
        })
        .await;
        for i in 0..4 {
            let data = pattern(62 + i, 100);
            let id = env.upload(data.clone(), "bin").await;
            assert_eq!(id.group(), "group2");
            assert!(env.cluster.storage("group2", 0).has_file(&id));
            assert!(env.get_id(&id).await.1 == data);
        }
        let mut groups = HashSet::new();
        for _ in 0..4 {
            let response = env
                .http
                .post(env.url("/any/?ext=bin"))
                .body("x")
                .send()
                .await
                .unwrap();
            let (id, _) = dfs_e2e::fastdfs::created(response).await;
            groups.insert(id.group().to_owned());
        }
        assert_eq!(groups.len(), 2, "the tracker spreads uploads: {groups:?}");

        let stored = |env: &FdfsEnv| -> u64 {
            ["group1", "group2"]
                .iter()
                .map(|g| env.cluster.storage(g, 0).stats().uploads)
                .sum()
        };
        let before = stored(&env);
        let r = env
            .http
            .post(env.url("/nowhere/?ext=bin"))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503, "a group the tracker does not know");
        assert_eq!(stored(&env), before);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_unknown_group_is_404() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let id = mint_id("group9", Ipv4Addr::new(127, 0, 0, 2), 10, (0, 0));
        assert_eq!(env.get_id(&id).await.0, 404);
        let head = env.http.head(env.file_url(&id)).send().await.unwrap();
        assert_eq!(head.status(), 404);
        assert_eq!(env.delete(&id).await, 404);
        env.stop().await;
    })
    .await;
}
