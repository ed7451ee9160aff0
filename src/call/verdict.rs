//! How a live call is ending, as the `CallActor` learns it: the outcome chosen so far and
//! whether the person opted out. Sans-IO, so the rules are tested by table.
//!
//! An opt-out is sticky: once the person asked not to be called again, nothing that follows
//! (a call-back the LLM still tries to book, a provider failure during the goodbye, an
//! `end_call` with another outcome) can turn the call's outcome into something that would
//! call them again or leave their number off the suppression list.

use super::outcome::ConversationOutcome;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    outcome: Option<ConversationOutcome>,
    opted_out: bool,
}

impl Verdict {
    /// The person asked not to be called again (`mark_do_not_call`).
    pub fn opt_out(&mut self) {
        self.opted_out = true;
        self.outcome = Some(ConversationOutcome::DoNotCall);
    }

    pub fn opted_out(&self) -> bool {
        self.opted_out
    }

    /// An outcome that only applies when none was chosen yet (`end_call`, the silence timeout);
    /// `do_not_call` is an opt-out whatever came before.
    pub fn propose(&mut self, outcome: ConversationOutcome) {
        if outcome == ConversationOutcome::DoNotCall {
            self.opt_out();
        } else {
            self.outcome.get_or_insert(outcome);
        }
    }

    /// A call-back was asked for. False (nothing changes) after an opt-out.
    pub fn callback_requested(&mut self) -> bool {
        if self.opted_out {
            return false;
        }
        self.outcome = Some(ConversationOutcome::CallbackRequested);
        true
    }

    /// The runtime gave up on the call (a provider kept failing); an opt-out stays an opt-out.
    pub fn failed(&mut self) {
        if !self.opted_out {
            self.outcome = Some(ConversationOutcome::Error);
        }
    }

    /// A machine answered (voicemail, a carrier announcement); an opt-out stays an opt-out.
    pub fn voicemail(&mut self) {
        if !self.opted_out {
            self.outcome = Some(ConversationOutcome::Voicemail);
        }
    }

    /// The lead is handed to a person; an opt-out stays an opt-out.
    pub fn transferred(&mut self) {
        if !self.opted_out {
            self.outcome = Some(ConversationOutcome::Transferred);
        }
    }

    /// The outcome chosen so far, if any.
    pub fn outcome(&self) -> Option<ConversationOutcome> {
        self.outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    enum Step {
        OptOut,
        EndCall(ConversationOutcome),
        Callback,
        Failed,
        Voicemail,
    }

    fn run(steps: &[Step]) -> (Verdict, Vec<bool>) {
        let mut v = Verdict::default();
        let mut granted = Vec::new();
        for step in steps {
            match step {
                Step::OptOut => v.opt_out(),
                Step::EndCall(o) => v.propose(*o),
                Step::Callback => granted.push(v.callback_requested()),
                Step::Failed => v.failed(),
                Step::Voicemail => v.voicemail(),
            }
        }
        (v, granted)
    }

    #[test]
    fn an_opt_out_survives_whatever_follows() {
        use ConversationOutcome::{
            CallbackRequested, DoNotCall as Dnc, Error, HungUp, NotInterested, Qualified,
        };
        use Step::*;
        let cases: &[(&[Step], Option<ConversationOutcome>, bool)] = &[
            (&[OptOut], Some(Dnc), true),
            (&[OptOut, Callback], Some(Dnc), true),
            (&[OptOut, Failed], Some(Dnc), true),
            (&[OptOut, EndCall(Qualified)], Some(Dnc), true),
            (&[EndCall(NotInterested), OptOut], Some(Dnc), true),
            (&[Callback, OptOut, Failed], Some(Dnc), true),
            (&[EndCall(Qualified), EndCall(Dnc)], Some(Dnc), true),
            (&[EndCall(Dnc), Callback, Failed], Some(Dnc), true),
            (&[OptOut, Voicemail], Some(Dnc), true),
            // Without an opt-out the later steps decide as before.
            (&[Voicemail], Some(ConversationOutcome::Voicemail), false),
            (&[Callback], Some(CallbackRequested), false),
            (&[Callback, Failed], Some(Error), false),
            (
                &[EndCall(Qualified), EndCall(HungUp)],
                Some(Qualified),
                false,
            ),
            (&[], None, false),
        ];
        for (steps, outcome, opted_out) in cases {
            let (v, _) = run(steps);
            assert_eq!(v.outcome(), *outcome, "{steps:?}");
            assert_eq!(v.opted_out(), *opted_out, "{steps:?}");
        }
    }

    #[test]
    fn a_call_back_is_refused_after_an_opt_out() {
        use Step::*;
        assert_eq!(run(&[Callback, OptOut, Callback]).1, [true, false]);
    }
}
