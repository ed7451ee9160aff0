//! Leads as operators hand them to us: CSV files.

pub mod csv_import;
