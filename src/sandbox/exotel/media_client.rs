//! The simulated Exotel side of a media stream: opens our `/media` socket as Exotel does
//! (`connected`, `start`, then 100 ms `media` frames in real time), plays what we send in real
//! time, echoes `mark`s when playout reaches them, drops queued audio on `clear`, presses keys,
//! and speaks for a persona who listens to the agent. It records both directions and warns, in
//! its log, about anything a real Exotel would reject or choke on.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::media::audio::{pcm_from_base64, pcm_to_base64};
use crate::sandbox::persona::{MachineEnd, Persona, Reply};
use crate::sandbox::voice_codec::{self, Decoder, Heard};

/// One simulated answered call.
#[derive(Debug, Clone)]
pub struct MediaCall {
    /// Our media socket URL (with its token).
    pub url: String,
    pub call_sid: String,
    pub stream_sid: String,
    pub sample_rate: u32,
    pub custom_parameters: Value,
    pub persona: Persona,
    /// The call is cut after this long (Exotel's `TimeLimit`).
    pub time_limit: Duration,
    /// Collect audio-health figures (the load benchmark).
    pub measure: bool,
    /// Keep both sides' audio for a recording (`caller_audio`, `agent_audio`); off, a
    /// thousand-call benchmark does not hold gigabytes of it.
    pub record: bool,
}

/// What happened on the call, as the simulated phone saw it.
#[derive(Debug, Clone, Default)]
pub struct CallReport {
    /// The agent's turns as the caller heard them.
    pub agent_turns: Vec<String>,
    /// What the caller said.
    pub caller_said: Vec<String>,
    pub clears: u32,
    pub marks_echoed: u32,
    pub caller_hung_up: bool,
    pub duration: Duration,
    /// Things a real Exotel would reject or choke on.
    pub warnings: Vec<String>,
    /// Caller and agent audio, for the WAV recording.
    pub caller_audio: Vec<i16>,
    pub agent_audio: Vec<i16>,
    /// Audio health at the phone (the load benchmark reads these).
    pub health: AudioHealth,
    /// The persona who took the call.
    pub persona: String,
    /// Every silence the caller sat through waiting for the agent: from picking up to the
    /// greeting, and from the end of each thing they said (while the agent was quiet) to the
    /// agent's next audible frame.
    pub waits: Vec<Wait>,
    /// A machine persona: what the agent said that the machine recorded (utterances begun
    /// after its greeting and beep ended).
    pub machine_recorded: Vec<String>,
    /// A machine persona: agent utterances begun while the greeting or beep still played.
    pub machine_talked_over: Vec<String>,
}

/// One stretch of silence the caller heard while waiting for the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub after: WaitCause,
    pub ms: u32,
    /// False when no agent audio ever came: the call ended (or was cut) while the caller
    /// waited; `ms` runs to that end.
    pub answered: bool,
}

/// What the caller was waiting after.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitCause {
    /// The call was picked up (`start`): waiting for the greeting.
    PickUp,
    /// The caller said this.
    CallerSpoke(String),
}

impl CallReport {
    /// The longest silence the caller heard while waiting for the agent.
    pub fn longest_wait(&self) -> Option<&Wait> {
        self.waits.iter().max_by_key(|w| w.ms)
    }
}

/// A playout tick this far behind its schedule is the phone's own lateness (a busy load
/// generator), a burst of ticks played at once; a real phone's jitter buffer plays at
/// real-time pace whatever its host does.
pub const PHONE_LATE: Duration = Duration::from_millis(50);

/// How the agent's audio arrived, as a phone would judge it.
#[derive(Debug, Clone, Default)]
pub struct AudioHealth {
    /// Playout ticks where the buffer ran dry in the middle of an agent utterance.
    pub underruns: u32,
    /// Of those, the ones in a tick that fired `PHONE_LATE` or more behind its schedule: the
    /// phone itself (the load generator) fell behind and played a burst of ticks at once,
    /// which empties any buffer the server keeps at real-time pace. Not the server's doing.
    pub underruns_phone_late: u32,
    /// Playout ticks that fired `PHONE_LATE` or more behind their schedule.
    pub late_ticks: u32,
    /// The phone's worst tick, ms behind its schedule.
    pub tick_late_max_ms: u32,
    /// Per media message: how late it arrived against real-time pacing from its burst's first
    /// message (the audio before it, played from then), ms.
    pub lateness_ms: Vec<u16>,
    /// End of the caller's speech → first agent audio at the phone, ms, per answered turn.
    pub response_ms: Vec<u32>,
    pub frames: u64,
}

struct Phone {
    call: MediaCall,
    report: CallReport,
    /// What the caller is about to say (played out 100 ms per tick).
    mouth: VecDeque<i16>,
    /// What we received and have not played yet, and the marks waiting in it.
    ear: VecDeque<i16>,
    received: u64,
    played: u64,
    marks: VecDeque<(u64, String)>,
    decoder: Decoder,
    turn_text: String,
    turn_started: Option<Instant>,
    last_agent_audio: Instant,
    turn_index: usize,
    replies: VecDeque<Reply>,
    pending_reply: Option<(Instant, Reply)>,
    barged: bool,
    backchanneled: bool,
    chunk: u64,
    warned_burst: bool,
    /// Current burst of agent audio: when its first message came and the samples since.
    burst: Option<(Instant, u64)>,
    /// When the last media message came, and how long its audio plays.
    last_frame_at: Option<(Instant, Duration)>,
    mid_utterance: bool,
    cleared_at: Option<Instant>,
    /// When the caller last finished saying something, awaiting the agent's answer.
    spoke_until: Option<Instant>,
    measure: bool,
    /// Since when, and after what, the caller has been waiting for the agent's audio.
    waiting: Option<(Instant, WaitCause)>,
    /// What the caller is saying now (for the wait's cause), and the last audible agent frame.
    saying: String,
    last_audible_at: Option<Instant>,
    call_started: Instant,
    pickup_said: bool,
    /// A machine persona: when its greeting (and beep) finished playing.
    machine_done_at: Option<Instant>,
    /// Whether the agent utterance being decoded began after the machine's greeting.
    utterance_recorded: bool,
}

fn warn(report: &mut CallReport, what: String) {
    tracing::warn!(target: "exotel_simulator", "{what}");
    report.warnings.push(what);
}

impl Phone {
    /// A phone that just picked up `call`.
    fn new(call: &MediaCall) -> Phone {
        let rate = call.sample_rate;
        let picked_up = Instant::now();
        Phone {
            waiting: Some((picked_up, WaitCause::PickUp)),
            saying: String::new(),
            last_audible_at: None,
            call_started: picked_up,
            pickup_said: false,
            replies: call.persona.replies.iter().cloned().collect(),
            decoder: Decoder::new(rate),
            call: call.clone(),
            report: CallReport {
                persona: call.persona.name.clone(),
                ..CallReport::default()
            },
            mouth: VecDeque::new(),
            ear: VecDeque::new(),
            received: 0,
            played: 0,
            marks: VecDeque::new(),
            turn_text: String::new(),
            turn_started: None,
            last_agent_audio: Instant::now(),
            turn_index: 0,
            pending_reply: None,
            barged: false,
            backchanneled: false,
            chunk: 0,
            warned_burst: false,
            burst: None,
            last_frame_at: None,
            mid_utterance: false,
            cleared_at: None,
            spoke_until: None,
            measure: call.measure,
            machine_done_at: None,
            utterance_recorded: false,
        }
    }

    fn samples_per_tick(&self) -> usize {
        self.call.sample_rate as usize / 10
    }

    fn on_server_text(&mut self, text: &str) -> Option<String> {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            warn(
                &mut self.report,
                format!("not JSON from the server: {text:.80}"),
            );
            return None;
        };
        if v.get("streamSid").is_some() {
            warn(
                &mut self.report,
                "camelCase streamSid: Exotel expects stream_sid".into(),
            );
        }
        match v["event"].as_str().unwrap_or("") {
            "media" => {
                let payload = v["media"]["payload"].as_str().unwrap_or("");
                let bytes = payload.len() / 4 * 3;
                let frame_bytes = self.call.sample_rate as usize / 50 * 2;
                match pcm_from_base64(payload) {
                    Ok(pcm) => {
                        self.note_frame(pcm.iter().any(|s| *s != 0), pcm.len());
                        if (pcm.len() * 2) % frame_bytes != 0 {
                            warn(
                                &mut self.report,
                                format!(
                                    "media chunk of {} bytes is not a multiple of {frame_bytes}",
                                    pcm.len() * 2
                                ),
                            );
                        }
                        self.received += pcm.len() as u64;
                        self.ear.extend(pcm);
                    }
                    Err(e) => warn(
                        &mut self.report,
                        format!("bad media payload ({bytes} bytes): {e}"),
                    ),
                }
                if !self.warned_burst && self.ear.len() > self.call.sample_rate as usize * 2 {
                    self.warned_burst = true;
                    warn(
                        &mut self.report,
                        "audio sent more than 2 s ahead of real time".into(),
                    );
                }
            }
            "mark" => {
                let name = v["mark"]["name"].as_str().unwrap_or("").to_string();
                self.marks.push_back((self.received, name));
            }
            "clear" => {
                self.report.clears += 1;
                self.cleared_at = Some(Instant::now());
                self.received -= self.ear.len() as u64;
                self.ear.clear();
                // Marks behind the cleared audio come back at once, as played.
                let due: Vec<String> = self.marks.drain(..).map(|(_, n)| n).collect();
                return (!due.is_empty()).then(|| due.join("\n"));
            }
            other => warn(
                &mut self.report,
                format!("unexpected event {other:?} from the server"),
            ),
        }
        None
    }

    /// Arrival of one agent media message of `samples`: pacing lateness, and the answer time
    /// after the caller spoke. Messages may carry 20 to 200 ms (`EXOTEL_OUTBOUND_CHUNK_MS`).
    fn note_frame(&mut self, audible: bool, samples: usize) {
        let now = Instant::now();
        let rate = u64::from(self.call.sample_rate.max(1));
        let plays = Duration::from_millis(samples as u64 * 1000 / rate);
        self.report.health.frames += 1;
        // A gap well past the last message's own length is a pause between bursts, not lateness.
        let new_burst = self.last_frame_at.is_none_or(|(t, last_plays)| {
            now.duration_since(t) > last_plays + Duration::from_millis(200)
        });
        self.last_frame_at = Some((now, plays));
        if new_burst {
            self.burst = Some((now, samples as u64));
        } else if let Some((start, before)) = self.burst.as_mut() {
            if self.measure {
                let due = *start + Duration::from_millis(*before * 1000 / rate);
                let late = now
                    .saturating_duration_since(due)
                    .as_millis()
                    .min(u16::MAX as u128) as u16;
                self.report.health.lateness_ms.push(late);
            }
            *before += samples as u64;
        }
        if audible {
            self.last_audible_at = Some(now);
            if let Some((since, after)) = self.waiting.take() {
                self.report.waits.push(Wait {
                    after,
                    ms: now.saturating_duration_since(since).as_millis() as u32,
                    answered: true,
                });
            }
            if let Some(spoke) = self.spoke_until.take() {
                if now > spoke {
                    self.report
                        .health
                        .response_ms
                        .push(now.duration_since(spoke).as_millis() as u32);
                }
            }
        }
    }

    /// One 100 ms tick, `late` behind its schedule: play what is due, note turns, decide what
    /// the caller does.
    fn tick(&mut self, late: Duration) -> (Vec<i16>, Vec<String>, Vec<Reply>) {
        let n = self.samples_per_tick();
        let recently_cleared = self
            .cleared_at
            .is_some_and(|t| t.elapsed() < Duration::from_millis(600));
        let phone_late = late >= PHONE_LATE;
        if self.measure {
            let health = &mut self.report.health;
            let late_ms = late.as_millis().min(u32::MAX as u128) as u32;
            health.tick_late_max_ms = health.tick_late_max_ms.max(late_ms);
            health.late_ticks += u32::from(phone_late);
            if self.mid_utterance && self.ear.is_empty() && !recently_cleared {
                health.underruns += 1;
                health.underruns_phone_late += u32::from(phone_late);
            }
        }
        let heard: Vec<i16> = (0..n).map(|_| self.ear.pop_front().unwrap_or(0)).collect();
        let real = n.min(heard.len());
        self.played = (self.played + real as u64).min(self.received);
        if heard.iter().any(|s| *s != 0) {
            self.last_agent_audio = Instant::now();
            self.turn_started.get_or_insert_with(Instant::now);
        }
        if self.call.record {
            self.report.agent_audio.extend(&heard);
        }
        for event in self.decoder.push(&heard) {
            match event {
                Heard::Utterance { text, .. } => {
                    self.mid_utterance = false;
                    self.machine_heard(&text);
                    if !self.turn_text.is_empty() {
                        self.turn_text.push(' ');
                    }
                    self.turn_text.push_str(text.trim());
                }
                Heard::Partial(_) => self.mid_utterance = true,
                Heard::SpeechStarted => self.utterance_recorded = self.machine_done_at.is_some(),
            }
        }
        let mut echoes = Vec::new();
        while self
            .marks
            .front()
            .is_some_and(|(pos, _)| *pos <= self.played)
        {
            if let Some((_, name)) = self.marks.pop_front() {
                echoes.push(name);
            }
        }
        let mut actions = self.during_turn();
        actions.extend(self.machine_tick());
        if self.ear.is_empty()
            && !self.turn_text.is_empty()
            && self.last_agent_audio.elapsed() > Duration::from_millis(700)
        {
            let said = std::mem::take(&mut self.turn_text);
            self.report.agent_turns.push(said.clone());
            self.turn_index += 1;
            self.turn_started = None;
            if let Some(reply) = self.next_reply(&said) {
                self.pending_reply = Some((Instant::now() + self.call.persona.think, reply));
            }
        }
        if self
            .pending_reply
            .as_ref()
            .is_some_and(|(at, _)| Instant::now() >= *at)
        {
            if let Some((_, reply)) = self.pending_reply.take() {
                actions.push(reply);
            }
        }
        if let Some((text, after)) = &self.call.persona.says_on_pickup {
            if !self.pickup_said && self.call_started.elapsed() >= *after {
                self.pickup_said = true;
                actions.push(Reply::Say(text.clone()));
            }
        }
        let m = n.min(self.mouth.len());
        if m > 0 && m == self.mouth.len() {
            // The caller's last words go out this tick: the agent's answer is timed from here.
            self.spoke_until = Some(Instant::now());
            // Waiting starts only if the agent is quiet: words said over the agent (a
            // back-channel, a "Hello?") leave the caller listening, not waiting.
            let agent_talking = !self.ear.is_empty()
                || self
                    .last_audible_at
                    .is_some_and(|t| t.elapsed() < Duration::from_millis(300));
            let said = std::mem::take(&mut self.saying);
            if !agent_talking {
                self.waiting = Some((Instant::now(), WaitCause::CallerSpoke(said)));
            }
        }
        let mut spoken: Vec<i16> = self.mouth.drain(..m).collect();
        if self.call.persona.machine.is_some() && self.mouth.is_empty() {
            // Set as the greeting's last frame goes out: any agent audio heard from the next
            // tick on was sent after the machine finished.
            self.machine_done_at.get_or_insert_with(Instant::now);
        }
        spoken.resize(n, 0);
        if self.call.record {
            self.report.caller_audio.extend(&spoken);
        }
        (spoken, echoes, actions)
    }

    /// A machine persona's line: greeting and beep play (queued at the start), then it records
    /// or hangs up.
    fn machine_tick(&mut self) -> Option<Reply> {
        let machine = self.call.persona.machine.as_ref()?;
        let done = self.machine_done_at?;
        let wait = match machine.then {
            MachineEnd::RecordFor(d) | MachineEnd::HangUpAfter(d) => d,
        };
        (done.elapsed() >= wait).then_some(Reply::HangUp)
    }

    /// An agent utterance heard by a machine persona: recorded, or said over its greeting.
    fn machine_heard(&mut self, text: &str) {
        let Some(machine) = &self.call.persona.machine else {
            return;
        };
        let text = text.trim().to_string();
        if text.is_empty() {
            return;
        }
        let recording = matches!(machine.then, MachineEnd::RecordFor(_));
        if recording && self.utterance_recorded {
            self.report.machine_recorded.push(text);
        } else {
            self.report.machine_talked_over.push(text);
        }
    }

    fn next_reply(&mut self, heard: &str) -> Option<Reply> {
        let reply = self.replies.pop_front()?;
        if let Reply::Answer { cues, otherwise } = &reply {
            let heard = heard.to_lowercase();
            let said = cues
                .iter()
                .find(|(cue, _)| heard.contains(cue.as_str()))
                .map(|(_, a)| a.clone());
            return Some(Reply::Say(said.unwrap_or_else(|| otherwise.clone())));
        }
        if let Reply::SayIfHeard { heard: cue, say } = &reply {
            if heard.to_lowercase().contains(&cue.to_lowercase()) {
                return Some(Reply::Say(say.clone()));
            }
            self.replies.push_front(reply);
            return None;
        }
        Some(reply)
    }

    /// Things a persona does while the agent is still talking.
    fn during_turn(&mut self) -> Vec<Reply> {
        let Some(started) = self.turn_started else {
            return Vec::new();
        };
        let into = started.elapsed();
        let p = &self.call.persona;
        let mut out = Vec::new();
        if let Some((turn, after, text)) = &p.barge_in {
            if !self.barged && self.turn_index == *turn && into >= *after {
                self.barged = true;
                out.push(Reply::Say(text.clone()));
            }
        }
        if let Some((text, after)) = &p.backchannel {
            if !self.backchanneled && into >= *after && !self.ear.is_empty() {
                self.backchanneled = true;
                out.push(Reply::Say(text.clone()));
            }
        }
        if let Some((turn, after)) = p.hang_up_during {
            if self.turn_index == turn && into >= after {
                out.push(Reply::HangUp);
            }
        }
        out
    }
}

/// Runs one call to its end: the server closing the socket, the persona hanging up, or the
/// time limit.
pub async fn run_call(call: MediaCall) -> Result<CallReport, String> {
    let started = Instant::now();
    let buffers = Some(crate::sandbox::websocket_buffers::small());
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(call.url.as_str(), buffers, false)
            .await
            .map_err(|e| format!("media socket refused: {e}"))?;
    let (mut sink, mut source) = socket.split();
    let sid = call.stream_sid.clone();
    let rate = call.sample_rate;
    let start = json!({"event": "start", "sequence_number": "1", "stream_sid": sid, "start": {
        "stream_sid": sid, "call_sid": call.call_sid, "account_sid": "sandbox", "from": "", "to": "",
        "custom_parameters": call.custom_parameters,
        "media_format": {"encoding": "raw/slin", "sample_rate": rate.to_string(), "bit_rate": "128kbps"}}});
    let send = |m: Value| Message::Text(m.to_string().into());
    sink.send(send(json!({"event": "connected"})))
        .await
        .map_err(|e| e.to_string())?;
    sink.send(send(start)).await.map_err(|e| e.to_string())?;
    let mut phone = Phone::new(&call);
    if let Some(machine) = &call.persona.machine {
        // A machine does not wait for the agent: its greeting starts as the line opens.
        phone.report.caller_said.push(machine.greeting.clone());
        phone
            .mouth
            .extend(voice_codec::encode(&machine.greeting, rate));
        if let Some((hz, length)) = machine.beep {
            phone.mouth.extend(beep_tone(hz, length, rate));
        }
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let ended_by_server = loop {
        tokio::select! {
            message = source.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let echoed = phone.on_server_text(&text).filter(|_| !call.persona.loses_marks);
                    if let Some(marks) = echoed {
                        for name in marks.lines() {
                            phone.report.marks_echoed += 1;
                            let _ = sink.send(send(json!({"event": "mark", "stream_sid": sid, "mark": {"name": name}}))).await;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break true,
                Some(Ok(_)) => {}
            },
            due = ticker.tick() => {
                if started.elapsed() >= call.time_limit {
                    break false;
                }
                let (spoken, echoes, actions) = phone.tick(due.elapsed());
                phone.chunk += 1;
                let media = json!({"event": "media", "stream_sid": sid, "media": {
                    "chunk": phone.chunk, "timestamp": (phone.chunk * 100).to_string(), "payload": pcm_to_base64(&spoken)}});
                if sink.send(send(media)).await.is_err() {
                    break true;
                }
                for name in echoes.into_iter().filter(|_| !call.persona.loses_marks) {
                    phone.report.marks_echoed += 1;
                    let _ = sink.send(send(json!({"event": "mark", "stream_sid": sid, "mark": {"name": name}}))).await;
                }
                let mut hang_up = false;
                for action in actions {
                    match action {
                        Reply::Say(text) => {
                            phone.report.caller_said.push(text.clone());
                            phone.saying = text.clone();
                            phone.mouth.extend(voice_codec::encode(&text, rate));
                        }
                        Reply::SayWithBreath { first, breath, rest } => {
                            let whole = format!("{first} {rest}");
                            phone.report.caller_said.push(whole.clone());
                            phone.saying = whole;
                            phone.mouth.extend(with_breath(&first, breath, &rest, rate));
                        }
                        Reply::Dtmf(d) => {
                            phone.report.caller_said.push(format!("[{d}]"));
                            let _ = sink.send(send(json!({"event": "dtmf", "stream_sid": sid, "dtmf": {"digit": d.to_string(), "duration": "200"}}))).await;
                        }
                        Reply::HangUp => hang_up = true,
                        Reply::Silence | Reply::SayIfHeard { .. } | Reply::Answer { .. } => {}
                    }
                }
                if hang_up {
                    phone.report.caller_hung_up = true;
                    break false;
                }
            }
        }
    };
    if !ended_by_server {
        let stop = json!({"event": "stop", "stream_sid": sid, "stop": {"call_sid": call.call_sid, "account_sid": "sandbox", "reason": "callended"}});
        let _ = sink.send(send(stop)).await;
        let _ = sink.close().await;
    }
    // The decoder ends an utterance on the silence after its last tone; when the line closes
    // right after the agent's last audio (a hand-off, a hang-up), that silence never came
    // down the wire, but the caller heard the words all the same.
    for event in phone.decoder.push(&vec![0; rate as usize / 20]) {
        if let Heard::Utterance { text, .. } = event {
            if !phone.turn_text.is_empty() {
                phone.turn_text.push(' ');
            }
            phone.turn_text.push_str(text.trim());
        }
    }
    if !phone.turn_text.is_empty() {
        let said = std::mem::take(&mut phone.turn_text);
        phone.report.agent_turns.push(said);
    }
    if let Some((since, after)) = phone.waiting.take() {
        // The line went dead (or was cut) while the caller waited: that silence counts too.
        phone.report.waits.push(Wait {
            after,
            ms: since.elapsed().as_millis() as u32,
            answered: false,
        });
    }
    phone.report.duration = started.elapsed();
    Ok(phone.report)
}

/// One sentence spoken with a breath inside: `first` without its end mark, `breath` of
/// silence, `rest` without its start mark, so it decodes as one utterance with a gap (as a
/// person who pauses mid-sentence sounds to a transcriber).
fn with_breath(first: &str, breath: Duration, rest: &str, rate: u32) -> Vec<i16> {
    let symbol = voice_codec::encode("", rate).len() / 2;
    let head = voice_codec::encode(first, rate);
    let tail = voice_codec::encode(&format!(" {rest}"), rate);
    let mut out = head[..head.len() - symbol].to_vec();
    out.extend(std::iter::repeat_n(
        0,
        rate as usize * breath.as_millis() as usize / 1000,
    ));
    out.extend_from_slice(&tail[symbol..]);
    out
}

/// A voicemail beep: one pure tone (a third of full scale).
pub fn beep_tone(hz: f32, length: Duration, rate: u32) -> Vec<i16> {
    let n = (rate as u128 * length.as_millis() / 1000) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            (0.33 * i16::MAX as f32 * (2.0 * std::f32::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

/// Writes a two-channel WAV (left: caller, right: agent), PCM16.
pub fn write_wav(
    path: &std::path::Path,
    rate: u32,
    left: &[i16],
    right: &[i16],
) -> std::io::Result<()> {
    let frames = left.len().max(right.len());
    let data_len = (frames * 4) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        out.extend_from_slice(&left.get(i).copied().unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&right.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An underrun in a tick that fired late is the phone's (the load generator's), counted
    /// apart from the server's; the worst lateness is kept.
    #[test]
    fn underruns_in_the_phones_late_ticks_are_told_apart() {
        let call = MediaCall {
            url: String::new(),
            call_sid: "c".into(),
            stream_sid: "s".into(),
            sample_rate: 8000,
            custom_parameters: Value::Null,
            persona: Persona::new("load", Vec::new()),
            time_limit: Duration::from_secs(60),
            measure: true,
            record: false,
        };
        let mut phone = Phone::new(&call);
        // The agent is mid-sentence and its next audio has not come.
        phone.mid_utterance = true;
        phone.tick(Duration::from_millis(3));
        phone.tick(Duration::from_millis(120));
        phone.tick(Duration::from_millis(49));
        let health = &phone.report.health;
        assert_eq!(health.underruns, 3);
        assert_eq!(health.underruns_phone_late, 1);
        assert_eq!(health.late_ticks, 1);
        assert_eq!(health.tick_late_max_ms, 120);
    }

    #[test]
    fn a_breath_inside_a_sentence_is_silence_between_its_halves() {
        let rate = 8000;
        let audio = with_breath("my budget is", Duration::from_millis(750), "80 lakh", rate);
        let whole = voice_codec::encode("my budget is 80 lakh", rate);
        assert_eq!(audio.len(), whole.len() + rate as usize * 750 / 1000);
        // The longest run of silence is the breath (plus the tone gaps around it).
        let mut longest = 0;
        let mut run = 0;
        for s in &audio {
            run = if *s == 0 { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        assert!((6000..=6200).contains(&longest), "{longest}");
        // A transcriber hears the first half cut off by the pause, then the rest.
        let mut decoder = Decoder::new(rate);
        let mut heard = decoder.push(&audio);
        heard.extend(decoder.push(&vec![0; rate as usize]));
        let said: Vec<(String, bool)> = heard
            .into_iter()
            .filter_map(|h| match h {
                Heard::Utterance { text, complete } => Some((text, complete)),
                _ => None,
            })
            .collect();
        assert_eq!(
            said,
            vec![
                ("my budget is".to_string(), false),
                (" 80 lakh".to_string(), true)
            ]
        );
    }
}
