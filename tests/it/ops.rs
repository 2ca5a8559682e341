//! The side listeners and the reload plugin, over real sockets: `/health`
//! and `/ready` answered over HTTP in both modes, readiness following a
//! zone file, the lameduck keeping DNS answered during shutdown, side
//! listeners kept (or moved, or refused) across reloads, and the *reload*
//! plugin applying a changed Corefile and refusing a broken one while the
//! old configuration serves on.

use corec_runtime::reload::Reloaded;
use corec_runtime::site::CompiledBlocks;
use corec_tests::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, RecordType};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn temp_corefile(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Corefile");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn ok() -> Option<(u16, String)> {
    Some((200, "OK".to_string()))
}

async fn www_answers(at: SocketAddr) -> bool {
    let m = udp(at, &query("www.example.org.", RecordType::A)).await;
    answers(&m) == ["www.example.org. 3600 IN A 192.0.2.10"]
}

/// The fixture `ops/Corefile`: health and ready on one listener, a zone.
async fn check_health_and_ready<C: CompiledBlocks>(s: &Running<C>, mode: &str) {
    let at = s.http_addr("127.0.0.1:0").expect("a side listener");
    assert_eq!(
        s.server.side_bound().len(),
        1,
        "{mode}: one shared listener"
    );
    assert_eq!(http_get(at, "/health").await, ok(), "{mode}");
    assert_eq!(
        http_get(at, "/ready").await,
        ok(),
        "{mode}: the zone is loaded"
    );
    assert_eq!(
        http_get(at, "/metrics").await.map(|(status, _)| status),
        Some(404),
        "{mode}"
    );
    assert!(www_answers(s.udp).await, "{mode}: DNS is served");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_ready_answer_over_http_in_both_modes() {
    let compiled = start_compiled(corec_macros::corefile!("../fixtures/ops/Corefile"), None);
    assert!(compiled.server.current().is_compiled());
    check_health_and_ready(&compiled, "compiled").await;
    let interpreted = start_interpreted_file(Path::new("fixtures/ops/Corefile"));
    check_health_and_ready(&interpreted, "interpreted").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_turns_ready_when_the_zone_file_appears() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("db.example.org");
    let (hp, rp) = (free_port(), free_port());
    let (_cdir, path) = temp_corefile(&format!(
        "example.org:0 {{\n    health 127.0.0.1:{hp}\n    ready 127.0.0.1:{rp}\n    \
         file {} {{\n        reload 200ms\n    }}\n}}\n",
        zone.display()
    ));
    let s = start_interpreted_file(&path);
    let health = SocketAddr::from(([127, 0, 0, 1], hp));
    let ready = SocketAddr::from(([127, 0, 0, 1], rp));
    assert_eq!(http_get(health, "/health").await, ok());
    assert_eq!(
        http_get(ready, "/ready").await,
        Some((503, "file".to_string())),
        "the zone file does not exist yet"
    );
    assert_eq!(
        http_get(ready, "/health").await.map(|(status, _)| status),
        Some(404),
        "health is on its own port"
    );

    std::fs::copy("fixtures/differential/example.org.zone", &zone).unwrap();
    let became_ready = eventually(10, || async {
        (http_get(ready, "/ready").await == ok()).then_some(())
    })
    .await;
    assert!(became_ready.is_some(), "ready once the zone is loaded");
    assert!(www_answers(s.udp).await, "and the zone is served");
}

/// Shuts the server down in the background and checks that, during the
/// lameduck, DNS and `/health` are answered while `/ready` says it is
/// shutting down, and that afterwards everything is closed.
async fn check_lameduck<C: CompiledBlocks>(s: &Running<C>, side: SocketAddr, mode: &str) {
    assert_eq!(http_get(side, "/ready").await, ok(), "{mode}");
    let server = s.server.clone();
    let shutdown = tokio::spawn(async move { server.shutdown().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(s.server.is_draining(), "{mode}");
    assert!(
        www_answers(s.udp).await,
        "{mode}: DNS is answered during the lameduck"
    );
    assert_eq!(http_get(side, "/health").await, ok(), "{mode}");
    assert_eq!(
        http_get(side, "/ready").await,
        Some((503, "Shutting down".to_string())),
        "{mode}"
    );
    assert!(
        !shutdown.is_finished(),
        "{mode}: the lameduck lasts its duration"
    );
    tokio::time::timeout(Duration::from_secs(15), shutdown)
        .await
        .expect("shutdown ends after the lameduck")
        .unwrap();
    let q = query("www.example.org.", RecordType::A).to_vec().unwrap();
    assert_eq!(udp_raw(s.udp, &q, None).await, None, "{mode}: DNS stopped");
    assert_eq!(http_get(side, "/health").await, None, "{mode}: closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn lameduck_keeps_dns_answered_then_stops_in_both_modes() {
    let compiled = start_compiled(corec_macros::corefile!("../fixtures/ops/Corefile"), None);
    let side = compiled.http_addr("127.0.0.1:0").unwrap();
    let interpreted = start_interpreted_file(Path::new("fixtures/ops/Corefile"));
    let side2 = interpreted.http_addr("127.0.0.1:0").unwrap();
    // Both at once: the lameduck is 2 s.
    tokio::join!(
        check_lameduck(&compiled, side, "compiled"),
        check_lameduck(&interpreted, side2, "interpreted"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn side_listeners_are_kept_moved_and_closed_across_reloads() {
    let (p1, p2) = (free_port(), free_port());
    let at1 = SocketAddr::from(([127, 0, 0, 1], p1));
    let at2 = SocketAddr::from(([127, 0, 0, 1], p2));
    let corefile = |health: u16, zone: &str| {
        format!(
            "{zone}:0 {{\n    health 127.0.0.1:{health}\n    ready 127.0.0.1:{p1}\n    whoami\n}}\n"
        )
    };
    let (_dir, path) = temp_corefile(&corefile(p1, "example.org"));
    let s = start_interpreted_file(&path);
    assert_eq!(http_get(at1, "/health").await, ok());

    // A connection opened before a reload that keeps the address is still
    // served after it: the listener was not replaced.
    let mut early = tokio::net::TcpStream::connect(at1).await.unwrap();
    std::fs::write(&path, corefile(p1, "example.net")).unwrap();
    assert_eq!(s.reloader.reload().await, Reloaded::Swapped);
    early
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(5), early.read_to_string(&mut reply))
        .await
        .expect("an answer")
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");

    // Moving health to a port that is taken fails the reload; the old
    // listener serves on (CoreDNS would have closed it already).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    std::fs::write(&path, corefile(busy, "example.net")).unwrap();
    match s.reloader.reload().await {
        Reloaded::Failed(why) => assert!(why.contains("listen tcp"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(http_get(at1, "/health").await, ok());
    drop(taken);

    // Moving it to a free port binds the new one; ready stays where it was.
    std::fs::write(&path, corefile(p2, "example.net")).unwrap();
    assert_eq!(s.reloader.reload().await, Reloaded::Swapped);
    assert_eq!(http_get(at2, "/health").await, ok());
    assert_eq!(http_get(at1, "/ready").await, ok());
    assert_eq!(
        http_get(at1, "/health").await.map(|(status, _)| status),
        Some(404)
    );

    // Without them, both listeners close.
    std::fs::write(&path, "example.net:0 {\n    whoami\n}\n").unwrap();
    assert_eq!(s.reloader.reload().await, Reloaded::Swapped);
    assert_eq!(http_get(at1, "/ready").await, None);
    assert_eq!(http_get(at2, "/health").await, None);
    assert!(s.server.side_bound().is_empty());
}

async fn rcode<C: CompiledBlocks>(s: &Running<C>, name: &str) -> ResponseCode {
    udp(s.udp, &query(name, RecordType::A))
        .await
        .metadata
        .response_code
}

/// Waits (at most 10 s) until `name` gets `want`.
async fn until_rcode<C: CompiledBlocks>(s: &Running<C>, name: &str, want: ResponseCode) -> bool {
    eventually(10, || async {
        (rcode(s, name).await == want).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reload_plugin_applies_changes_and_refuses_broken_ones() {
    let hp = free_port();
    let health = SocketAddr::from(([127, 0, 0, 1], hp));
    let block = |zones: &str, extra: &str| {
        format!("{zones} {{\n    reload 2s\n    health 127.0.0.1:{hp}\n    whoami{extra}\n}}\n")
    };
    let (_dir, path) = temp_corefile(&block("example.org:0", ""));
    let s = start_interpreted_file(&path);
    assert_eq!(rcode(&s, "a.example.net.").await, ResponseCode::Refused);

    // A valid change is picked up within the interval.
    std::fs::write(&path, block("example.org:0 example.net:0", "")).unwrap();
    assert!(
        until_rcode(&s, "a.example.net.", ResponseCode::NoError).await,
        "the changed Corefile was applied"
    );
    assert_eq!(
        http_get(health, "/health").await,
        ok(),
        "health kept its port"
    );

    // A broken one is refused once; the old configuration keeps serving.
    std::fs::write(&path, block("example.org:0", " extra")).unwrap();
    let failed = eventually(10, || async {
        (s.reloader.reload_failures() == 1).then_some(())
    })
    .await;
    assert!(failed.is_some(), "the broken Corefile was tried");
    assert_eq!(rcode(&s, "a.example.net.").await, ResponseCode::NoError);
    // Remembered: not tried again while it stays the same (a period is at most 2.5 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.reloader.reload_failures(), 1, "not retried");
    assert_eq!(rcode(&s, "a.example.net.").await, ResponseCode::NoError);

    // Fixed, it is applied: the watcher is still running.
    std::fs::write(&path, ".:0 {\n    reload 2s\n    chaos v3\n}\n").unwrap();
    let v3 = eventually(10, || async {
        let m = udp(
            s.udp,
            &query_class("version.bind.", RecordType::TXT, DNSClass::CH),
        )
        .await;
        (answers(&m) == ["version.bind. 0 CH TXT v3"]).then_some(())
    })
    .await;
    assert!(v3.is_some(), "the fixed Corefile was applied");
    assert_eq!(
        http_get(health, "/health").await,
        None,
        "health is gone with it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reload_plugin_switches_a_compiled_site_to_interpreted() {
    let (_dir, path) = temp_corefile(
        "example.org:0 example.net:0 {\n    reload 2s\n    health 127.0.0.1:0\n    whoami\n}\n",
    );
    let s = start_compiled(
        corec_macros::corefile!("../fixtures/ops/reload/Corefile"),
        Some(path.clone()),
    );
    assert!(s.server.current().is_compiled());
    let health = s.http_addr("127.0.0.1:0").unwrap();
    assert_eq!(rcode(&s, "a.example.net.").await, ResponseCode::Refused);
    assert!(
        until_rcode(&s, "a.example.net.", ResponseCode::NoError).await,
        "the watcher noticed the Corefile differs from the one built in"
    );
    assert!(!s.server.current().is_compiled(), "now interpreted");
    assert_eq!(
        s.http_addr("127.0.0.1:0"),
        Some(health),
        "same side listener"
    );
    assert_eq!(http_get(health, "/health").await, ok());

    // A plugin this binary does not link is refused; the site serves on.
    std::fs::write(&path, ".:0 {\n    reload 2s\n    chaos v2\n}\n").unwrap();
    let failed = eventually(10, || async {
        (s.reloader.reload_failures() == 1).then_some(())
    })
    .await;
    assert!(failed.is_some(), "the reload was tried and failed");
    assert_eq!(rcode(&s, "a.example.net.").await, ResponseCode::NoError);
}

/// The *reload* plugin (2 s) applying a good edit, refusing a bad one and
/// applying a fix, while a client queries without pause and `/health`,
/// `/ready` and `/metrics` are asked throughout (all 200): no query is lost, no side listener
/// ever stops answering.
#[tokio::test(flavor = "multi_thread")]
async fn the_reload_plugin_loses_no_query_across_good_and_bad_edits() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (hp, mp, rp) = (free_port(), free_port(), free_port());
    let [health, metrics, ready] = [hp, mp, rp].map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
    let block = |zones: &str, extra: &str| {
        format!(
            "{zones} {{\n    reload 2s\n    health 127.0.0.1:{hp}\n    prometheus 127.0.0.1:{mp}\n    ready 127.0.0.1:{rp}\n    whoami{extra}\n}}\n"
        )
    };
    let (_dir, path) = temp_corefile(&block("example.org:0", ""));
    let s = start_interpreted_file(&path);
    let addr = s.udp;
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, lost, side_down) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let client = {
        let (stop, sent, lost) = (stop.clone(), sent.clone(), lost.clone());
        tokio::spawn(async move {
            let q = query("a.example.org.", RecordType::A).to_vec().unwrap();
            let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            // Bounded: at most 50,000 queries.
            while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < 50_000 {
                sent.fetch_add(1, Ordering::Relaxed);
                if udp_raw(addr, &q, Some(&sock)).await.is_none() {
                    lost.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let scraper = {
        let (stop, side_down) = (stop.clone(), side_down.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for (at, path) in [
                    (health, "/health"),
                    (metrics, "/metrics"),
                    (ready, "/ready"),
                ] {
                    if http_get(at, path).await.map(|(code, _)| code) != Some(200) {
                        side_down.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    std::fs::write(&path, block("example.org:0 example.net:0", "")).unwrap();
    assert!(until_rcode(&s, "a.example.net.", ResponseCode::NoError).await);
    std::fs::write(&path, block("example.org:0", " extra")).unwrap();
    let failed = eventually(10, || async {
        (s.reloader.reload_failures() == 1).then_some(())
    })
    .await;
    assert!(failed.is_some(), "the broken edit was tried and refused");
    std::fs::write(&path, block("example.org:0", "")).unwrap();
    assert!(until_rcode(&s, "a.example.net.", ResponseCode::Refused).await);

    stop.store(true, Ordering::Relaxed);
    client.await.unwrap();
    scraper.await.unwrap();
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent > 100, "the client kept sending ({sent})");
    assert_eq!(lost.load(Ordering::Relaxed), 0, "lost out of {sent}");
    assert_eq!(
        side_down.load(Ordering::Relaxed),
        0,
        "a side listener failed"
    );
}
