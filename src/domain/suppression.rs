//! Where an entry of the suppression (do-not-call) list came from.

use super::statuses::text_enum;

text_enum! {
    /// Who put a number on the suppression list.
    SuppressionSource {
        /// The person asked, on a call (`mark_do_not_call`, or `end_call` with `do_not_call`).
        Call = "call",
        /// An operator, through `POST /suppressions`.
        Api = "api",
        /// An operator's list, through `POST /suppressions/upload-csv`.
        Csv = "csv",
    }
}
