//! The packaging files, as far as a machine without Docker or a running
//! systemd can check them:
//! - `docker/compose.yml` is valid YAML (python3 with PyYAML) with the demo's
//!   two services, nginx waiting for the gateway to be healthy, and fills
//!   every placeholder of the shipped nginx template;
//! - the Dockerfile's HEALTHCHECK command, run as Docker runs it, passes
//!   against a serving gateway and fails where nothing listens;
//! - `conf/dfs-gateway.service` passes `systemd-analyze verify` without a
//!   single complaint.
//!
//! A check whose tool is missing is listed by `cargo test` as ignored, with
//! the reason (tests/build.rs looks for python3 with PyYAML and for
//! systemd-analyze).

use dfs_e2e::nginx::{fill_template, PROXY_CONF};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Checks the demo's structure (PyYAML is there: the test is ignored otherwise).
const COMPOSE_CHECK: &str = r#"
import sys
import yaml
doc = yaml.safe_load(open(sys.argv[1]))
services = doc["services"]
assert sorted(services) == ["gateway", "nginx"], sorted(services)
assert services["gateway"]["build"]["dockerfile"] == "docker/Dockerfile"
assert services["gateway"]["command"][0] == "demo"
assert any("nginx/dfs-gateway-proxy.conf:" in v for v in services["nginx"]["volumes"])
assert services["nginx"]["depends_on"] == {"gateway": {"condition": "service_healthy"}}
"#;

#[test]
#[cfg_attr(not(has_pyyaml), ignore = "python3 with PyYAML not installed")]
fn compose_file_is_valid_yaml() {
    let output = Command::new("python3")
        .arg("-c")
        .arg(COMPOSE_CHECK)
        .arg(repo_file("docker/compose.yml"))
        .output()
        .expect("python3 runs (build.rs found it with PyYAML)");
    assert!(
        output.status.success(),
        "docker/compose.yml: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn compose_fills_every_placeholder_of_the_nginx_template() {
    let template = std::fs::read_to_string(PROXY_CONF).unwrap();
    let compose = read("docker/compose.yml");
    let values: Vec<(String, String)> = compose
        .split("s/@")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("@/")?;
            Some((name.to_owned(), rest.split('/').next()?.to_owned()))
        })
        .collect();
    let values: Vec<(&str, &str)> = values
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    // Panics on a placeholder the compose file leaves unfilled, or fills but the template lacks.
    let site = fill_template(&template, &values);
    assert!(site.contains("server gateway:8080;"), "{site}");
}

#[test]
#[cfg_attr(not(has_systemd_analyze), ignore = "systemd-analyze not installed")]
fn systemd_unit_verifies() {
    // `verify` wants every Exec* program to exist; the gateway is not
    // installed on a test machine, so a stand-in takes its path.
    let mut unit =
        read("conf/dfs-gateway.service").replace("/usr/local/bin/dfs-gateway", "/bin/true");
    if !Path::new("/bin/kill").exists() {
        unit = unit.replace("/bin/kill", "/bin/true");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dfs-gateway.service");
    std::fs::write(&path, unit).unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify:\n{complaints}"
    );
}

/// The Dockerfile's `HEALTHCHECK ... CMD [...]`, as the argument vector.
fn healthcheck_command() -> Vec<String> {
    let dockerfile = read("docker/Dockerfile").replace("\\\n", " ");
    let line = dockerfile
        .lines()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("the Dockerfile has a HEALTHCHECK");
    let exec = &line[line.find("CMD [").expect("exec form") + 4..];
    serde_json::from_str(exec).expect("CMD is a JSON array")
}

fn run_healthcheck(port: u16) -> bool {
    let argv = healthcheck_command();
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .env("DFS_GATEWAY_HEALTH_PORT", port.to_string());
    let mut child = command.spawn().expect("the HEALTHCHECK program runs");
    // Docker's --timeout: a probe that hangs counts as a failure.
    for _ in 0..50 {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

#[tokio::test]
async fn docker_healthcheck_probes_healthz() {
    // /healthz answers whatever the trackers do: these are never reached.
    let config = r#"
[server]
listen = "127.0.0.1:0"

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:1"]

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"
"#;
    let gateway = dfs_e2e::Gateway::start(config).await;
    let port = gateway.addr.port();
    let healthy = tokio::task::spawn_blocking(move || run_healthcheck(port));
    assert!(
        healthy.await.unwrap(),
        "HEALTHCHECK failed against a serving gateway"
    );
    gateway.stop().await;
    let closed = tokio::task::spawn_blocking(move || run_healthcheck(port));
    assert!(
        !closed.await.unwrap(),
        "HEALTHCHECK passed with nothing listening"
    );
}
