//! Call recordings: with `RECORDINGS_DIR` the runtime records each call as a stereo WAV (the
//! caller left, the agent right) and serves it at `GET /calls/{id}/recording`, behind the API's
//! auth; Exotel's own http(s) recording is a redirect; anything else is a 404.

use chrono::Utc;
use serde_json::{json, Value};
use voice_runtime::domain::CallStatus;
use voice_runtime::store::{CallEnd, NewCallSession};

use crate::both_backends;
use crate::engine_support::eventually;
use crate::helpers::{error_of, spawn_app_with, Backend, TestApp};
use crate::live_support::*;
use crate::webhooks::{receiver, SECRET};

/// The fields of a WAV header we check, and its samples.
struct Wav {
    channels: u16,
    rate: u32,
    bits: u16,
    riff_len: u32,
    data_len: u32,
    left: Vec<i16>,
    right: Vec<i16>,
}

fn parse_wav(bytes: &[u8]) -> Wav {
    assert!(bytes.len() >= 44, "{} bytes", bytes.len());
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(&bytes[36..40], b"data");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let samples: Vec<i16> = bytes[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    Wav {
        channels: u16_at(22),
        rate: u32_at(24),
        bits: u16_at(34),
        riff_len: u32_at(4),
        data_len: u32_at(40),
        left: samples.iter().step_by(2).copied().collect(),
        right: samples.iter().skip(1).step_by(2).copied().collect(),
    }
}

/// Samples loud enough to be someone speaking.
fn loud(channel: &[i16]) -> usize {
    channel.iter().filter(|s| s.unsigned_abs() > 500).count()
}

/// A call recorded with `RECORDINGS_DIR`: the export links it, the campaign's webhook links it,
/// and the link serves a valid stereo WAV at the call's rate, as long as the call, with the
/// caller on the left and the agent on the right; ranges are answered (an `<audio>` seeks so).
async fn a_recorded_call_is_served_as_a_stereo_wav(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let recordings = dir.path().join("recordings");
    let (hook, received) = receiver(vec![]).await;
    let vars = [
        ("RECORDINGS_DIR", recordings.to_str().unwrap()),
        ("OUTBOUND_WEBHOOK_SECRET", SECRET),
    ];
    let live = live_app_with(backend, 8000, &vars).await;
    let id = live
        .call_in(interested(), json!({"webhook_url": hook}))
        .await;
    let app = &live.e.app;
    let call = live.conversation(id).await.unwrap();
    let call_id = call["call_id"].as_i64().unwrap();
    let link = format!("/calls/{call_id}/recording");
    // The save waited for the file: the saved call links it at once.
    assert_eq!(call["recording"], link.as_str(), "{call}");

    let sid = live.e.sim.dials()[0].call_sid.clone();
    assert!(recordings.join(format!("{sid}.wav")).is_file());
    let response = app.get(&link).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "audio/wav");
    assert_eq!(response.headers()["accept-ranges"], "bytes");
    let bytes = response.bytes().await.unwrap();
    let wav = parse_wav(&bytes);
    assert_eq!((wav.channels, wav.rate, wav.bits), (2, 8000, 16));
    assert_eq!(
        wav.data_len as usize,
        bytes.len() - 44,
        "the header was patched"
    );
    assert_eq!(wav.riff_len as usize, bytes.len() - 8);
    assert_eq!(wav.left.len(), wav.right.len());
    // Both people are heard, each on their own side.
    assert!(loud(&wav.left) > 8000 / 2, "the caller's side is silent");
    assert!(loud(&wav.right) > 8000 / 2, "the agent's side is silent");
    // In time with each other: this caller waits for the agent to finish, so the two hardly
    // overlap (agent audio misplaced in time would land on the caller's words).
    let both = wav
        .left
        .iter()
        .zip(&wav.right)
        .filter(|(l, r)| l.unsigned_abs() > 500 && r.unsigned_abs() > 500)
        .count();
    assert!(both * 10 < loud(&wav.left), "{both} samples overlap");
    // On the caller's timeline: as long as the phone's call (real-time frames), give or take
    // the frames in flight at either end.
    let seconds = wav.left.len() as f64 / 8000.0;
    let phone = live.phone_report().duration.as_secs_f64();
    assert!(
        (seconds - phone).abs() < 1.0,
        "recording {seconds:.2} s, call {phone:.2} s"
    );

    // An <audio> element's range request.
    let part = app
        .get(&link)
        .header("Range", "bytes=0-43")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(&part.bytes().await.unwrap()[..], &bytes[..44]);

    // The campaign's webhook hears where to fetch it.
    eventually(30, "the call.ended event is delivered", || async {
        !received.0.lock().unwrap().is_empty()
    })
    .await;
    let event: Value = serde_json::from_str(&received.0.lock().unwrap()[0].2).unwrap();
    assert_eq!(event["call_id"], call_id);
    let absolute = event["links"]["recording"].as_str().unwrap();
    assert_eq!(absolute, app.url(&link), "{event}");
}

/// A call session written straight to the store, ended with this `recording_url`, in a
/// campaign of its own; the campaign's id and the call's.
async fn a_call_with(app: &TestApp, sid: &str, recording_url: Option<&str>) -> (i64, i64) {
    let campaign = app.create_campaign(json!({"name": "c"})).await;
    let campaign_id = campaign["id"].as_i64().unwrap();
    let (status, _) = app
        .upload_csv(campaign_id, "name,phone\nAsha,+919876543210\n")
        .await;
    assert_eq!(status, 200);
    let leads = app
        .get_json(&format!("/campaigns/{campaign_id}/leads"))
        .await;
    let store = &app.state.store;
    let now = Utc::now();
    let session = NewCallSession {
        call_sid: sid.into(),
        lead_id: leads["items"][0]["id"].as_i64().unwrap(),
        campaign_id,
        scheduled_call_id: None,
        status: CallStatus::Initiated,
    };
    let id = store.create_call_session(&session, now).await.unwrap();
    let end = CallEnd {
        status: CallStatus::Completed,
        answered_at: Some(now),
        ended_at: now,
        duration_seconds: Some(30),
        recording_url: recording_url.map(String::from),
    };
    assert!(store.finish_call_session(sid, &end).await.unwrap());
    (campaign_id, id)
}

/// Stores `recording_file` as a hand edit (or a bug) might have.
async fn store_file_name(app: &TestApp, call_id: i64, name: &str) {
    const SQL: &str = "UPDATE call_sessions SET recording_file = $2 WHERE id = $1";
    let url = &app.database_url;
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(SQL)
            .bind(call_id)
            .bind(name)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(SQL)
            .bind(call_id)
            .bind(name)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

/// Unknown or non-numeric ids, paths in the id, calls without a recording, a stored name that
/// is a path and Exotel's `file://` URLs are all 404s; Exotel's https recording is a redirect;
/// without the API key nothing is served.
async fn only_a_calls_own_recording_is_ever_served(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let recordings = dir.path().join("recordings");
    // Files a traversal would reach: beside the directory, and inside it under another name.
    std::fs::write(dir.path().join("secret.wav"), b"RIFF secret").unwrap();
    std::fs::create_dir_all(&recordings).unwrap();
    std::fs::write(recordings.join("CAother.wav"), b"RIFF other").unwrap();
    let app = spawn_app_with(backend, &[("RECORDINGS_DIR", recordings.to_str().unwrap())]).await;

    for path in [
        "/calls/999999/recording",
        "/calls/abc/recording",
        "/calls/-1/recording",
        "/calls/..%2F..%2Fsecret.wav/recording",
        "/calls/1%2F..%2F..%2Fsecret/recording",
        "/calls/%2e%2e/recording",
    ] {
        let error = error_of(app.get(path).send().await.unwrap(), 404).await;
        assert_eq!(error["code"], "not_found", "{path}: {error}");
    }

    // Exotel's file:// (the simulator's kind) is never read, even inside the directory.
    let file_url = format!("file://{}", recordings.join("CAother.wav").display());
    let (local_campaign, local) = a_call_with(&app, "CAlocal", Some(&file_url)).await;
    error_of(
        app.get(&format!("/calls/{local}/recording"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    let calls = app
        .get_json(&format!("/exports/calls/{local_campaign}"))
        .await;
    assert!(calls[0]["recording"].is_null(), "{calls}");

    // A stored name that is a path is refused before it is joined to anything.
    for hostile in ["../secret.wav", "/etc/passwd", "CAother.wav/..", "..", ""] {
        store_file_name(&app, local, hostile).await;
        let response = app
            .get(&format!("/calls/{local}/recording"))
            .send()
            .await
            .unwrap();
        error_of(response, 404).await;
    }
    // A valid name whose file is gone (the operator's retention): 404 too.
    store_file_name(&app, local, "CAgone.wav").await;
    error_of(
        app.get(&format!("/calls/{local}/recording"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    // Exotel's own recording: a redirect, and the export links it.
    let exotel = "https://recordings.exotel.example/CAweb.mp3";
    let (campaign_id, web) = a_call_with(&app, "CAweb", Some(exotel)).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects
        .get(app.url(&format!("/calls/{web}/recording")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], exotel);
    let calls = app.get_json(&format!("/exports/calls/{campaign_id}")).await;
    assert_eq!(
        calls[0]["recording"],
        format!("/calls/{web}/recording"),
        "{calls}"
    );
    assert_eq!(calls[0]["recording_url"], exotel);

    // Behind the API key like every route.
    let locked = spawn_app_with(
        backend,
        &[
            ("RECORDINGS_DIR", recordings.to_str().unwrap()),
            ("API_KEY", "the-key"),
        ],
    )
    .await;
    let anonymous = reqwest::Client::new()
        .get(locked.url("/calls/1/recording"))
        .send()
        .await
        .unwrap();
    error_of(anonymous, 401).await;
}

both_backends!(
    a_recorded_call_is_served_as_a_stereo_wav,
    only_a_calls_own_recording_is_ever_served,
);
