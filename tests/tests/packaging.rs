//! The packaging files, as far as a machine without Docker or a running
//! systemd can check them:
//! - `docker/compose.yml` is valid YAML (python3 with PyYAML) with the demo's
//!   two services, nginx waiting for the gateway to be healthy, and fills
//!   every placeholder of the shipped nginx template;
//! - the Dockerfile's HEALTHCHECK command, run as Docker runs it, passes
//!   against a serving gateway and fails where nothing listens;
//! - `conf/dfs-gateway.service` passes `systemd-analyze verify` without a
//!   single complaint;
//! - the high-availability balancer, `conf/ha/nginx-balancer.conf`, passes
//!   `nginx -t`, hashing URIs over both gateways of `conf/ha/gateway.toml`;
//! - on a Docker engine (`docker info` answers), the compose demo builds,
//!   comes up, answers the README's lines through nginx on a port the test
//!   picked, and `down` removes it (`compose_demo_on_a_docker_engine`).
//!
//! A check whose tool is missing is listed by `cargo test` as ignored, with
//! the reason (tests/build.rs looks for python3 with PyYAML and for
//! systemd-analyze).

use dfs_e2e::nginx::{check_site, fill_template, PROXY_CONF};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
# compose v1 (docker-compose 1.x) refuses top-level keys other than these.
assert set(doc) <= {"version", "services", "networks", "volumes", "configs", "secrets"} | {
    k for k in doc if k.startswith("x-")}, sorted(doc)
assert sorted(services) == ["gateway", "nginx"], sorted(services)
gateway, nginx = services["gateway"], services["nginx"]
assert gateway["build"]["dockerfile"] == "docker/Dockerfile"
command = gateway["command"]
assert command[0] == "demo"
# The demo's lines name the port nginx is published on, on the host.
public = command[command.index("--public-url") + 1]
assert public == "http://127.0.0.1:${DFS_DEMO_PORT:-8080}", public
assert nginx["ports"] == ["127.0.0.1:${DFS_DEMO_PORT:-8080}:80"], nginx["ports"]
# Both images build from a base named by a variable (a local one without a registry).
assert gateway["build"]["args"]["DEBIAN_IMAGE"] == nginx["build"]["args"]["DEBIAN_IMAGE"]
assert "image" not in nginx or nginx["image"] != "nginx:stable"
assert any("nginx/dfs-gateway-proxy.conf:" in v for v in nginx["volumes"])
assert nginx["depends_on"] == {"gateway": {"condition": "service_healthy"}}
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

#[test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
fn ha_balancer_passes_nginx_t() {
    let site = read("conf/ha/nginx-balancer.conf");
    check_site(&site).unwrap_or_else(|e| panic!("nginx -t: {e}"));
    // The upstream is the two gateways of the HA gateway config, by URI hash.
    let gateway: toml::Value = toml::from_str(&read("conf/ha/gateway.toml")).unwrap();
    let port = gateway["server"]["listen"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let servers: Vec<&str> = site
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("server "))
        .filter(|l| l.ends_with(';'))
        .collect();
    assert_eq!(servers.len(), 2, "{servers:?}");
    assert!(
        servers.iter().all(|s| s.contains(&format!(":{port} "))),
        "{servers:?} vs port {port}"
    );
    assert!(site.contains("hash $uri consistent;"));
    // A broken copy fails: the check is real.
    assert!(check_site(&site.replace("hash $uri consistent;", "hash;")).is_err());
}

/// The image build compiles the gateway in release mode: a cold build takes
/// about a quarter of an hour on two cores, a cached one seconds.
const COMPOSE_UP_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// From `up` returning to nginx answering (the demo starts, turns healthy).
const DEMO_READY_TIMEOUT: Duration = Duration::from_secs(180);
/// Any other docker or compose command, and one curl line.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `command` with its output in `log`, killed after `limit`; whether it
/// succeeded, and its output.
fn run_bounded(command: &mut Command, limit: Duration, log: &Path) -> (bool, String) {
    let out = std::fs::File::create(log).unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    match status {
        Some(status) => (status.success(), text),
        None => (false, format!("{text}\n(killed after {limit:?})")),
    }
}

/// The last lines of `text`, for a failure message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// compose v2 (`docker compose`) or v1 (`docker-compose`), whichever runs.
fn compose_program() -> Option<Vec<&'static str>> {
    let runs = |argv: &[&str]| {
        Command::new(argv[0])
            .args(&argv[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if runs(&["docker", "compose", "version"]) {
        Some(vec!["docker", "compose"])
    } else if runs(&["docker-compose", "version"]) {
        Some(vec!["docker-compose"])
    } else {
        None
    }
}

/// The demo's compose project, brought `down` when dropped (a failed
/// assertion too).
struct ComposeDemo {
    program: Vec<&'static str>,
    project: String,
    port: u16,
    bases: Vec<(&'static str, String)>,
    dir: tempfile::TempDir,
}

impl ComposeDemo {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.program[0]);
        command
            .args(&self.program[1..])
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(repo_file("docker/compose.yml"))
            .args(args)
            .env("DFS_DEMO_PORT", self.port.to_string());
        for (name, image) in &self.bases {
            command.env(name, image);
        }
        command
    }

    fn run(&self, args: &[&str], limit: Duration) -> (bool, String) {
        let log = self.dir.path().join(format!("{}.log", args[0]));
        run_bounded(&mut self.command(args), limit, &log)
    }

    fn down(&self) -> (bool, String) {
        self.run(
            &["down", "--volumes", "--remove-orphans", "--timeout", "20"],
            COMMAND_TIMEOUT,
        )
    }

    /// The project's containers, running or not.
    fn containers(&self) -> String {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        let out = Command::new("docker")
            .args(["ps", "-a", "-q", "--filter", &filter])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Runs one shell line (a curl line as printed or documented, with
    /// `--fail` added) in the work directory.
    fn paste(&self, line: &str) -> String {
        let line = line.split(" #").next().unwrap().trim();
        let log = self.dir.path().join("curl.log");
        let (ok, text) = run_bounded(
            Command::new("sh")
                .arg("-c")
                .arg(format!("{line} --fail --silent --show-error --max-time 60"))
                .current_dir(self.dir.path().join("work")),
            COMMAND_TIMEOUT,
            &log,
        );
        assert!(ok, "{line}:\n{text}");
        text
    }
}

impl Drop for ComposeDemo {
    fn drop(&mut self) {
        let _ = self.down();
    }
}

/// Local base images to build from when they exist (no registry needed):
/// DFS_RUST_IMAGE and DFS_DEBIAN_IMAGE as set, else the ones
/// docker/local-images.sh makes, else compose's defaults (from a registry).
fn base_images() -> Vec<(&'static str, String)> {
    let mut bases = Vec::new();
    for (name, local) in [
        ("DFS_RUST_IMAGE", "dfs-rust:bookworm"),
        ("DFS_DEBIAN_IMAGE", "dfs-debian:bookworm"),
    ] {
        if let Ok(image) = std::env::var(name) {
            bases.push((name, image));
        } else if Command::new("docker")
            .args(["image", "inspect", local])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            bases.push((name, local.to_owned()));
        }
    }
    bases
}

#[test]
#[cfg_attr(not(has_docker), ignore = "docker not installed")]
fn compose_demo_on_a_docker_engine() {
    let engine = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let program = compose_program();
    let (true, Some(program)) = (engine, program) else {
        eprintln!(
            "SKIPPED compose_demo_on_a_docker_engine: {}",
            if engine {
                "neither `docker compose` nor `docker-compose` runs"
            } else {
                "`docker info` fails: no Docker engine answers"
            }
        );
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let demo = ComposeDemo {
        program,
        project: format!("dfs-gateway-test-{}", std::process::id()),
        port,
        bases: base_images(),
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::create_dir(demo.dir.path().join("work")).unwrap();
    eprintln!(
        "compose demo: {:?} on 127.0.0.1:{port}, base images {:?}",
        demo.program, demo.bases
    );

    let started = Instant::now();
    let (ok, text) = demo.run(&["up", "--build", "-d"], COMPOSE_UP_TIMEOUT);
    assert!(ok, "compose up --build:\n{}", tail(&text));
    let built = started.elapsed();

    // nginx starts once the gateway is healthy; then /healthz answers through it.
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + DEMO_READY_TIMEOUT;
    loop {
        let probe = Command::new("curl")
            .args(["-fsS", "--max-time", "5", &format!("{base}/healthz")])
            .output()
            .unwrap();
        if probe.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo did not answer on {base} within {DEMO_READY_TIMEOUT:?}:\n{}",
            tail(&demo.run(&["logs"], COMMAND_TIMEOUT).1)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let ready = started.elapsed() - built;

    // The lines the demo printed paste on the host as they are.
    let (_, logs) = demo.run(&["logs", "--no-color", "gateway"], COMMAND_TIMEOUT);
    let printed: Vec<String> = logs
        .lines()
        .filter_map(|l| l.split_once(" | ").map_or(Some(l), |(_, line)| Some(line)))
        .map(str::trim)
        .filter(|l| l.starts_with("curl "))
        .map(str::to_owned)
        .collect();
    assert!(printed.len() >= 8, "printed lines:\n{logs}");
    for line in &printed {
        assert!(line.contains(&base), "{line}");
        demo.paste(line);
    }
    let work = demo.dir.path().join("work");
    for file in ["sample.png", "mine.png", "sample-fdfs.png", "thumb.png"] {
        let bytes = std::fs::read(work.join(file)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{file}");
    }

    // The README's demo lines (those naming a real key, not a `...` file ID).
    let readme = read("README.md");
    let block = readme
        .split("With the demo running:\n\n```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the README's demo block");
    std::fs::write(work.join("f.txt"), "hello\n").unwrap();
    let mut pasted = 0;
    for line in block
        .lines()
        .filter(|l| l.starts_with("curl ") && !l.contains("..."))
    {
        let out = demo.paste(&line.replace("http://127.0.0.1:8080", &base));
        if line.contains("/images/a.jpg") && !line.contains("Range") {
            assert_eq!(out, "hello\n", "{line}");
        }
        pasted += 1;
    }
    assert!(pasted >= 6, "{block}");

    // The landing page and the admin side, through nginx.
    let page = demo.paste(&format!("curl {base}/"));
    assert!(page.contains("href=\"/images/sample.png\""), "{page}");
    assert!(page.contains(&base), "{page}");
    for path in ["/healthz", "/readyz", "/_status", "/_status.json"] {
        demo.paste(&format!("curl -o /dev/null {base}{path}"));
    }
    let metrics = demo.paste(&format!("curl {base}/metrics"));
    assert!(metrics.contains("dfs_gateway_requests_total"), "{metrics}");
    let checked = started.elapsed() - built - ready;

    let (ok, text) = demo.down();
    assert!(ok, "compose down:\n{}", tail(&text));
    assert_eq!(demo.containers(), "", "containers left after down");
    eprintln!(
        "compose demo: up --build {built:?}, ready {ready:?}, lines {checked:?}, down {:?}",
        started.elapsed() - built - ready - checked
    );
}
