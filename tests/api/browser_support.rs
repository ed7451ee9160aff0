//! Headless Chromium driven over WebDriver (fantoccini + Debian's chromedriver), for the
//! console's end-to-end test.
//!
//! fantoccini speaks the W3C WebDriver protocol: a standard any browser driver implements,
//! through a small async client (hyper), where a CDP client such as chromiumoxide compiles the
//! whole generated Chrome DevTools protocol and follows one browser's internals.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// One browser at a time in the whole test binary: two Chromiums on two shared cores would
/// make each test's waits a matter of luck.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A chromedriver process and a browser session on it; both end on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads its own process group (see `start`): killing the group takes
        // Chromium and its helpers with it, even when the test panicked mid-session.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `CHROMEDRIVER` (scripts/test.sh sets it from scripts/chromium.sh), else Debian's path.
fn chromedriver_path() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, at 1280×900.
    pub async fn start() -> Browser {
        let turn = ONE_BROWSER.lock().await;
        let path = chromedriver_path();
        assert!(
            std::path::Path::new(&path).exists(),
            "chromedriver not found at {path}: run `bash scripts/chromium.sh` (scripts/test.sh does)"
        );
        let port = free_port();
        let driver = Command::new(&path)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        // The flags keep Chromium off the network it cannot reach here (background updates,
        // sync, component downloads) and runnable as root in a container.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": args, "binary": "/usr/bin/chromium"}),
        );
        // Two TLS back-ends are linked into this test binary (ring and aws-lc-rs, by different
        // crates), so rustls cannot pick one by itself; the driver is plain http anyway.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            let connector = ClientBuilder::rustls()
                .expect("TLS roots")
                .capabilities(caps.clone())
                .connect(&url)
                .await;
            match connector {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                        _turn: turn,
                    }
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last_error}");
    }

    /// Ends the WebDriver session (Chromium quits), then the driver goes on drop.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
    }

    pub async fn text(&self, selector: &str) -> String {
        self.css(selector).await.text().await.unwrap()
    }

    pub async fn count(&self, selector: &str) -> usize {
        self.client
            .find_all(Locator::Css(selector))
            .await
            .map(|all| all.len())
            .unwrap_or(0)
    }

    pub async fn fill(&self, selector: &str, value: &str) {
        let input = self.css(selector).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, selector: &str) {
        self.css(selector).await.click().await.unwrap();
    }

    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Saves a PNG of the viewport to `SCREENSHOTS_DIR/<name>.png` when that is set
    /// (scripts/screenshots.sh sets it to docs/screenshots).
    pub async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("SCREENSHOTS_DIR") else {
            return;
        };
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }

    /// Polls `check` (a script returning true or false) until it holds, up to `seconds`.
    pub async fn until(&self, seconds: u64, what: &str, script: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        while std::time::Instant::now() < deadline {
            if self.js(script).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }
}
