//! The floor: what a lean server that does only a call's unavoidable I/O costs per
//! call-second on this machine, to read `bench`'s figures against (README, "The floor").
//!
//! ```sh
//! cargo run --release --example floor -- --calls 1000 --seconds 30 --runs 3
//! ```
//!
//! It plays the same traffic as `bench` at its steady state, with the same message rates and
//! sizes, but none of the product: per call, one tokio task on a single-thread runtime (no
//! actors, no HTTP layer, no logging, no LLM or TTS streams) that
//! - reads each phone media frame (JSON, 100 ms of 8 kHz PCM16 in base64), decodes it and sends
//!   the bytes to its STT socket as one binary message (a client: masked);
//! - reads the STT socket's results (JSON, typed) about three times a second;
//! - speaks half of the time (2 s on, 2 s off): a 100 ms media frame every 100 ms, encoded and
//!   serialised each time, and a mark after each stretch.
//!
//! This process is the load: it pins itself to CPU 0, starts the server on CPU 1 (`taskset`,
//! as `bench --pin`), plays the phones and the STT endpoint, and measures the server's CPU
//! from `/proc` over a window in which every call is live (a run in which a call ended, or the
//! server died, is an error, not a figure). Both sides are tungstenite with 8 KiB buffers, as
//! the product's Deepgram client and `bench`'s phones are (the product's media socket is
//! actix-http's own).

use std::borrow::Cow;
use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use voice_runtime::bench::process_cpu;

#[derive(Parser)]
struct Args {
    /// Concurrent calls.
    #[arg(long, default_value_t = 1000)]
    calls: usize,
    /// The measured window, once every call is live.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Runs, one after another (the spread is the point on a shared machine).
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Internal: run as the server, with the STT endpoint on this port (prints its own port).
    #[arg(long, hide = true)]
    serve_with_stt: Option<u16>,
}

/// 100 ms of 8 kHz PCM16.
const FRAME_BYTES: usize = 1600;
/// The speaking pattern: 20 ticks of 100 ms on, 20 off.
const SPEAK_CYCLE: u64 = 40;

/// tungstenite's 8 KiB buffers, as the product's Deepgram client and `bench`'s phones use.
fn buffers() -> WebSocketConfig {
    voice_runtime::sandbox::websocket_buffers::small()
}

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result {
    let args = Args::parse();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    if let Some(stt) = args.serve_with_stt {
        return runtime()?.block_on(server(stt));
    }
    // Before the runtime, so that any thread it starts is pinned too.
    let me = std::process::id().to_string();
    let pinned = Command::new("taskset").args(["-pc", "0", &me]).output()?;
    if !pinned.status.success() {
        return Err("taskset could not pin the load to CPU 0".into());
    }
    let runtime = runtime()?;
    for run in 1..=args.runs {
        println!("=== run {run} of {}: {} calls", args.runs, args.calls);
        runtime.block_on(measure(&args))?;
    }
    Ok(())
}

// ── the server ───────────────────────────────────────────────────────────────────────────

#[derive(Deserialize)]
struct PhoneFrame<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    media: Option<PhoneMedia<'a>>,
}

#[derive(Deserialize)]
struct PhoneMedia<'a> {
    /// Base64 never needs a JSON escape, so it can be borrowed.
    payload: &'a str,
}

#[derive(Serialize)]
struct MediaOut<'a> {
    event: &'static str,
    stream_sid: &'a str,
    media: Payload<'a>,
}

#[derive(Serialize)]
struct Payload<'a> {
    payload: &'a str,
}

#[derive(Deserialize)]
struct SttResult<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    is_final: bool,
    #[serde(borrow, default)]
    channel: Option<Channel<'a>>,
}

#[derive(Deserialize)]
struct Channel<'a> {
    #[serde(borrow)]
    alternatives: Vec<Alternative<'a>>,
}

#[derive(Deserialize)]
struct Alternative<'a> {
    #[serde(borrow)]
    transcript: Cow<'a, str>,
}

/// What the server read, so the optimiser cannot drop the parsing.
static READ: AtomicU64 = AtomicU64::new(0);

async fn server(stt: u16) -> Result {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    // The load reads the port from this line: no port picked beforehand that another process
    // could take, no fixed wait for the server to listen.
    println!("{}", listener.local_addr()?.port());
    let mut n = 0u64;
    loop {
        // A failed accept (a full file table) loses that connection, not the server.
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                eprintln!("server accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        n += 1;
        tokio::spawn(async move {
            if let Err(e) = call(socket, stt, n).await {
                eprintln!("server call {n}: {e}");
            }
        });
    }
}

async fn call(socket: TcpStream, stt: u16, n: u64) -> Result {
    socket.set_nodelay(true)?;
    let mut phone = tokio_tungstenite::accept_async_with_config(socket, Some(buffers())).await?;
    let url = format!("ws://127.0.0.1:{stt}/listen");
    let (mut stt, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(buffers()), true).await?;
    let stream_sid = format!("S{n:08}");
    let agent_audio = vec![7u8; FRAME_BYTES];
    let mut base64 = String::with_capacity(FRAME_BYTES * 4 / 3 + 4);
    let mut speak = every(Duration::from_millis(100));
    let mut tick = 0u64;
    loop {
        tokio::select! {
            frame = phone.next() => {
                let Some(frame) = frame else { return Ok(()) };
                if let Message::Text(text) = frame? {
                    let frame: PhoneFrame = serde_json::from_str(text.as_str())?;
                    if let ("media", Some(media)) = (frame.event.as_ref(), frame.media) {
                        let audio = BASE64.decode(media.payload)?;
                        stt.send(Message::binary(audio)).await?;
                    }
                }
            }
            result = stt.next() => {
                let Some(result) = result else { return Ok(()) };
                if let Message::Text(text) = result? {
                    let result: SttResult = serde_json::from_str(text.as_str())?;
                    let words = result.channel.as_ref().and_then(|c| c.alternatives.first());
                    let read = words.map_or(0, |w| w.transcript.len()) + usize::from(result.is_final);
                    READ.fetch_add(read as u64 + u64::from(result.kind == "Results"), Relaxed);
                }
            }
            _ = speak.tick() => {
                let phase = tick % SPEAK_CYCLE;
                tick += 1;
                if phase < SPEAK_CYCLE / 2 {
                    base64.clear();
                    BASE64.encode_string(&agent_audio, &mut base64);
                    let media = MediaOut { event: "media", stream_sid: &stream_sid, media: Payload { payload: &base64 } };
                    phone.send(Message::text(serde_json::to_string(&media)?)).await?;
                    if phase == SPEAK_CYCLE / 2 - 1 {
                        let mark = format!(r#"{{"event":"mark","stream_sid":"{stream_sid}","mark":{{"name":"m{tick}"}}}}"#);
                        phone.send(Message::text(mark)).await?;
                    }
                }
            }
        }
    }
}

fn every(period: Duration) -> tokio::time::Interval {
    let mut interval = interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

// ── the load and the measurement ─────────────────────────────────────────────────────────

/// What the load saw, per kind of message (the server's rates, from the other side).
struct Seen {
    /// Phones connected and not yet hung up.
    live: AtomicU64,
    phone_sent: AtomicU64,
    phone_received: AtomicU64,
    stt_received: AtomicU64,
    stt_sent: AtomicU64,
}

static SEEN: Seen = Seen {
    live: AtomicU64::new(0),
    phone_sent: AtomicU64::new(0),
    phone_received: AtomicU64::new(0),
    stt_received: AtomicU64::new(0),
    stt_sent: AtomicU64::new(0),
};

const STT_RESULT: &str = r#"{"type":"Results","channel_index":[0,1],"duration":1.02,"start":12.34,"is_final":false,"speech_final":false,"channel":{"alternatives":[{"transcript":"a few words here to look like a partial result","confidence":0.9,"words":[]}]},"metadata":{"request_id":"7b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"}}"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn measure(args: &Args) -> Result {
    let stt = TcpListener::bind("127.0.0.1:0").await?;
    let stt_port = stt.local_addr()?.port();
    let stt_task = tokio::spawn(stt_endpoint(stt));
    let exe = std::env::current_exe()?;
    let mut server = Server(
        Command::new("taskset")
            .arg("-c")
            .arg("1")
            .arg(exe)
            .args(["--serve-with-stt", &stt_port.to_string()])
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let stdout = server.0.stdout.take().ok_or("the server's stdout")?;
    let port: u16 = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await??
    .trim()
    .parse()
    .map_err(|_| "the server did not say its port")?;
    let before = SEEN.live.load(Relaxed);
    let ramp = Duration::from_secs(10) / args.calls as u32;
    let mut phones = Vec::new();
    for i in 0..args.calls {
        phones.push(tokio::spawn(phone(port)));
        if i + 1 < args.calls {
            tokio::time::sleep(ramp).await;
        }
    }
    let all_live = Instant::now() + Duration::from_secs(60);
    while SEEN.live.load(Relaxed).saturating_sub(before) < args.calls as u64 {
        if Instant::now() > all_live {
            return Err("the calls did not all start within a minute".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = server.0.id();
    let (cpu0, kernel0, load0) = (
        process_cpu::cpu_ms(pid),
        process_cpu::kernel_cpu_ms(pid),
        process_cpu::cpu_ms(std::process::id()),
    );
    let counts0 = counts();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let window = started.elapsed().as_secs_f64();
    let (cpu1, kernel1, load1) = (
        process_cpu::cpu_ms(pid),
        process_cpu::kernel_cpu_ms(pid),
        process_cpu::cpu_ms(std::process::id()),
    );
    let counts1 = counts();
    if let Some(status) = server.0.try_wait()? {
        return Err(format!("the server died in the window ({status})").into());
    }
    // Phones never reconnect: all of them live at the end were live the whole window.
    let live = SEEN.live.load(Relaxed).saturating_sub(before);
    if live != args.calls as u64 {
        return Err(format!("{} calls ended in the window", args.calls as u64 - live).into());
    }
    let call_seconds = args.calls as f64 * window;
    let (cpu, kernel) = (
        cpu1.saturating_sub(cpu0) as f64,
        kernel1.saturating_sub(kernel0) as f64,
    );
    println!(
        "server CPU {:.2} ms per call-second ({:.0} % of it in the kernel); load {:.2} ms per call-second; all {live} calls live through the window",
        cpu / call_seconds,
        100.0 * kernel / cpu.max(1.0),
        (load1 - load0) as f64 / call_seconds,
    );
    let rate = |i: usize| (counts1[i] - counts0[i]) as f64 / call_seconds;
    println!(
        "per call-second at the server: {:.2} phone frames in, {:.2} STT messages out, {:.2} STT results in, {:.2} phone messages out (media and marks)",
        rate(0), rate(1), rate(2), rate(3),
    );
    for phone in phones {
        phone.abort();
    }
    stt_task.abort();
    drop(server);
    // The aborted phones count themselves out (`HangUp`) before the next run starts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

/// As the load counted them: phone frames sent to the server, STT messages that came from it,
/// STT results sent to it, phone messages (media and marks) that came from it.
fn counts() -> [u64; 4] {
    [
        SEEN.phone_sent.load(Relaxed),
        SEEN.stt_received.load(Relaxed),
        SEEN.stt_sent.load(Relaxed),
        SEEN.phone_received.load(Relaxed),
    ]
}

async fn phone(port: u16) {
    let url = format!("ws://127.0.0.1:{port}/media");
    let Ok((mut socket, _)) =
        tokio_tungstenite::connect_async_with_config(url, Some(buffers()), true).await
    else {
        eprintln!("a phone could not connect");
        return;
    };
    SEEN.live.fetch_add(1, Relaxed);
    let _hung_up = HangUp;
    let payload = BASE64.encode([3u8; FRAME_BYTES]);
    let frame = Message::text(format!(
        r#"{{"event":"media","stream_sid":"SLOAD","media":{{"payload":"{payload}"}}}}"#
    ));
    let mut send = every(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = send.tick() => {
                if socket.send(frame.clone()).await.is_err() { return; }
                SEEN.phone_sent.fetch_add(1, Relaxed);
            }
            message = socket.next() => match message {
                Some(Ok(_)) => { SEEN.phone_received.fetch_add(1, Relaxed); }
                _ => return,
            },
        }
    }
}

/// Counts a phone out of `live` however its task ends (the server closed it, or an abort).
struct HangUp;

impl Drop for HangUp {
    fn drop(&mut self) {
        SEEN.live.fetch_sub(1, Relaxed);
    }
}

async fn stt_endpoint(listener: TcpListener) {
    while let Ok((socket, _)) = listener.accept().await {
        tokio::spawn(async move {
            let _ = socket.set_nodelay(true);
            let Ok(mut socket) =
                tokio_tungstenite::accept_async_with_config(socket, Some(buffers())).await
            else {
                return;
            };
            let result = Message::text(STT_RESULT);
            let mut send = every(Duration::from_millis(333));
            loop {
                tokio::select! {
                    _ = send.tick() => {
                        if socket.send(result.clone()).await.is_err() { return; }
                        SEEN.stt_sent.fetch_add(1, Relaxed);
                    }
                    message = socket.next() => match message {
                        Some(Ok(Message::Binary(_))) => { SEEN.stt_received.fetch_add(1, Relaxed); }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                }
            }
        });
    }
}
