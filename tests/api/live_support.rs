//! Set-up for live-call tests: the provider fakes, the Exotel simulator in voice mode (it
//! answers, opens our media socket and lets a persona talk), and the app wired to all of them.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use voice_runtime::call::fallback_audio::Readiness;
use voice_runtime::conversation::playbook_catalog::PlaybookCatalog;
use voice_runtime::sandbox::exotel::{Outcome, VoiceSetup};
use voice_runtime::sandbox::fakes::deepgram::FakeDeepgram;
use voice_runtime::sandbox::fakes::elevenlabs::FakeElevenLabs;
use voice_runtime::sandbox::fakes::openai::FakeOpenAi;
use voice_runtime::sandbox::persona::{Persona, Reply};

use crate::engine_support::{campaign_with_leads, engine_app, simulator, start, EngineApp};
use crate::helpers::Backend;

pub struct LiveApp {
    pub e: EngineApp,
    pub deepgram: FakeDeepgram,
    pub openai: FakeOpenAi,
    pub elevenlabs: FakeElevenLabs,
    pub sample_rate: u32,
}

pub async fn live_app(backend: Backend, sample_rate: u32) -> LiveApp {
    live_app_with(backend, sample_rate, &[]).await
}

/// As `live_app`, with more environment variables.
pub async fn live_app_with(backend: Backend, sample_rate: u32, extra: &[(&str, &str)]) -> LiveApp {
    live_app_ringing(backend, sample_rate, 10, extra).await
}

/// As `live_app_with`, the phone ringing `ring_ms` before it is answered.
pub async fn live_app_ringing(
    backend: Backend,
    sample_rate: u32,
    ring_ms: u64,
    extra: &[(&str, &str)],
) -> LiveApp {
    let deepgram = FakeDeepgram::start(0).await.unwrap();
    let openai = FakeOpenAi::start(0).unwrap();
    let elevenlabs = FakeElevenLabs::start(0).unwrap();
    let vars = [
        ("DEEPGRAM_URL", deepgram.url.clone()),
        ("DEEPGRAM_API_KEY", "dg-test".into()),
        ("OPENAI_BASE_URL", openai.base_url.clone()),
        ("OPENAI_API_KEY", "sk-test".into()),
        ("ELEVENLABS_BASE_URL", elevenlabs.base_url.clone()),
        ("ELEVENLABS_API_KEY", "xi-test".into()),
        ("PLAYBOOKS_DIR", "tests/fixtures/playbooks".into()),
        // As in production: no dial before the playbook's fallback lines are rendered.
        ("FALLBACK_AUDIO_REQUIRED", "1".into()),
    ];
    let mut borrowed: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    borrowed.extend_from_slice(extra);
    let e = engine_app(backend, simulator(ring_ms, 10), &borrowed).await;
    if e.app.state.settings.fallback_audio_required {
        fallback_lines_ready(&e).await;
    }
    LiveApp {
        e,
        deepgram,
        openai,
        elevenlabs,
        sample_rate,
    }
}

/// Waits for the fallback lines the node renders at start, as a deployment has them on disk:
/// a test's first dial is then not held for them (its manual clock would never bring the
/// retry), and no fake TTS knob a test sets afterwards is spent on them.
async fn fallback_lines_ready(e: &EngineApp) {
    let settings = &e.app.state.settings;
    let catalog = PlaybookCatalog::new(&settings.playbooks_dir);
    let audio = &e.app.state.engine.fallback_audio;
    for file in catalog.available() {
        let Ok(playbook) = catalog.load(&file) else {
            continue;
        };
        crate::engine_support::eventually(30, "the fallback lines are rendered", || async {
            audio.readiness(&playbook) == Readiness::Ready
        })
        .await;
    }
}

impl LiveApp {
    /// One lead talked to by `persona`; returns the campaign id once the call is over.
    pub async fn call(&self, persona: Persona) -> i64 {
        self.call_in(persona, json!({})).await
    }

    /// As `call`, the campaign created with these settings as well.
    pub async fn call_in(&self, persona: Persona, settings: Value) -> i64 {
        self.e.sim.set_voice(VoiceSetup {
            voicebot_url: self.e.app.url("/exotel/voicebot-url?token=test-secret"),
            personas: HashMap::new(),
            default_persona: persona,
            sample_rate: self.sample_rate,
            recordings_dir: None,
            time_limit: Duration::from_secs(90),
            measure: false,
        });
        let mut body = json!({"playbook": "test_short", "max_attempts": 1});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), settings.as_object()) {
            body.extend(extra.clone());
        }
        let id = campaign_with_leads(&self.e, 1, body, |_| vec![Outcome::Answer]).await;
        start(&self.e, id).await;
        crate::engine_support::eventually(120, "the call is saved", || async {
            self.conversation(id).await.is_some()
        })
        .await;
        id
    }

    /// The exported call with its conversation, once saved.
    pub async fn conversation(&self, campaign_id: i64) -> Option<Value> {
        let calls: Vec<Value> = self
            .e
            .app
            .get(&format!("/exports/calls/{campaign_id}"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        calls.into_iter().find(|c| c["final_outcome"].is_string())
    }

    /// The simulated phone's view of the campaign's only call.
    pub fn phone_report(&self) -> voice_runtime::sandbox::exotel::media_client::CallReport {
        let sid = self.e.sim.dials()[0].call_sid.clone();
        self.e
            .sim
            .report(&sid)
            .expect("the phone reported the call")
    }
}

/// A variant of the short test playbook in its own directory, kept alive as long as the
/// value: each `(from, to)` replaced in `test_short.yaml` (each must match).
pub struct TestPlaybooks(tempfile::TempDir);

impl TestPlaybooks {
    pub fn short_with(replacements: &[(&str, &str)]) -> TestPlaybooks {
        let dir = tempfile::tempdir().unwrap();
        let mut text = std::fs::read_to_string("tests/fixtures/playbooks/test_short.yaml").unwrap();
        for (from, to) in replacements {
            assert!(text.contains(from), "test_short.yaml has no {from:?}");
            text = text.replace(from, to);
        }
        std::fs::write(dir.path().join("test_short.yaml"), text).unwrap();
        TestPlaybooks(dir)
    }

    /// The live app reading these playbooks.
    pub async fn live_app(&self, backend: Backend, sample_rate: u32) -> LiveApp {
        let path = self.0.path().display().to_string();
        live_app_with(backend, sample_rate, &[("PLAYBOOKS_DIR", &path)]).await
    }
}

pub fn say(text: &str) -> Reply {
    Reply::Say(text.into())
}

/// The qualifying lead of the short test playbook.
pub fn interested() -> Persona {
    let mut p = Persona::new(
        "interested",
        vec![say("yes"), say("a 2bhk in pune"), say("80 lakh")],
    );
    p.think = Duration::from_millis(300);
    p
}
