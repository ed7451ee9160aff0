//! CPU time and memory of processes, read from Linux's `/proc` (the benchmarks run on Linux;
//! elsewhere every figure reads 0 or `None`).
//!
//! `/proc/<pid>/stat` counts in clock ticks of `USER_HZ`, 100 a second on every Linux the
//! runtime targets (it is fixed by the kernel's ABI, not by `CONFIG_HZ`).

const MS_PER_TICK: u64 = 10;

/// The fields of `/proc/<pid>/stat` the benchmarks read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    ppid: u32,
    /// utime + stime: CPU of the process itself (all its threads), ms.
    own_ms: u64,
    /// stime alone: the part spent in the kernel on its behalf (system calls, and on
    /// loopback the receiving side's TCP work too), ms.
    kernel_ms: u64,
    /// cutime + cstime: CPU of its children that ended and were reaped, ms.
    reaped_children_ms: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The line is `pid (comm) state ppid …`; `comm` may hold spaces and parentheses, so the
/// fields are counted from the last `)`. After it, state is field 0, ppid 1, utime 11,
/// stime 12, cutime 13, cstime 14.
fn parse_stat(line: &str) -> Option<Stat> {
    let (_, after) = line.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        ppid: u32::try_from(num(1)?).ok()?,
        own_ms: (num(11)? + num(12)?) * MS_PER_TICK,
        kernel_ms: num(12)? * MS_PER_TICK,
        reaped_children_ms: (num(13)? + num(14)?) * MS_PER_TICK,
    })
}

/// utime + stime of a process, in ms; 0 when it cannot be read.
pub fn cpu_ms(pid: u32) -> u64 {
    stat(pid).map(|s| s.own_ms).unwrap_or(0)
}

/// stime of a process (its CPU in the kernel), in ms; 0 when it cannot be read.
pub fn kernel_cpu_ms(pid: u32) -> u64 {
    stat(pid).map(|s| s.kernel_ms).unwrap_or(0)
}

/// Resident memory of a process, KiB; 0 when it cannot be read.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The short name of a process (`/proc/<pid>/comm`).
pub fn name(pid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().to_string())
}

/// The parent of a process.
pub fn parent(pid: u32) -> Option<u32> {
    stat(pid).map(|s| s.ppid)
}

/// CPU of a process and of every process it forked, in ms: a server such as PostgreSQL, whose
/// postmaster forks a backend per connection and its background workers.
///
/// A child that ended moved its time into the parent's cutime/cstime when it was reaped, so
/// the sum counts the backends of connections that closed between two readings too. Only
/// direct children are walked (PostgreSQL's processes are all the postmaster's). `None` when
/// the root process cannot be read (gone, or not on this machine).
pub fn tree_cpu_ms(root: u32) -> Option<u64> {
    let root_stat = stat(root)?;
    let mut total = root_stat.own_ms + root_stat.reaped_children_ms;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(child) = stat(pid).filter(|s| s.ppid == root) {
            total += child.own_ms;
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "4242 (postgres: a) b) S 17 4242 4242 0 -1 4194560 500 0 0 0 \
                    250 50 30 20 20 0 1 0 100 0 0";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                ppid: 17,
                own_ms: 3000,
                kernel_ms: 500,
                reaped_children_ms: 500
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_readable() {
        let me = std::process::id();
        assert!(stat(me).is_some());
        assert!(tree_cpu_ms(me).is_some());
        assert_eq!(parent(me), stat(me).map(|s| s.ppid));
    }
}
