//! Benchmarks: commands that print figures (never timed assertions in tests).

pub mod import;
pub mod load;
pub mod scheduler;
