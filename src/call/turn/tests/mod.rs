//! Table-driven tests of the turn-taking rules on a fake clock.
