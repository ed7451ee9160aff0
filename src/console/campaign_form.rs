//! The campaign form: every field `POST /campaigns` and `PATCH /campaigns/{id}` take, as
//! strings from the browser, turned into the API's own body (`CampaignBody`).

use maud::{html, Markup};
use serde::Deserialize;

use super::api_bridge::FormError;
use super::context::Ctx;
use super::layout::csrf_field;
use crate::api::campaigns::CampaignBody;
use crate::api::ApiError;
use crate::store::Campaign;

/// What the browser posts; empty means "not given" (the API's default on create).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CampaignForm {
    pub csrf: String,
    pub name: String,
    pub playbook: String,
    pub calling_hours_start: String,
    pub calling_hours_end: String,
    pub timezone: String,
    pub calling_days: String,
    pub max_concurrent_calls: String,
    pub max_attempts: String,
    pub retry_no_answer_minutes: String,
    pub retry_busy_minutes: String,
    pub retry_voicemail_minutes: String,
    /// A checkbox: present ("on") when ticked.
    pub transactional: Option<String>,
    pub webhook_url: String,
}

/// One whole-number field; the message names it as the API would.
fn number(field: &str, raw: &str) -> Result<Option<u32>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| ApiError::invalid(field, format!("{field} must be a whole number")))
}

fn text(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| raw.to_string())
}

impl CampaignForm {
    /// The API body. `transactional_editable` is false once the campaign left DRAFT: the
    /// (disabled) checkbox is then not sent, and must not read as "untick".
    pub fn to_body(&self, transactional_editable: bool) -> Result<CampaignBody, ApiError> {
        Ok(CampaignBody {
            name: Some(self.name.trim().to_string()),
            playbook: text(&self.playbook),
            calling_hours_start: number("calling_hours_start", &self.calling_hours_start)?,
            calling_hours_end: number("calling_hours_end", &self.calling_hours_end)?,
            timezone: text(&self.timezone),
            calling_days: text(&self.calling_days),
            max_concurrent_calls: number("max_concurrent_calls", &self.max_concurrent_calls)?,
            max_attempts: number("max_attempts", &self.max_attempts)?,
            retry_no_answer_minutes: number(
                "retry_no_answer_minutes",
                &self.retry_no_answer_minutes,
            )?,
            retry_busy_minutes: number("retry_busy_minutes", &self.retry_busy_minutes)?,
            retry_voicemail_minutes: number(
                "retry_voicemail_minutes",
                &self.retry_voicemail_minutes,
            )?,
            transactional: transactional_editable.then_some(self.transactional.is_some()),
            // Sent as typed: "" removes the webhook, as in the API.
            webhook_url: Some(self.webhook_url.trim().to_string()),
            // Hand-off settings are set through the API; the form leaves them as they are.
            transfer_numbers: None,
            transfer_strategy: None,
            transfer_hours: None,
            max_concurrent_transfers: None,
        })
    }

    /// The form filled with a stored campaign, for editing.
    pub fn from_campaign(c: &Campaign) -> CampaignForm {
        CampaignForm {
            csrf: String::new(),
            name: c.name.clone(),
            playbook: c.playbook.clone(),
            calling_hours_start: c.calling_hours_start.to_string(),
            calling_hours_end: c.calling_hours_end.to_string(),
            timezone: c.timezone.clone(),
            calling_days: c.calling_days.clone(),
            max_concurrent_calls: c.max_concurrent_calls.to_string(),
            max_attempts: c.max_attempts.to_string(),
            retry_no_answer_minutes: c.retry_no_answer_minutes.to_string(),
            retry_busy_minutes: c.retry_busy_minutes.to_string(),
            retry_voicemail_minutes: c.retry_voicemail_minutes.to_string(),
            transactional: c.transactional.then(|| "on".to_string()),
            webhook_url: c.webhook_url.clone().unwrap_or_default(),
        }
    }
}

/// One labelled input with its hint and, when the API refused it, its message.
fn field(name: &str, label: &str, input: Markup, hint: &str, error: &FormError) -> Markup {
    let message = error.on(name);
    html! {
        div.field.invalid[message.is_some()] {
            label for=(name) { (label) }
            (input)
            @if let Some(message) = message {
                p.field-error id={(name) "-error"} role="alert" { (message) }
            }
            @if !hint.is_empty() { p.hint { (hint) } }
        }
    }
}

fn described_by(name: &str, error: &FormError) -> Option<String> {
    error.on(name).map(|_| format!("{name}-error"))
}

fn number_input(name: &str, value: &str, min: u32, max: u32, error: &FormError) -> Markup {
    html! {
        input id=(name) name=(name) type="number" inputmode="numeric" min=(min) max=(max)
            value=(value) aria-describedby=[described_by(name, error)];
    }
}

pub struct FormPage<'a> {
    pub action: &'a str,
    pub submit: &'a str,
    pub form: &'a CampaignForm,
    pub error: &'a FormError,
    pub playbooks: &'a [String],
    pub transactional_editable: bool,
}

pub fn render(ctx: &Ctx, p: FormPage<'_>) -> Markup {
    let f = p.form;
    let e = p.error;
    html! {
        form.stack.card method="post" action=(p.action) novalidate {
            (csrf_field(ctx))
            @if let (None, false) = (&e.field, e.message.is_empty()) {
                p.error role="alert" { (e.message) }
            }
            (field("name", "Name", html! {
                input #name name="name" type="text" required maxlength="200" value=(f.name)
                    aria-describedby=[described_by("name", e)];
            }, "", e))
            (field("playbook", "Playbook", html! {
                select #playbook name="playbook" aria-describedby=[described_by("playbook", e)] {
                    option value="" selected[f.playbook.is_empty()] { "(the default playbook)" }
                    @for name in p.playbooks {
                        option value=(name) selected[*name == f.playbook] { (name) }
                    }
                }
            }, "The conversation script, from the server's playbooks folder.", e))
            div.two {
                (field("calling_hours_start", "Calling hours start",
                    number_input("calling_hours_start", &f.calling_hours_start, 0, 23, e),
                    "Hour 0–23, in the campaign's time zone.", e))
                (field("calling_hours_end", "Calling hours end",
                    number_input("calling_hours_end", &f.calling_hours_end, 1, 24, e),
                    "Hour 1–24; promotional calls stay inside the law's hours.", e))
            }
            div.two {
                (field("timezone", "Time zone", html! {
                    input #timezone name="timezone" type="text" placeholder="Asia/Kolkata"
                        value=(f.timezone) aria-describedby=[described_by("timezone", e)];
                }, "An IANA zone name.", e))
                (field("calling_days", "Calling days", html! {
                    input #calling_days name="calling_days" type="text" placeholder="Mon-Sat"
                        value=(f.calling_days) aria-describedby=[described_by("calling_days", e)];
                }, "Days and ranges, e.g. Mon-Fri,Sun.", e))
            }
            div.two {
                (field("max_concurrent_calls", "Most calls at once",
                    number_input("max_concurrent_calls", &f.max_concurrent_calls, 1, 10_000, e), "", e))
                (field("max_attempts", "Attempts per lead",
                    number_input("max_attempts", &f.max_attempts, 1, 20, e), "", e))
            }
            div.two {
                (field("retry_no_answer_minutes", "Retry after no answer (minutes)",
                    number_input("retry_no_answer_minutes", &f.retry_no_answer_minutes, 0, 43_200, e), "", e))
                (field("retry_busy_minutes", "Retry after busy (minutes)",
                    number_input("retry_busy_minutes", &f.retry_busy_minutes, 0, 43_200, e), "", e))
            }
            (field("retry_voicemail_minutes", "Retry after voicemail (minutes)",
                number_input("retry_voicemail_minutes", &f.retry_voicemail_minutes, 0, 43_200, e), "", e))
            (field("transactional", "Transactional or service calls", html! {
                input #transactional name="transactional" type="checkbox"
                    checked[f.transactional.is_some()] disabled[!p.transactional_editable]
                    aria-describedby=[described_by("transactional", e)];
            }, "Not held to the regulatory calling hours. Can be changed only while DRAFT.", e))
            (field("webhook_url", "Webhook URL", html! {
                input #webhook_url name="webhook_url" type="url" placeholder="https://crm.example.com/hooks/calls"
                    value=(f.webhook_url) aria-describedby=[described_by("webhook_url", e)];
            }, "Signed call.ended events are POSTed here. Empty: none.", e))
            div { button type="submit" { (p.submit) } }
        }
    }
}
