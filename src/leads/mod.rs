//! Lists as operators hand them to us: CSV files of leads, and of numbers not to call.

pub mod csv_import;
pub mod suppression_csv;
