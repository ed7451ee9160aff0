//! The real `voice-runtime serve` process: what it refuses to start with, and what its log
//! keeps out (secrets, callers' numbers).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_voice-runtime");

/// `serve` in an empty folder (no `.env`), with exactly these variables.
pub(crate) fn serve(dir: &tempfile::TempDir, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(EXE);
    command
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("BIND_ADDR", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
        )
        .env("RUST_LOG", "info")
        // JSON lines: no colour codes between a field's name and its value.
        .env("LOG_FORMAT", "json")
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Waits (bounded) for a child that should exit by itself; kills it if it does not.
fn exit_of(mut child: Child) -> (Option<i32>, String) {
    for _ in 0..300 {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
            }
            return (status.code(), err);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("serve kept running");
}

#[test]
fn a_public_server_refuses_to_start_without_its_secrets() {
    let public = ("OUR_BASE_URL", "https://calls.example.com");
    let cases: [(&[(&str, &str)], &str); 2] = [
        (&[public, ("WEBHOOK_SECRET", "whsec-1")], "API_KEY"),
        (&[public, ("API_KEY", "key-1")], "WEBHOOK_SECRET"),
    ];
    for (vars, missing) in cases {
        let dir = tempfile::tempdir().unwrap();
        let child = serve(&dir, vars).spawn().unwrap();
        let (code, stderr) = exit_of(child);
        assert_eq!(code, Some(2), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains(missing), "{stderr}");
        assert!(lines[0].contains("OUR_BASE_URL"), "{stderr}");
        for secret in ["whsec-1", "key-1"] {
            assert!(!stderr.contains(secret), "a secret was echoed: {stderr}");
        }
    }
}

/// The access log shows the path, never the query (`token=…`, `From=…`); numbers that are
/// logged are masked.
#[test]
fn the_log_keeps_out_secrets_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "whsec-never-in-logs";
    let mut child = serve(
        &dir,
        &[
            ("OUR_BASE_URL", "https://calls.example.com"),
            ("API_KEY", "api-key-never-in-logs"),
            ("WEBHOOK_SECRET", secret),
        ],
    )
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let next = |log: &mut Vec<String>| {
        let line = lines.recv_timeout(Duration::from_secs(30)).ok()?;
        log.push(line.clone());
        Some(line)
    };
    let port = loop {
        let Some(line) = next(&mut log) else {
            let _ = child.kill();
            panic!("serve did not start: {log:?}");
        };
        if let Some(rest) = line.split("\"port\":").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            break digits.parse::<u16>().unwrap();
        }
    };
    let url = format!(
        "http://127.0.0.1:{port}/exotel/voicebot-url?CallSid=CA77&From=09876543210&To=08012345678&CustomField=c%3D1%3Bl%3D2%3Bs%3D3%3Ba%3D1&token={secret}"
    );
    let status = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async { reqwest::get(url).await.map(|r| r.status().as_u16()) })
    })
    .join()
    .unwrap();
    assert_eq!(status.ok(), Some(200));
    // The access line is written once the response is done; read until it shows (bounded).
    while !log.iter().any(|l| l.contains("/exotel/voicebot-url")) {
        if next(&mut log).is_none() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    while next(&mut log).is_some() {}
    let text = log.join("\n");
    assert!(
        log.iter()
            .any(|l| l.contains("GET /exotel/voicebot-url 200")),
        "no access line: {text}"
    );
    for leak in [
        secret,
        "token=",
        "9876543210",
        "8012345678",
        "api-key-never-in-logs",
    ] {
        assert!(!text.contains(leak), "{leak} in the log: {text}");
    }
    assert!(
        text.contains("*******3210"),
        "the number is logged masked: {text}"
    );
}
