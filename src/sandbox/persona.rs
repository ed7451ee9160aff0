//! Simulated leads: who picks up and what they say. A persona listens to what the agent says
//! (decoded from the call's audio) and answers from its script, with human-like pauses; some
//! talk over the agent, say only "hmm" while it talks, stay silent, hang up mid-sentence, or
//! press keys.

use std::time::Duration;

/// One reply, given when the agent finishes a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Say(String),
    /// Answer only if the agent's turn contains this text (case-insensitive); else the next
    /// `Say` that matches; used by personas that react to what they heard.
    SayIfHeard {
        heard: String,
        say: String,
    },
    /// Answers whatever the agent asked about: the first cue found in what was heard picks
    /// the answer (e.g. "budget" → "80 lakh"); `otherwise` when none matches.
    Answer {
        cues: Vec<(String, String)>,
        otherwise: String,
    },
    Silence,
    HangUp,
    Dtmf(char),
}

/// A buyer who answers each question from what it heard.
fn buyer(property: &str, place: &str, budget: &str) -> Vec<Reply> {
    let cues = vec![
        ("property".to_string(), format!("I want a {property}")),
        ("type".to_string(), format!("I want a {property}")),
        ("area".to_string(), format!("somewhere in {place}")),
        ("locality".to_string(), format!("somewhere in {place}")),
        ("budget".to_string(), format!("my budget is {budget}")),
    ];
    let answer = Reply::Answer {
        cues,
        otherwise: "yes, tell me".into(),
    };
    vec![
        answer.clone(),
        answer.clone(),
        answer.clone(),
        answer.clone(),
        answer,
    ]
}

/// A simulated lead.
#[derive(Debug, Clone)]
pub struct Persona {
    pub name: String,
    /// Replies, one per agent turn heard.
    pub replies: Vec<Reply>,
    /// Pause before answering.
    pub think: Duration,
    /// Talks over the agent: during agent turn `n` (0-based), `after` into it, says `text`.
    pub barge_in: Option<(usize, Duration, String)>,
    /// Says a back-channel while the agent talks (must not interrupt it).
    pub backchannel: Option<(String, Duration)>,
    /// Hangs up during agent turn `n`, `after` into it.
    pub hang_up_during: Option<(usize, Duration)>,
    /// Says this as it picks up, before the agent has said anything ("Hello?").
    pub on_pickup: Option<String>,
}

impl Persona {
    pub fn new(name: &str, replies: Vec<Reply>) -> Persona {
        Persona {
            name: name.into(),
            replies,
            think: Duration::from_millis(400),
            barge_in: None,
            backchannel: None,
            hang_up_during: None,
            on_pickup: None,
        }
    }

    fn say(s: &str) -> Reply {
        Reply::Say(s.into())
    }

    /// The personas the sandbox mixes, by the name used in a CSV's `persona` column.
    pub fn by_name(name: &str) -> Option<Persona> {
        let say = Self::say;
        let p = match name.trim().to_lowercase().as_str() {
            "interested" => Persona::new("interested", buyer("2bhk", "Pune", "80 lakh")),
            "not_interested" => {
                Persona::new("not_interested", vec![say("sorry, I am not interested")])
            }
            "callback" => Persona::new(
                "callback",
                vec![say("I am busy right now, call me tomorrow at 6")],
            ),
            "barge_in" => {
                let mut p = Persona::new(
                    "barge_in",
                    vec![say("a villa in Goa"), say("2 crore"), say("thanks")],
                );
                p.barge_in = Some((
                    0,
                    Duration::from_millis(1500),
                    "yes yes I know, I want a villa in Goa".into(),
                ));
                p.replies.insert(0, Reply::Silence);
                p
            }
            "backchannel" => {
                let mut p = Persona::new(
                    "backchannel",
                    vec![
                        say("yes please"),
                        say("a 3bhk in Mumbai"),
                        say("1.5 crore"),
                        say("bye"),
                    ],
                );
                p.backchannel = Some(("hmm".into(), Duration::from_millis(1200)));
                p
            }
            "silent" => Persona::new(
                "silent",
                vec![Reply::Silence, Reply::Silence, Reply::Silence],
            ),
            "hang_up" => {
                let mut p = Persona::new("hang_up", vec![say("yes")]);
                p.hang_up_during = Some((1, Duration::from_millis(800)));
                p
            }
            "do_not_call" => Persona::new("do_not_call", vec![say("please don't call me again")]),
            "wrong_number" => Persona::new("wrong_number", vec![say("sorry, wrong number")]),
            // Busy on the first dial; answers the retry as an interested buyer.
            "busy" => Persona::by_name("interested")?,
            "dtmf" => Persona::new(
                "dtmf",
                vec![
                    Reply::Dtmf('1'),
                    say("a plot in Nagpur"),
                    say("40 lakh"),
                    say("ok bye"),
                ],
            ),
            _ => return None,
        };
        Some(p)
    }

    /// Every persona that picks up, for a seeded random mix.
    pub const ANSWERING: [&'static str; 9] = [
        "interested",
        "not_interested",
        "callback",
        "barge_in",
        "backchannel",
        "silent",
        "hang_up",
        "do_not_call",
        "dtmf",
    ];
}
