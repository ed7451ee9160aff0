//! Benchmarks: commands that print figures (never timed assertions in tests).

pub mod cluster;
pub mod import;
pub mod load;
pub mod process_cpu;
pub mod scheduler;
