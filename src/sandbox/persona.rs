//! Simulated leads: who picks up and what they say. A persona listens to what the agent says
//! (decoded from the call's audio) and answers from its script, with human-like pauses; some
//! talk over the agent, say only "hmm" while it talks, stay silent, hang up mid-sentence, or
//! press keys. Turn-taking personas: "Hello?" on picking up, "haan ji" while the agent talks,
//! a breath in the middle of a sentence, and a provider that stalls mid-call.

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
    /// One sentence with a breath inside it: `first`, `breath` of silence, then `rest`. The
    /// agent must wait for the whole sentence, not answer its first half.
    SayWithBreath {
        first: String,
        breath: Duration,
        rest: String,
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
    /// Says this `after` picking up, whatever the agent is doing ("Hello?").
    pub says_on_pickup: Option<(String, Duration)>,
    /// Not a person: an answering machine or a carrier announcement answers.
    pub machine: Option<Machine>,
    /// An unkind line: Exotel never echoes our `mark`s back (the agent must end its turns
    /// by its own playout clock).
    pub loses_marks: bool,
}

/// What a machine that answers does: plays its greeting at once (over whatever the agent
/// says), then a beep if it has one, then records for a while or hangs up.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub greeting: String,
    /// The "record now" tone: frequency (Hz) and length.
    pub beep: Option<(f32, Duration)>,
    /// After the greeting (and beep): records this long, then hangs up.
    pub then: MachineEnd,
}

/// How a machine's line ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MachineEnd {
    /// Records what is said for this long, then hangs up.
    RecordFor(Duration),
    /// Hangs up this long after the announcement.
    HangUpAfter(Duration),
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
            says_on_pickup: None,
            machine: None,
            loses_marks: false,
        }
    }

    /// A voicemail box (English): a long greeting, a beep, then it records for 20 s.
    pub fn voicemail_box_en() -> Persona {
        let mut p = Persona::new("voicemail", Vec::new());
        p.machine = Some(Machine {
            greeting: "hi, you have reached the voicemail of ravi kumar. i cannot take your \
                call right now. please leave a message after the beep."
                .into(),
            beep: Some((1000.0, Duration::from_millis(500))),
            then: MachineEnd::RecordFor(Duration::from_secs(20)),
        });
        p
    }

    /// An Indian carrier announcement in Hindi: no beep, then the line hangs up.
    pub fn carrier_announcement_hi() -> Persona {
        let mut p = Persona::new("carrier_hi", Vec::new());
        p.machine = Some(Machine {
            greeting: "aap jis number par call kar rahe hain, vah abhi switched off hai, \
                kripya thodi der baad call karein."
                .into(),
            beep: None,
            then: MachineEnd::HangUpAfter(Duration::from_millis(800)),
        });
        p
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
            "hello" => Persona::hello_on_pickup(),
            "haan_ji" => Persona::haan_ji(),
            "pause_mid_sentence" => Persona::pauses_mid_sentence(),
            "provider_stall" => Persona::provider_stall(),
            "voicemail" => Persona::voicemail_box_en(),
            "carrier_hi" => Persona::carrier_announcement_hi(),
            "wants_a_person" => Persona::wants_a_person(),
            _ => return None,
        };
        Some(p)
    }

    /// A lead who asks to speak to a person: handed over when the team is at work; when it
    /// is not, takes the call-back the agent offers.
    pub fn wants_a_person() -> Persona {
        Persona::new(
            "wants_a_person",
            vec![
                Self::say("yes"),
                Self::say("can I talk to a person please"),
                Self::say("okay, call me back tomorrow at 11"),
            ],
        )
    }

    /// Picks up saying "Hello?" 300 ms after the call starts, over the greeting's first words
    /// (as real callees do), then answers as an interested buyer.
    pub fn hello_on_pickup() -> Persona {
        let mut p = Persona::new("hello", buyer("2bhk", "Pune", "80 lakh"));
        p.says_on_pickup = Some(("hello?".into(), Duration::from_millis(300)));
        p
    }

    /// Says "haan ji" 900 ms into the agent's first turn (a back-channel that must
    /// not interrupt it), and answers as an interested buyer.
    pub fn haan_ji() -> Persona {
        let mut p = Persona::new("haan_ji", buyer("3bhk", "Mumbai", "1.5 crore"));
        p.backchannel = Some(("haan ji".into(), Duration::from_millis(900)));
        p
    }

    /// Takes a breath of 750 ms in the middle of an answer ("my budget is … 80 lakh"): one
    /// turn, not two.
    pub fn pauses_mid_sentence() -> Persona {
        let breath = |first: &str, rest: &str| Reply::SayWithBreath {
            first: first.into(),
            breath: Self::BREATH,
            rest: rest.into(),
        };
        Persona::new(
            "pause_mid_sentence",
            vec![
                Self::say("yes"),
                breath("i am looking for", "a 2bhk in pune"),
                breath("my budget is", "80 lakh"),
                Self::say("thanks"),
            ],
        )
    }

    /// The breath inside `pauses_mid_sentence`'s answers.
    pub const BREATH: Duration = Duration::from_millis(750);

    /// An interested buyer in Shimla, whose call meets a stalled provider: the sandbox makes
    /// the fake TTS hang on any line naming `STALL_CUE` (the agent's confirmation), and the
    /// caller must hear "one moment" or the apology, never more than 3 s of silence.
    pub fn provider_stall() -> Persona {
        Persona::new("provider_stall", buyer("2bhk", "Shimla", "60 lakh"))
    }

    /// What the stalled provider hangs on (`provider_stall`).
    pub const STALL_CUE: &'static str = "shimla";

    /// Every persona that picks up, for a seeded random mix.
    pub const ANSWERING: [&'static str; 11] = [
        "interested",
        "not_interested",
        "callback",
        "barge_in",
        "backchannel",
        "silent",
        "hang_up",
        "do_not_call",
        "dtmf",
        "voicemail",
        "carrier_hi",
    ];
}
