//! `cliper run` under a notify-socket harness: the messages systemd would receive with
//! `Type=notify` and `WatchdogSec=`.

use crate::common::*;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

#[test]
fn run_sends_ready_then_watchdog_pings_then_stopping() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let socket_path = tmp.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind notify socket");
    socket.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    // Read as systemd does, while the service runs: a datagram socket's queue is short,
    // and a full one would block the sender.
    let listener = std::thread::spawn(move || {
        let mut messages = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = socket.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let last = m == "STOPPING=1\n";
            messages.push(m);
            if last {
                break;
            }
        }
        messages
    });
    let frames = tmp.path().join("frames");
    std::fs::create_dir(&frames).expect("mkdir");
    // 40 frames of a real photo: a few seconds of processing, many watchdog intervals.
    for i in 0..40 {
        std::os::unix::fs::symlink(root().join("samples/sample3.jpg"), frames.join(format!("{i:03}.jpg"))).expect("link");
    }
    let config = tmp.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[source]\ntype = \"images\"\npath = \"{}\"\nfps = 20\n[pipeline]\nstats_interval_s = 0\n", frames.display()),
    )
    .expect("config");
    let out = cliper_command()
        .args(["run", "--config", config.to_str().expect("utf8")])
        .env("NOTIFY_SOCKET", &socket_path)
        // 200 ms watchdog: pings every 100 ms of processing.
        .env("WATCHDOG_USEC", "200000")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run cliper");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let messages = listener.join().expect("listener");
    assert!(messages.first().is_some_and(|m| m.contains("READY=1\n") && m.contains("STATUS=watching")), "{messages:?}");
    let pings = messages.iter().filter(|m| m.as_str() == "WATCHDOG=1\n").count();
    assert!(pings >= 2, "expected watchdog pings: {messages:?}");
    assert_eq!(messages.last().map(String::as_str), Some("STOPPING=1\n"), "{messages:?}");
}
