//! Telephony: the Exotel REST client, the status callbacks it sends us, and what a call's end
//! means for the lead.

pub mod call_outcome;
pub mod exotel;
