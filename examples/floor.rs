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
//! the product's Deepgram client and `bench`'s phones are.
//!
//! `--media` picks the phones' side of the server, to price the product's choice of media
//! socket (the STT side and the work per message are the same in all of them):
//! - `tungstenite` (the default): one task per call, as above — the floor;
//! - `actix-ws`: actix-web serves `/media` and each call is one task on `actix-ws` (actix-http's
//!   WebSocket codec, no actor);
//! - `actix-ws-hop`: as `actix-ws`, but the STT audio goes through a writer task (one hop
//!   between tasks per caller frame, as the actor below has): the price of a hop alone;
//! - `actix-actor`: actix-web and an `actix-web-actors` actor per call, as the product's
//!   `MediaSocket` is: frames arrive as `StreamHandler` messages, the STT results as a stream
//!   added to the actor's context, its audio goes out through a writer task (as the
//!   `SttActor`'s does), and the agent's frames on a `run_interval`.

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
    /// The phones' side of the server.
    #[arg(long, value_enum, default_value_t = Media::Tungstenite)]
    media: Media,
    /// Internal: run as the server, with the STT endpoint on this port (prints its own port).
    #[arg(long, hide = true)]
    serve_with_stt: Option<u16>,
}

/// Which WebSocket server the phones talk to (module docs).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Media {
    Tungstenite,
    ActixWs,
    ActixWsHop,
    ActixActor,
}

impl Media {
    fn as_arg(self) -> &'static str {
        match self {
            Media::Tungstenite => "tungstenite",
            Media::ActixWs => "actix-ws",
            Media::ActixWsHop => "actix-ws-hop",
            Media::ActixActor => "actix-actor",
        }
    }
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
        return match args.media {
            Media::Tungstenite => runtime()?.block_on(server(stt)),
            Media::ActixWs | Media::ActixWsHop | Media::ActixActor => actix_server(stt, args.media),
        };
    }
    // Before the runtime, so that any thread it starts is pinned too.
    let me = std::process::id().to_string();
    let pinned = Command::new("taskset").args(["-pc", "0", &me]).output()?;
    if !pinned.status.success() {
        return Err("taskset could not pin the load to CPU 0".into());
    }
    let runtime = runtime()?;
    for run in 1..=args.runs {
        println!(
            "=== run {run} of {}: {} calls, media socket {:?}",
            args.runs, args.calls, args.media
        );
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
                    if let Some(audio) = caller_audio(text.as_str())? {
                        stt.send(Message::binary(audio)).await?;
                    }
                }
            }
            result = stt.next() => {
                let Some(result) = result else { return Ok(()) };
                if let Message::Text(text) = result? {
                    read_stt_result(text.as_str())?;
                }
            }
            _ = speak.tick() => {
                for message in agent_messages(&stream_sid, &agent_audio, &mut base64, &mut tick)? {
                    phone.send(Message::text(message)).await?;
                }
            }
        }
    }
}

/// A phone frame's audio, decoded, when it is a media frame.
fn caller_audio(text: &str) -> Result<Option<Vec<u8>>> {
    let frame: PhoneFrame = serde_json::from_str(text)?;
    Ok(match (frame.event.as_ref(), frame.media) {
        ("media", Some(media)) => Some(BASE64.decode(media.payload)?),
        _ => None,
    })
}

/// Parses an STT result as the product does (typed, the words borrowed).
fn read_stt_result(text: &str) -> Result {
    let result: SttResult = serde_json::from_str(text)?;
    let words = result.channel.as_ref().and_then(|c| c.alternatives.first());
    let read = words.map_or(0, |w| w.transcript.len()) + usize::from(result.is_final);
    READ.fetch_add(read as u64 + u64::from(result.kind == "Results"), Relaxed);
    Ok(())
}

/// What goes to the phone on one 100 ms tick: a media frame while the agent speaks, and a
/// mark after each stretch.
fn agent_messages(
    stream_sid: &str,
    agent_audio: &[u8],
    base64: &mut String,
    tick: &mut u64,
) -> Result<Vec<String>> {
    let phase = *tick % SPEAK_CYCLE;
    *tick += 1;
    let mut out = Vec::new();
    if phase < SPEAK_CYCLE / 2 {
        base64.clear();
        BASE64.encode_string(agent_audio, base64);
        let media = MediaOut {
            event: "media",
            stream_sid,
            media: Payload { payload: base64 },
        };
        out.push(serde_json::to_string(&media)?);
        if phase == SPEAK_CYCLE / 2 - 1 {
            out.push(format!(
                r#"{{"event":"mark","stream_sid":"{stream_sid}","mark":{{"name":"m{tick}"}}}}"#
            ));
        }
    }
    Ok(out)
}

// ── the same calls behind actix-web (`--media actix-ws | actix-actor`) ───────────────────

/// The largest frame read, as the product's media socket.
const MAX_FRAME_BYTES: usize = 64 * 1024;

static CALLS: AtomicU64 = AtomicU64::new(0);

/// actix-web with one worker (the server is pinned to one core), serving `/media`.
fn actix_server(stt: u16, media: Media) -> Result {
    actix_rt::System::new().block_on(async move {
        let server = actix_web::HttpServer::new(move || {
            let route = match media {
                Media::ActixActor => actix_web::web::get().to(media_actor),
                Media::ActixWsHop => actix_web::web::get().to(media_ws::<true>),
                _ => actix_web::web::get().to(media_ws::<false>),
            };
            actix_web::App::new()
                .app_data(actix_web::web::Data::new(stt))
                .route("/media", route)
        })
        .workers(1)
        .bind(("127.0.0.1", 0))?;
        let port = server.addrs().first().ok_or("no address")?.port();
        println!("{port}");
        server.run().await?;
        Ok(())
    })
}

async fn connect_stt(
    stt: u16,
) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>> {
    let url = format!("ws://127.0.0.1:{stt}/listen");
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(buffers()), true).await?;
    Ok(socket)
}

/// `/media` as an `actix-ws` task; `HOP`: the STT audio through a writer task (`actix-ws-hop`).
async fn media_ws<const HOP: bool>(
    req: actix_web::HttpRequest,
    body: actix_web::web::Payload,
    stt: actix_web::web::Data<u16>,
) -> actix_web::Result<actix_web::HttpResponse> {
    let (response, session, frames) = actix_ws::handle(&req, body)?;
    let frames = frames.max_frame_size(MAX_FRAME_BYTES);
    let (stt, n) = (**stt, CALLS.fetch_add(1, Relaxed));
    actix_web::rt::spawn(async move {
        if let Err(e) = ws_call(session, frames, SttSide::connect(stt, HOP).await, n).await {
            eprintln!("server call {n}: {e}");
        }
    });
    Ok(response)
}

type SttSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The STT socket of an `actix-ws` call: written inline, or through a writer task (one hop).
// One per call, made once and never moved: boxing the socket would only add an indirection to
// the path the inline variant measures.
#[allow(clippy::large_enum_variant)]
enum SttSide {
    Inline(SttSocket),
    Hop {
        source: futures::stream::SplitStream<SttSocket>,
        to_stt: tokio::sync::mpsc::UnboundedSender<Message>,
    },
}

impl SttSide {
    async fn connect(stt: u16, hop: bool) -> Result<SttSide> {
        let socket = connect_stt(stt).await?;
        if !hop {
            return Ok(SttSide::Inline(socket));
        }
        let (mut sink, source) = socket.split();
        let (to_stt, mut rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
        actix_web::rt::spawn(async move {
            while let Some(message) = rx.recv().await {
                if sink.send(message).await.is_err() {
                    return;
                }
            }
        });
        Ok(SttSide::Hop { source, to_stt })
    }

    async fn send(&mut self, message: Message) -> Result {
        match self {
            SttSide::Inline(socket) => Ok(socket.send(message).await?),
            SttSide::Hop { to_stt, .. } => {
                Ok(to_stt.send(message).map_err(|_| "the STT writer ended")?)
            }
        }
    }

    async fn next(
        &mut self,
    ) -> Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>> {
        match self {
            SttSide::Inline(socket) => socket.next().await,
            SttSide::Hop { source, .. } => source.next().await,
        }
    }
}

/// `call`, with actix-ws for the phone's socket.
async fn ws_call(
    mut phone: actix_ws::Session,
    mut frames: actix_ws::MessageStream,
    stt: Result<SttSide>,
    n: u64,
) -> Result {
    let mut stt = stt?;
    let stream_sid = format!("S{n:08}");
    let agent_audio = vec![7u8; FRAME_BYTES];
    let mut base64 = String::with_capacity(FRAME_BYTES * 4 / 3 + 4);
    let mut speak = every(Duration::from_millis(100));
    let mut tick = 0u64;
    loop {
        tokio::select! {
            frame = frames.next() => {
                let Some(frame) = frame else { return Ok(()) };
                if let actix_ws::Message::Text(text) = frame? {
                    if let Some(audio) = caller_audio(&text)? {
                        stt.send(Message::binary(audio)).await?;
                    }
                }
            }
            result = stt.next() => {
                let Some(result) = result else { return Ok(()) };
                if let Message::Text(text) = result? {
                    read_stt_result(text.as_str())?;
                }
            }
            _ = speak.tick() => {
                for message in agent_messages(&stream_sid, &agent_audio, &mut base64, &mut tick)? {
                    phone.text(message).await.map_err(|_| "the phone's socket closed")?;
                }
            }
        }
    }
}

async fn media_actor(
    req: actix_web::HttpRequest,
    body: actix_web::web::Payload,
    stt: actix_web::web::Data<u16>,
) -> actix_web::Result<actix_web::HttpResponse> {
    let actor = MediaActor {
        stt: **stt,
        stream_sid: format!("S{:08}", CALLS.fetch_add(1, Relaxed)),
        to_stt: None,
        agent_audio: vec![7u8; FRAME_BYTES],
        base64: String::with_capacity(FRAME_BYTES * 4 / 3 + 4),
        tick: 0,
    };
    actix_web_actors::ws::WsResponseBuilder::new(actor, &req, body)
        .frame_size(MAX_FRAME_BYTES)
        .start()
}

/// `call`, as an `actix-web-actors` actor (module docs).
struct MediaActor {
    stt: u16,
    stream_sid: String,
    /// The STT socket's writer task.
    to_stt: Option<tokio::sync::mpsc::UnboundedSender<Message>>,
    agent_audio: Vec<u8>,
    base64: String,
    tick: u64,
}

/// A message from the STT socket.
struct FromStt(std::result::Result<Message, tokio_tungstenite::tungstenite::Error>);

impl actix::Actor for MediaActor {
    type Context = actix_web_actors::ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        use actix::{ActorContext as _, ActorFutureExt as _, AsyncContext as _, WrapFuture as _};
        // No phone frame is handled before the STT socket is open (`wait`), as in `call`.
        let connecting = connect_stt(self.stt)
            .into_actor(self)
            .map(|socket, act, ctx| {
                let Ok(socket) = socket else {
                    ctx.stop();
                    return;
                };
                let (mut sink, source) = socket.split();
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
                actix_web::rt::spawn(async move {
                    while let Some(message) = rx.recv().await {
                        if sink.send(message).await.is_err() {
                            return;
                        }
                    }
                });
                act.to_stt = Some(tx);
                ctx.add_stream(source.map(FromStt));
            });
        ctx.wait(connecting);
        ctx.run_interval(Duration::from_millis(100), |act, ctx| match agent_messages(
            &act.stream_sid,
            &act.agent_audio,
            &mut act.base64,
            &mut act.tick,
        ) {
            Ok(messages) => messages.into_iter().for_each(|m| ctx.text(m)),
            Err(_) => ctx.stop(),
        });
    }
}

impl
    actix::StreamHandler<
        std::result::Result<actix_web_actors::ws::Message, actix_web_actors::ws::ProtocolError>,
    > for MediaActor
{
    fn handle(
        &mut self,
        frame: std::result::Result<
            actix_web_actors::ws::Message,
            actix_web_actors::ws::ProtocolError,
        >,
        ctx: &mut Self::Context,
    ) {
        use actix::ActorContext as _;
        let audio = match frame {
            Ok(actix_web_actors::ws::Message::Text(text)) => caller_audio(&text),
            Ok(_) => Ok(None),
            Err(_) => Err("a bad frame".into()),
        };
        match (audio, &self.to_stt) {
            (Ok(Some(audio)), Some(stt)) => {
                let _ = stt.send(Message::binary(audio));
            }
            (Ok(_), _) => {}
            (Err(_), _) => ctx.stop(),
        }
    }
}

impl actix::StreamHandler<FromStt> for MediaActor {
    fn handle(&mut self, FromStt(result): FromStt, ctx: &mut Self::Context) {
        use actix::ActorContext as _;
        match result {
            Ok(Message::Text(text)) => {
                if read_stt_result(text.as_str()).is_err() {
                    ctx.stop();
                }
            }
            Ok(_) => {}
            Err(_) => ctx.stop(),
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
            .args(["--media", args.media.as_arg()])
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
