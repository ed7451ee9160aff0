//! The console over plain HTTP: sign-in, the session cookie's flags, CSRF, what a cookie may do
//! to the API, escaping, no foreign origins, no secrets, and the live event stream.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};

pub(crate) const KEY: &str = "console-key-abcdefghijklmnop";
const HOSTILE: &str = "<script>alert(1)</script>";

both_backends!(
    a_stranger_is_sent_to_sign_in_and_the_key_opens_a_strict_session,
    forms_without_this_sessions_token_or_from_another_origin_are_refused,
    a_session_reads_the_api_but_never_writes_it,
    lead_values_show_as_text_and_no_page_loads_from_another_origin,
    without_an_api_key_loopback_opens_the_console_directly,
    the_live_view_streams_server_sent_events,
);

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in with the key; returns the `name=value` of the session cookie.
pub(crate) async fn sign_in(app: &TestApp) -> String {
    let response = browser()
        .post(app.url("/ui/sign-in"))
        .form(&[("api_key", KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    cookie.split(';').next().unwrap().to_string()
}

pub(crate) async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let response = browser()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The CSRF token the page's forms carry.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..].split('"').next().unwrap().to_string()
}

async fn a_stranger_is_sent_to_sign_in_and_the_key_opens_a_strict_session(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    let response = browser()
        .get(app.url("/ui/campaigns"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "/ui/sign-in");

    let wrong = browser()
        .post(app.url("/ui/sign-in"))
        .form(&[("api_key", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(SET_COOKIE).is_none());

    let right = browser()
        .post(app.url("/ui/sign-in"))
        .form(&[("api_key", KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 303);
    let flags = right.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(flags.contains(flag), "{flags}");
    }
    assert!(!flags.contains("Secure"), "plain http here: {flags}");
    let https = browser()
        .post(app.url("/ui/sign-in"))
        .header("X-Forwarded-Proto", "https")
        .form(&[("api_key", KEY)])
        .send()
        .await
        .unwrap();
    let flags = https.headers()[SET_COOKIE].to_str().unwrap();
    assert!(flags.contains("Secure"), "behind an https proxy: {flags}");

    let cookie = sign_in(&app).await;
    let response = browser()
        .get(app.url("/ui/campaigns"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    let (status, html) = page(&app, &cookie, "/ui/campaigns").await;
    assert_eq!(status, 200);
    assert!(html.contains("New campaign"));
    assert!(!html.contains(KEY), "the key never appears in a page");

    let tampered = format!("{}0", cookie);
    let response = browser()
        .get(app.url("/ui/campaigns"))
        .header(COOKIE, tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "a tampered cookie is no session");
}

async fn forms_without_this_sessions_token_or_from_another_origin_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    let cookie = sign_in(&app).await;
    let (_, html) = page(&app, &cookie, "/ui/campaigns/new").await;
    let token = csrf_of(&html);
    let post = |csrf: &str, origin: Option<&str>| {
        let mut request = browser()
            .post(app.url("/ui/campaigns"))
            .header(COOKIE, &cookie)
            .form(&[("csrf", csrf), ("name", "From a form")]);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send()
    };
    assert_eq!(post("", None).await.unwrap().status(), 403);
    assert_eq!(post("0123abcd", None).await.unwrap().status(), 403);
    let foreign = post(&token, Some("https://evil.example")).await.unwrap();
    assert_eq!(foreign.status(), 403);
    let own_origin = app.address.clone();
    let created = post(&token, Some(&own_origin)).await.unwrap();
    assert_eq!(created.status(), 303);
    let location = created.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with("/ui/campaigns/"), "{location}");

    // Another session's token does not fit this one.
    let other = sign_in(&app).await;
    let (_, other_html) = page(&app, &other, "/ui/campaigns/new").await;
    assert_ne!(csrf_of(&other_html), token);
    assert_eq!(
        post(&csrf_of(&other_html), None).await.unwrap().status(),
        403
    );

    // A refused field comes back with the API's own message beside it, status 422.
    let refused = browser()
        .post(app.url("/ui/campaigns"))
        .header(COOKIE, &cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("name", "x"),
            ("timezone", "Mars/Olympus"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"timezone-error\""), "{html}");
    assert!(html.contains("unknown IANA time zone"), "{html}");
    assert!(
        html.contains("value=\"Mars/Olympus\""),
        "what was typed stays"
    );
}

async fn a_session_reads_the_api_but_never_writes_it(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    let cookie = sign_in(&app).await;
    let read = browser()
        .get(app.url("/campaigns"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = browser()
        .post(app.url("/campaigns"))
        .header(COOKIE, &cookie)
        .json(&json!({"name": "riding the cookie"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 401);
}

async fn lead_values_show_as_text_and_no_page_loads_from_another_origin(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    let id = app.create_campaign(json!({"name": HOSTILE})).await["id"]
        .as_i64()
        .unwrap();
    let (status, report) = app
        .upload_csv(id, &format!("name,phone\n\"{HOSTILE}\",+919800000001\n"))
        .await;
    assert_eq!(status, 200, "{report}");
    let cookie = sign_in(&app).await;
    for path in [
        "/ui/campaigns".to_string(),
        format!("/ui/campaigns/{id}"),
        format!("/ui/campaigns/{id}/edit"),
        format!("/ui/campaigns/{id}/analytics"),
        "/ui/live".to_string(),
        "/ui/suppressions".to_string(),
    ] {
        let (status, html) = page(&app, &cookie, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains("<script>alert"), "{path} runs lead data");
        if path.starts_with("/ui/campaigns/") {
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{path}"
            );
        }
        for attribute in ["src=\"", "href=\""] {
            for link in html.split(attribute).skip(1) {
                let target = link.split('"').next().unwrap();
                assert!(
                    target.starts_with('/') || target.starts_with('#'),
                    "{path} points at another origin: {target}"
                );
            }
        }
    }
    let (status, html) = page(&app, &cookie, "/ui/calls/999999").await;
    assert_eq!(status, 404);
    assert!(html.contains("call not found"));
    for asset in ["/ui/assets/console.css", "/ui/assets/console.js"] {
        let response = browser().get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), 200, "assets need no session");
    }
}

async fn without_an_api_key_loopback_opens_the_console_directly(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = browser()
        .get(app.url("/ui/campaigns"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let html = response.text().await.unwrap();
    assert!(!html.contains("Sign out"), "nothing to sign out of");
    let sign_in = browser().get(app.url("/ui/sign-in")).send().await.unwrap();
    assert_eq!(sign_in.status(), 303);
    // Through a proxy, or under a foreign host name (DNS rebinding): a clear refusal, not a
    // session, and not a loop of redirects.
    for (header, value) in [("X-Forwarded-For", "203.0.113.9"), ("Host", "evil.example")] {
        let refused = browser()
            .get(app.url("/ui/campaigns"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{header}");
        assert!(refused.headers().get(SET_COOKIE).is_none(), "{header}");
        assert!(
            refused.text().await.unwrap().contains("API_KEY"),
            "{header}"
        );
    }
}

async fn the_live_view_streams_server_sent_events(backend: Backend) {
    let app = spawn_app_with(backend, &[("API_KEY", KEY)]).await;
    let cookie = sign_in(&app).await;
    let mut response = browser()
        .get(app.url("/ui/live/events"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut seen = String::new();
    while !(seen.contains("event: calls") && seen.contains("event: tree")) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(30), response.chunk())
            .await
            .expect("events arrive")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("data: <p class=\"muted\">0 in progress</p>"),
        "{seen}"
    );
}
