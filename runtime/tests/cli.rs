//! The `corec` command as a user runs it: check, run with CoreDNS's flags,
//! signals (SIGUSR1 reload, SIGTERM), and `corec build` of a site binary
//! that switches to interpreted chains when its Corefile changes.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const COREC: &str = env!("CARGO_BIN_EXE_corec");

/// A child process whose stdout and stderr lines arrive on a channel.
struct Proc {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (tx, rx) = channel();
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Proc {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `secs`) for a line satisfying `f`.
    fn wait_line(&mut self, secs: u64, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if f(&l) {
                        return l;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no such line within {secs}s; output so far:\n{}",
            self.seen.join("\n")
        );
    }

    /// The UDP port printed in the startup banner for `zone`.
    fn port_of(&mut self, zone: &str) -> u16 {
        let prefix = format!("{zone}:");
        let l = self.wait_line(20, |l| l.starts_with(&prefix));
        l[prefix.len()..].parse().expect("port")
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A one-question UDP query; returns the raw reply.
fn ask(port: u16, name: &str, qtype: u16, qclass: u16) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&qclass.to_be_bytes());
    sock.send_to(&q, SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn check_reports_every_error_with_position_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("Good");
    write(&good, "example.org {\n    whoami\n    log\n}\n");
    let out = Command::new(COREC)
        .args(["check", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 server blocks, 1 zones)"));

    let bad = dir.path().join("Bad");
    write(
        &bad,
        "example.org {\n    whoam\n    hosts {\n        ttl 0\n    }\n}\nexample.org {\n}\n",
    );
    let out = Command::new(COREC)
        .args(["check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = bad.to_str().unwrap();
    assert!(err.contains("error: Unknown directive 'whoam'"), "{err}");
    assert!(err.contains(&format!("--> {name}:2:5")), "{err}");
    assert!(
        err.contains("2 |     whoam\n  |     ^^^^^ did you mean 'whoami'?"),
        "{err}"
    );
    assert!(
        err.contains(&format!("--> {name}:4:13")),
        "hosts' ttl error is reported too:\n{err}"
    );
    assert!(
        err.contains("cannot serve dns://example.org.:53 - it is already defined"),
        "{err}"
    );
    assert!(err.contains("due to 3 previous errors"), "{err}");
}

#[test]
fn version_and_plugins_flags() {
    let out = Command::new(COREC).arg("-version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("corec-0.1.0\n"));
    let out = Command::new(COREC).arg("-plugins").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for p in [
        "dns.whoami",
        "dns.hosts",
        "dns.log",
        "dns.errors",
        "dns.chaos",
    ] {
        assert!(text.contains(p), "{text}");
    }
    let out = Command::new(COREC).arg("-nosuchflag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn default_corefile_when_none_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Proc::spawn(
        Command::new(COREC)
            .args(["-dns.port", "0"])
            .current_dir(dir.path()),
    );
    let port = p.port_of(".");
    let reply = ask(port, "anything.example", 1, 1).expect("whoami answers");
    assert!(
        contains(&reply, &[127, 0, 0, 1]),
        "whoami puts the client address in the reply"
    );
    p.wait_line(5, |l| {
        l.starts_with("[INFO] 127.0.0.1:") && l.contains("\"A IN anything.example. udp")
    });
    p.signal("TERM");
    assert_eq!(p.wait_exit(10), Some(0));
}

#[test]
fn run_reload_by_sigusr1_and_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    let pidfile = dir.path().join("corec.pid");
    write(&corefile, "example.org:0 {\n    whoami\n}\n");
    let mut p = Proc::spawn(Command::new(COREC).args([
        "run",
        "-conf",
        corefile.to_str().unwrap(),
        "-pidfile",
        pidfile.to_str().unwrap(),
    ]));
    let port = p.port_of("example.org.");
    assert!(ask(port, "a.example.org", 1, 1).is_some());
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, p.child.id());

    // A broken Corefile is rejected and the old site keeps serving.
    write(&corefile, "example.org:0 {\n    whoami extra\n}\n");
    p.signal("USR1");
    p.wait_line(10, |l| {
        l.contains("reload failed, still serving the previous configuration")
    });
    p.wait_line(5, |l| {
        l.contains("Wrong argument count or unexpected line ending after 'extra'")
    });
    let reply = ask(port, "a.example.org", 1, 1).expect("still answering");
    assert!(contains(&reply, &[127, 0, 0, 1]));

    // A valid change is applied on the same port.
    write(&corefile, ".:0 {\n    chaos corec-reloaded\n}\n");
    p.signal("USR1");
    p.wait_line(10, |l| l == "[INFO] Reloading complete");
    let reply = ask(port, "version.bind", 16, 3).expect("chaos answers");
    assert!(contains(&reply, b"corec-reloaded"));

    // SIGHUP is ignored; SIGTERM exits 0 and removes the pidfile.
    p.signal("HUP");
    assert!(ask(port, "version.bind", 16, 3).is_some());
    p.signal("TERM");
    assert_eq!(p.wait_exit(10), Some(0));
    assert!(!pidfile.exists());
}

/// `corec build` compiles a real site binary (release profile, shared
/// target directory), which serves its baked Corefile and, when the
/// Corefile changes, switches to interpreted chains on SIGUSR1.
#[test]
fn build_a_site_then_reload_it_interpreted() {
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    // `{$SITE_ZONE}` is empty at build time and substituted again when the binary starts.
    write(
        &corefile,
        "{$SITE_ZONE}example.org:0 {\n    whoami\n    log\n}\n",
    );
    let bin: PathBuf = dir.path().join("site-dns");
    let out = Command::new(COREC)
        .args([
            "build",
            corefile.to_str().unwrap(),
            "-o",
            bin.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("corec build: wrote"));

    let mut p = Proc::spawn(Command::new(&bin).env("SITE_ZONE", "www."));
    p.wait_line(20, |l| l.contains("running compiled site built from"));
    let port = p.port_of("www.example.org.");
    assert!(ask(port, "a.www.example.org", 1, 1).is_some_and(|r| r[3] & 0xf == 0));
    assert!(
        ask(port, "a.example.org", 1, 1).is_some_and(|r| r[3] & 0xf == 5),
        "outside the zone the environment chose"
    );

    // A plugin this binary was not built with is rejected; the old site serves on.
    write(&corefile, ".:0 {\n    chaos site-v2\n}\n");
    p.signal("USR1");
    p.wait_line(10, |l| {
        l.contains("reload failed, still serving the previous configuration")
    });
    p.wait_line(5, |l| {
        l.contains("this binary was built without the 'chaos' plugin")
    });
    assert!(ask(port, "a.www.example.org", 1, 1).is_some_and(|r| r[3] & 0xf == 0));

    // A change that only needs linked plugins switches to interpreted chains.
    assert!(
        ask(port, "a.example.net", 1, 1).is_some_and(|r| r[3] & 0xf == 5),
        "REFUSED before"
    );
    write(&corefile, "example.org:0 example.net:0 {\n    whoami\n}\n");
    p.signal("USR1");
    p.wait_line(10, |l| {
        l == "[INFO] running interpreted: Corefile changed since build"
    });
    let reply = ask(port, "a.example.net", 1, 1).expect("answers after reload");
    assert_eq!(reply[3] & 0xf, 0, "NOERROR from whoami for the new zone");
    p.signal("TERM");
    assert_eq!(p.wait_exit(10), Some(0));

    // A Corefile error is reported like a compiler error and no binary is built.
    write(&corefile, "example.org {\n    whoami\n    bogus\n}\n");
    let out = Command::new(COREC)
        .args([
            "build",
            corefile.to_str().unwrap(),
            "-o",
            bin.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown directive 'bogus'"));
}

/// The *reload* plugin and *health*'s lameduck as a user sees them: the
/// running configuration's SHA-512 at startup, a broken Corefile refused
/// with CoreDNS's line, a good one applied, and SIGTERM waiting out the
/// lameduck while DNS is still answered.
#[test]
fn reload_plugin_and_lameduck() {
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    let text = |zones: &str, extra: &str| {
        format!(
            "{zones} {{\n    reload 2s 0s\n    health 127.0.0.1:0 {{\n        lameduck 3s\n    }}\n    whoami{extra}\n}}\n"
        )
    };
    write(&corefile, &text("example.org:0", ""));
    let mut p = Proc::spawn(Command::new(COREC).args(["run", "-conf", corefile.to_str().unwrap()]));
    let port = p.port_of("example.org.");
    let sha = p.wait_line(10, |l| {
        l.starts_with("[INFO] plugin/reload: Running configuration SHA512 = ")
    });
    let hex = sha.rsplit(' ').next().unwrap();
    assert!(
        hex.len() == 128 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );

    write(&corefile, &text("example.org:0", " extra"));
    let failed = p.wait_line(10, |l| {
        l.starts_with("[ERROR] plugin/reload: Corefile changed but reload failed: ")
    });
    assert!(
        failed.contains("Wrong argument count or unexpected line ending after 'extra'"),
        "{failed}"
    );
    p.wait_line(5, |l| l.contains("Corefile:6:12"));
    assert!(ask(port, "a.example.org", 1, 1).is_some_and(|r| r[3] & 0xf == 0));

    write(&corefile, &text("example.org:0 example.net:0", ""));
    p.wait_line(10, |l| l == "[INFO] Reloading");
    let next = p.wait_line(10, |l| {
        l.starts_with("[INFO] plugin/reload: Running configuration SHA512 = ")
    });
    assert_ne!(next, sha, "the new configuration's digest");
    p.wait_line(10, |l| l == "[INFO] Reloading complete");
    assert!(ask(port, "a.example.net", 1, 1).is_some_and(|r| r[3] & 0xf == 0));

    p.signal("TERM");
    p.wait_line(5, |l| {
        l == "[INFO] plugin/health: Going into lameduck mode for 3s"
    });
    assert!(
        ask(port, "a.example.org", 1, 1).is_some(),
        "DNS is answered during the lameduck"
    );
    assert_eq!(p.wait_exit(10), Some(0));
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on 127.0.0.1:`port`: status and body, `None` if unreachable.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    Some((head.split(' ').nth(1)?.parse().ok()?, body.to_string()))
}

/// `/metrics` on `port` as `(series, value)`, the series written as the
/// exposition writes it (`name{label="value",...}`, labels sorted).
fn scrape(port: u16) -> Vec<(String, f64)> {
    let (status, body) = http_get(port, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200, "{body}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

fn metric(samples: &[(String, f64)], series: &str) -> f64 {
    samples
        .iter()
        .find(|(s, _)| s == series)
        .map_or(0.0, |(_, v)| *v)
}

/// The label names of every `coredns_*` family, from CoreDNS's
/// documentation (the prometheus and reload plugins' READMEs and the
/// metrics table), for those the server itself exports.
const FAMILIES: &[(&str, &str, &[&str])] = &[
    (
        "coredns_build_info",
        "gauge",
        &["goversion", "revision", "version"],
    ),
    ("coredns_panics_total", "counter", &[]),
    (
        "coredns_plugin_enabled",
        "gauge",
        &["name", "server", "view", "zone"],
    ),
    (
        "coredns_dns_requests_total",
        "counter",
        &["family", "proto", "server", "type", "view", "zone"],
    ),
    (
        "coredns_dns_do_requests_total",
        "counter",
        &["server", "view", "zone"],
    ),
    (
        "coredns_dns_request_duration_seconds",
        "histogram",
        &["server", "view", "zone"],
    ),
    (
        "coredns_dns_request_size_bytes",
        "histogram",
        &["proto", "server", "view", "zone"],
    ),
    (
        "coredns_dns_response_size_bytes",
        "histogram",
        &["proto", "server", "view", "zone"],
    ),
    (
        "coredns_dns_responses_total",
        "counter",
        &["plugin", "rcode", "server", "view", "zone"],
    ),
    ("coredns_reload_failed_total", "counter", &[]),
    (
        "coredns_cache_entries",
        "gauge",
        &["server", "type", "view", "zones"],
    ),
    (
        "coredns_cache_requests_total",
        "counter",
        &["server", "view", "zones"],
    ),
    (
        "coredns_cache_hits_total",
        "counter",
        &["server", "type", "view", "zones"],
    ),
    (
        "coredns_cache_misses_total",
        "counter",
        &["server", "view", "zones"],
    ),
    (
        "coredns_acl_allowed_requests_total",
        "counter",
        &["server", "view"],
    ),
    ("coredns_hosts_entries", "gauge", &["hostsfile"]),
    ("coredns_hosts_reload_timestamp_seconds", "gauge", &[]),
    ("coredns_reload_version_info", "gauge", &["hash", "value"]),
    ("coredns_health_request_duration_seconds", "histogram", &[]),
    ("coredns_health_request_failures_total", "counter", &[]),
];

/// Checks every exported series of the families above: its type line and
/// its label names (histograms add `le` to their buckets). A family with
/// labels appears once it has a series, so only the DO counter (no query
/// here sets DO) may be missing.
fn check_families(body: &str) {
    for (name, kind, labels) in FAMILIES {
        if *name == "coredns_dns_do_requests_total" && !body.contains(name) {
            continue;
        }
        assert!(
            body.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} is exported as a {kind}:\n{body}"
        );
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            let series = line.rsplit_once(' ').unwrap().0;
            let (metric, label_text) = series.split_once('{').unwrap_or((series, "}"));
            let base = metric
                .strip_suffix("_bucket")
                .or_else(|| metric.strip_suffix("_sum"))
                .or_else(|| metric.strip_suffix("_count"))
                .filter(|_| *kind == "histogram")
                .unwrap_or(metric);
            if base != *name {
                continue;
            }
            let mut got: Vec<&str> = label_text
                .trim_end_matches('}')
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap().0)
                .filter(|l| !(metric.ends_with("_bucket") && *l == "le"))
                .collect();
            got.sort_unstable();
            assert_eq!(got, *labels, "{line}");
        }
    }
}

#[test]
fn metrics_are_exact_lint_clean_and_survive_reloads() {
    let promtool = Command::new("promtool").arg("--version").output();
    assert!(
        promtool.is_ok_and(|o| o.status.success()),
        "promtool is missing: install Debian's prometheus package (.ci/run does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    let (metrics, health) = (free_tcp_port(), free_tcp_port());
    let text = |zones: &str, metrics: u16, extra: &str| {
        format!(
            "{zones} {{\n    prometheus 127.0.0.1:{metrics}\n    health 127.0.0.1:{health}\n    reload 2s 0s\n    whoami{extra}\n}}\n\
             plugins.test:0 {{\n    prometheus 127.0.0.1:{metrics}\n    acl {{\n        allow net 127.0.0.0/8\n    }}\n    cache\n    hosts {{\n        fallthrough\n    }}\n    whoami\n}}\n"
        )
    };
    write(&corefile, &text("example.org:0", metrics, ""));
    let mut p = Proc::spawn(Command::new(COREC).args(["run", "-conf", corefile.to_str().unwrap()]));
    let port = p.port_of("example.org.");
    let sha = p.wait_line(10, |l| l.contains("Running configuration SHA512 = "));
    let sha = sha.rsplit(' ').next().unwrap().to_string();

    let before = scrape(metrics);
    for _ in 0..3 {
        assert!(ask(port, "a.example.org", 1, 1).is_some_and(|r| r[3] & 0xf == 0));
    }
    assert!(ask(port, "elsewhere.test", 1, 1).is_some_and(|r| r[3] & 0xf == 5));
    // The plugins' own families: a miss, then a hit.
    for _ in 0..2 {
        assert!(ask(port, "a.plugins.test", 1, 1).is_some_and(|r| r[3] & 0xf == 0));
    }
    let after = scrape(metrics);
    let delta = |series: &str| metric(&after, series) - metric(&before, series);
    let zone = r#"server="dns://:0",view="",zone="example.org.""#;
    assert_eq!(
        delta(
            r#"coredns_dns_requests_total{family="1",proto="udp",server="dns://:0",type="A",view="",zone="example.org."}"#
        ),
        3.0
    );
    assert_eq!(
        delta(
            r#"coredns_dns_responses_total{plugin="whoami",rcode="NOERROR",server="dns://:0",view="",zone="example.org."}"#
        ),
        3.0
    );
    assert_eq!(
        delta(
            r#"coredns_dns_responses_total{plugin="",rcode="REFUSED",server="dns://:0",view="",zone="dropped"}"#
        ),
        1.0
    );
    assert_eq!(
        delta(&format!(
            r#"coredns_dns_request_duration_seconds_count{{{zone}}}"#
        )),
        3.0
    );
    for name in ["prometheus", "health", "whoami"] {
        let series = format!(
            r#"coredns_plugin_enabled{{name="{name}",server="dns://:0",view="",zone="example.org."}}"#
        );
        let want = if name == "health" { 0.0 } else { 1.0 };
        assert_eq!(metric(&after, &series), want, "{series}");
    }
    assert_eq!(
        metric(
            &after,
            &format!(r#"coredns_reload_version_info{{hash="sha512",value="{sha}"}}"#)
        ),
        1.0
    );
    assert!(metric(&after, "process_resident_memory_bytes") > 0.0);
    assert!(
        metric(&after, "go_goroutines") >= 2.0,
        "listener loops at least"
    );
    let cache = r#"server="dns://:0",view="",zones="plugins.test.""#;
    assert_eq!(
        delta(&format!("coredns_cache_requests_total{{{cache}}}")),
        2.0
    );
    assert_eq!(
        delta(
            r#"coredns_cache_hits_total{server="dns://:0",type="success",view="",zones="plugins.test."}"#
        ),
        1.0
    );

    // promtool's lint and the families' label sets, on what is served.
    let (_, body) = http_get(metrics, "/metrics").unwrap();
    check_families(&body);
    let mut lint = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    lint.stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = lint.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The health self-probe runs every second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(
        &scrape(metrics),
        "coredns_health_request_duration_seconds_count",
    ) < 1.0
    {
        assert!(Instant::now() < deadline, "no health probe");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        metric(&scrape(metrics), "coredns_health_request_failures_total"),
        0.0
    );

    // A broken edit: counted, and every listener stays up.
    write(&corefile, &text("example.org:0", metrics, " extra"));
    p.wait_line(10, |l| l.contains("Corefile changed but reload failed"));
    let now = scrape(metrics);
    assert_eq!(metric(&now, "coredns_reload_failed_total"), 1.0);
    assert_eq!(http_get(health, "/health"), Some((200, "OK".into())));
    assert!(ask(port, "a.example.org", 1, 1).is_some_and(|r| r[3] & 0xf == 0));

    // A good one moving /metrics: the new address serves, the old one is
    // closed, counters carry on and plugin_enabled follows the new blocks.
    let moved = free_tcp_port();
    write(&corefile, &text("example.org:0 example.net:0", moved, ""));
    p.wait_line(10, |l| l == "[INFO] Reloading complete");
    assert!(
        http_get(metrics, "/metrics").is_none(),
        "the old address is closed"
    );
    let moved_samples = scrape(moved);
    assert!(
        metric(
            &moved_samples,
            r#"coredns_dns_requests_total{family="1",proto="udp",server="dns://:0",type="A",view="",zone="example.org."}"#
        ) >= 4.0
    );
    assert_eq!(
        metric(
            &moved_samples,
            r#"coredns_plugin_enabled{name="whoami",server="dns://:0",view="",zone="example.net."}"#
        ),
        1.0
    );

    p.signal("TERM");
    assert_eq!(p.wait_exit(10), Some(0));
}

/// An upstream on 127.0.0.1 that answers every query, over UDP and TCP
/// (NOERROR, no records), only after `delay`. Runs until the test ends.
fn slow_upstream(delay: Duration) -> u16 {
    use std::io::{Read, Write};
    let answer = move |query: &[u8]| {
        let mut reply = query.to_vec();
        reply[2] |= 0x80; // QR
        reply[3] = 0x80; // RA, NOERROR
        std::thread::sleep(delay);
        reply
    };
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let tcp = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            if n >= 12 {
                let _ = sock.send_to(&answer(&buf[..n]), from);
            }
        }
    });
    std::thread::spawn(move || {
        for mut conn in tcp.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut len = [0u8; 2];
                while conn.read_exact(&mut len).is_ok() {
                    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if conn.read_exact(&mut q).is_err() || q.len() < 12 {
                        return;
                    }
                    let r = answer(&q);
                    let _ = conn.write_all(&(r.len() as u16).to_be_bytes());
                    let _ = conn.write_all(&r);
                }
            });
        }
    });
    port
}

/// A query for `name`/A with ID `id`, as sent over UDP.
fn query_bytes(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

#[test]
fn sigterm_lets_queries_in_flight_finish() {
    let upstream = slow_upstream(Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    write(
        &corefile,
        &format!(".:0 {{\n    forward . 127.0.0.1:{upstream}\n}}\n"),
    );
    let mut p = Proc::spawn(Command::new(COREC).args(["run", "-conf", corefile.to_str().unwrap()]));
    let port = p.port_of(".");
    // Ask over UDP and TCP, then stop the server while both wait upstream.
    let udp = std::thread::spawn(move || ask(port, "slow.example", 1, 1));
    let tcp = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let q = query_bytes(0x4321, "slow.example");
        s.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
        s.write_all(&q).unwrap();
        let mut reply = Vec::new();
        let _ = s.read_to_end(&mut reply);
        reply
    });
    std::thread::sleep(Duration::from_millis(300));
    p.signal("TERM");
    let udp = udp.join().unwrap().expect("the UDP query is answered");
    assert_eq!(&udp[..2], &[0x12, 0x34]);
    assert_eq!(udp[3] & 0xf, 0, "NOERROR from the upstream");
    let tcp = tcp.join().unwrap();
    assert!(tcp.len() > 14, "the TCP query is answered: {tcp:?}");
    assert_eq!(&tcp[2..4], &[0x43, 0x21]);
    assert_eq!(tcp[5] & 0xf, 0, "NOERROR from the upstream");
    assert_eq!(p.wait_exit(10), Some(0));
    // Nothing is accepted any more.
    assert!(ask(port, "slow.example", 1, 1).is_none());
}

#[test]
fn explain_shows_listeners_and_execution_order() {
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    write(
        &corefile,
        "example.org:1053 {\n    forward . 127.0.0.1:9\n    hosts {\n        fallthrough\n    }\n    bind 127.0.0.1\n}\n\
         example.net:1054 {\n    root /tmp\n}\n",
    );
    let path = corefile.to_str().unwrap();

    let out = Command::new(COREC)
        .args(["explain", path])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 server blocks, 2 listeners"), "{text}");
    assert!(
        text.contains("\ndns://127.0.0.1:1053\n  example.org.  block 1\n"),
        "{text}"
    );
    assert!(
        text.contains("note: forward is written before hosts but runs after it"),
        "{text}"
    );
    assert!(text.contains("no plugin here handles queries"), "{text}");

    // The same facts as JSON, run from the Corefile's directory (the default FILE).
    let out = Command::new(COREC)
        .args(["explain", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["file"], "Corefile");
    assert_eq!(v["listeners"][0]["address"], "dns://127.0.0.1:1053");
    assert_eq!(v["listeners"][1]["address"], "dns://:1054");
    let chain: Vec<&str> = v["blocks"][0]["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(chain, ["bind", "hosts", "forward"]);
    assert_eq!(v["blocks"][1]["refused"], true);

    // A broken Corefile: `check`'s diagnostics and exit 1; bad usage exits 2.
    write(&corefile, "example.org {\n    whoam\n}\n");
    let out = Command::new(COREC)
        .args(["explain", path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: Unknown directive 'whoam'"), "{err}");
    assert!(err.contains(&format!("--> {path}:2:5")), "{err}");
    let out = Command::new(COREC)
        .args(["explain", "--yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `-log-format json`: every stdout line is one JSON object, the banner, the
/// plugins' lines and the query log alike; the query log keeps its
/// CoreDNS-format line as `msg` beside structured fields.
#[test]
fn run_with_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    write(
        &corefile,
        "example.org:0 {\n    reload 2s 0s\n    log\n    whoami\n}\n",
    );
    let mut child = Command::new(COREC)
        .args([
            "run",
            "-conf",
            corefile.to_str().unwrap(),
            "-log-format=json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push(line);
        }
        all
    });
    let parse = |l: &str| -> serde_json::Value {
        serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))
    };
    // Waits for the first object `f` accepts (at most 10 s).
    let wait = |f: &dyn Fn(&serde_json::Value) -> bool| -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = rx.recv_timeout(left) else {
                break;
            };
            let v = parse(&line);
            if f(&v) {
                return v;
            }
        }
        panic!("no such line within 10s");
    };
    let banner = wait(&|v| {
        v["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with("example.org.:"))
    });
    let port: u16 = banner["msg"].as_str().unwrap()["example.org.:".len()..]
        .parse()
        .unwrap();
    assert!(ask(port, "a.example.org", 1, 1).is_some());
    assert!(ask(port, "b.example.org", 28, 1).is_some());
    let query = wait(&|v| v["plugin"] == "log" && v["name"] == "b.example.org.");

    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let lines = reader.join().unwrap();

    // The query log line: CoreDNS's text unchanged in `msg`, and its fields.
    let msg = query["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("127.0.0.1:") && msg.contains(" \"AAAA IN b.example.org. udp "),
        "{msg}"
    );
    assert_eq!(query["level"], "INFO");
    assert_eq!(query["remote"], "127.0.0.1");
    assert_eq!(query["id"], 0x1234);
    assert_eq!(query["type"], "AAAA");
    assert_eq!(query["class"], "IN");
    assert_eq!(query["proto"], "udp");
    assert_eq!(query["rcode"], "NOERROR");
    assert!(query["port"].is_u64() && query["rsize"].is_u64() && query["duration"].is_f64());

    assert!(lines.len() >= 6, "{lines:#?}");
    let mut plugins = Vec::new();
    for line in &lines {
        let v = parse(line);
        let ts = v["ts"].as_str().unwrap_or_else(|| panic!("no ts: {line}"));
        assert!(ts.len() == 27 && ts.ends_with('Z'), "{line}");
        assert!(
            ["INFO", "WARNING", "ERROR"].contains(&v["level"].as_str().unwrap()),
            "{line}"
        );
        assert!(v["msg"].is_string(), "{line}");
        plugins.push(v.get("plugin").map(|p| p.as_str().unwrap().to_string()));
    }
    for want in [None, Some("reload".to_string()), Some("log".to_string())] {
        assert!(plugins.contains(&want), "{want:?} in {lines:#?}");
    }
    assert!(
        lines.iter().any(|l| l.contains("\"msg\":\"corec-0.1.0\"")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("SIGTERM")), "{lines:#?}");

    // A bad value is a flag error, as for every other flag.
    let out = Command::new(COREC)
        .args(["run", "-log-format", "xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-log-format"));
}
