//! One function per check: each turns a raw reading (a string, a limit, a syscall result) into
//! a `Check` with its value and, when not Ok, one line of advice. They are pure, so the tests
//! below feed them made-up readings, including the ones this host never gives.

use super::{host, parse, Check, Status};
use crate::worker::{UringSetup, RING_ENTRIES};
use parse::KernelVersion;
use std::io;

// Check names, in report order.
pub(super) const KERNEL: &str = "kernel";
pub(super) const IO_URING_DISABLED: &str = "kernel.io_uring_disabled";
pub(super) const IO_URING_SETUP: &str = "io_uring setup";
pub(super) const IO_URING_DEFER: &str = "io_uring defer_taskrun";
pub(super) const OPCODES: &str = "io_uring opcodes";
pub(super) const MULTISHOT_ACCEPT: &str = "multishot accept";
pub(super) const BUF_RING: &str = "provided buffer ring";
pub(super) const NOFILE: &str = "RLIMIT_NOFILE";
pub(super) const MEMLOCK: &str = "RLIMIT_MEMLOCK";
pub(super) const CPUS: &str = "cpus";

/// The checks before deploy/'s host settings (`expect`), which come before `CPUS`.
#[cfg(test)]
pub(super) const FIXED_CHECK_NAMES: [&str; 9] = [
    KERNEL,
    IO_URING_DISABLED,
    IO_URING_SETUP,
    IO_URING_DEFER,
    OPCODES,
    MULTISHOT_ACCEPT,
    BUF_RING,
    NOFILE,
    MEMLOCK,
];

/// The opcodes ringway's drivers issue, by the names io-uring gives them.
pub(super) const USED_OPCODES: [(&str, u8); 16] = {
    use io_uring06::opcode::*;
    [
        ("Accept", Accept::CODE),
        ("Connect", Connect::CODE),
        ("Read", Read::CODE),
        ("Write", Write::CODE),
        ("Recv", Recv::CODE),
        ("Send", Send::CODE),
        ("SendZc", SendZc::CODE),
        ("ReadFixed", ReadFixed::CODE),
        ("ProvideBuffers", ProvideBuffers::CODE),
        ("AsyncCancel", AsyncCancel::CODE),
        ("Timeout", Timeout::CODE),
        ("LinkTimeout", LinkTimeout::CODE),
        ("PollAdd", PollAdd::CODE),
        ("Close", Close::CODE),
        ("Shutdown", Shutdown::CODE),
        ("Splice", Splice::CODE),
    ]
};

/// An OS error as one line of text.
pub(super) fn error_text(e: &io::Error) -> String {
    e.to_string().replace('\n', " ")
}

pub(super) fn unavailable(name: &'static str, status: Status, e: &io::Error) -> Check {
    let path = host::sysctl_path(name);
    Check::judged(
        name,
        status,
        format!("unavailable ({})", error_text(e)),
        format!("could not read {path}; check `sysctl {name}` by hand"),
    )
}

pub(super) fn kernel_check(release: &io::Result<String>) -> Check {
    let release = match release {
        Ok(r) => r.trim(),
        Err(e) => {
            return Check::judged(
                KERNEL,
                Status::Warn,
                format!("unavailable ({})", error_text(e)),
                "uname failed; check `uname -r` by hand (io_uring needs Linux >= 5.11, 6.1 recommended)",
            )
        }
    };
    match parse::parse_kernel_release(release) {
        None => Check::judged(
            KERNEL,
            Status::Warn,
            format!("{release} (unrecognised)"),
            "could not read the version; io_uring needs Linux >= 5.11, 6.1 recommended",
        ),
        Some(v) => match parse::kernel_status(v) {
            Status::Ok => Check::ok(KERNEL, release),
            Status::Warn => Check::judged(
                KERNEL,
                Status::Warn,
                format!("{release} (below 6.1)"),
                "upgrade to Linux >= 6.1 for DEFER_TASKRUN, SendZc and cheaper task work",
            ),
            Status::Fail => Check::judged(
                KERNEL,
                Status::Fail,
                format!("{release} (below 5.11)"),
                "io_uring needs Linux >= 5.11 here; upgrade the kernel or run with --driver epoll",
            ),
        },
    }
}

pub(super) fn io_uring_disabled_check(text: &io::Result<String>) -> Check {
    let name = IO_URING_DISABLED;
    let text = match text {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Check::ok(name, "absent (kernel before 6.6, io_uring allowed)")
        }
        Err(e) => return unavailable(name, Status::Warn, e),
    };
    let value = parse::parse_number(text);
    let status = parse::io_uring_disabled_status(value);
    let (shown, advice) = match value {
        Some(0) => ("0 (io_uring allowed)".to_string(), ""),
        Some(1) => (
            "1 (only group in kernel.io_uring_group)".to_string(),
            "sysctl -w kernel.io_uring_disabled=0, or run ringway in the kernel.io_uring_group group",
        ),
        Some(2) => (
            "2 (io_uring disabled for everyone)".to_string(),
            "sysctl -w kernel.io_uring_disabled=0 (persist in /etc/sysctl.d/), or run with --driver epoll",
        ),
        _ => (
            format!("{} (unrecognised)", text.trim()),
            "expected 0, 1 or 2; set kernel.io_uring_disabled=0",
        ),
    };
    Check::judged(name, status, shown, advice)
}

/// One line of advice for a failed io_uring_setup, by errno.
pub(super) fn setup_advice(errno: Option<i32>) -> &'static str {
    match errno {
        Some(libc::EPERM) => "blocked by kernel.io_uring_disabled or a seccomp filter (Docker's default profile blocks io_uring); allow io_uring_setup or run with --driver epoll",
        Some(libc::ENOSYS) => "kernel built without CONFIG_IO_URING or syscall filtered; run with --driver epoll",
        Some(libc::ENOMEM) => "raise locked memory: LimitMEMLOCK=infinity in the unit or `ulimit -l unlimited`",
        Some(libc::EMFILE) | Some(libc::ENFILE) => "out of file descriptors: LimitNOFILE=1048576 in the unit or `ulimit -n 1048576`",
        Some(libc::EINVAL) => "COOP_TASKRUN|TASKRUN_FLAG need Linux >= 5.19; upgrade or run with --driver epoll",
        _ => "run with --driver epoll until io_uring_setup works here",
    }
}

pub(super) fn setup_check(result: &io::Result<()>) -> Check {
    match result {
        Ok(()) => Check::ok(
            IO_URING_SETUP,
            format!("ok ({}, {RING_ENTRIES} entries)", UringSetup::Coop),
        ),
        Err(e) => Check::judged(
            IO_URING_SETUP,
            Status::Fail,
            format!("failed: {}", error_text(e)),
            setup_advice(e.raw_os_error()),
        ),
    }
}

pub(super) fn defer_check(result: &io::Result<()>) -> Check {
    match result {
        Ok(()) => Check::ok(
            IO_URING_DEFER,
            format!("ok ({}, {RING_ENTRIES} entries)", UringSetup::Defer),
        ),
        Err(e) => Check::judged(
            IO_URING_DEFER,
            Status::Warn,
            format!("failed: {}", error_text(e)),
            "SINGLE_ISSUER|DEFER_TASKRUN need Linux >= 6.1; workers fall back to COOP_TASKRUN|TASKRUN_FLAG (about 1.5% more CPU a request)",
        ),
    }
}

/// Which of ringway's opcodes the probe reports as supported.
pub(super) fn opcode_support(is_supported: impl Fn(u8) -> bool) -> Vec<(&'static str, bool)> {
    USED_OPCODES
        .iter()
        .map(|&(name, code)| (name, is_supported(code)))
        .collect()
}

pub(super) fn opcodes_check(support: &io::Result<Vec<(&'static str, bool)>>) -> Check {
    let support = match support {
        Ok(s) => s,
        Err(e) => {
            return Check::judged(
                OPCODES,
                Status::Warn,
                format!("unavailable ({})", error_text(e)),
                "IORING_REGISTER_PROBE needs Linux >= 5.6 and a working io_uring_setup",
            )
        }
    };
    let names = |want: bool| -> Vec<&str> {
        support
            .iter()
            .filter(|&&(_, ok)| ok == want)
            .map(|&(name, _)| name)
            .collect()
    };
    let (have, missing) = (names(true), names(false));
    let total = support.len();
    if missing.is_empty() {
        return Check::ok(OPCODES, format!("all {total}: {}", have.join(" ")));
    }
    Check::judged(
        OPCODES,
        Status::Warn,
        format!(
            "{}/{total}: {}; missing: {}",
            have.len(),
            have.join(" "),
            missing.join(" ")
        ),
        "upgrade to Linux >= 6.1 (SendZc needs 6.0, Shutdown 5.11, ProvideBuffers 5.7)",
    )
}

pub(super) fn multishot_accept_check(version: Option<KernelVersion>) -> Check {
    let min = parse::KERNEL_MULTISHOT_ACCEPT;
    match version {
        Some(v) if v >= min => Check::ok(
            MULTISHOT_ACCEPT,
            format!("yes (inferred: kernel {v} >= 5.19)"),
        ),
        Some(v) => Check::judged(
            MULTISHOT_ACCEPT,
            Status::Warn,
            format!("no (inferred: kernel {v} < 5.19)"),
            "multishot accept needs Linux >= 5.19; workers fall back to one accept per connection",
        ),
        None => Check::judged(
            MULTISHOT_ACCEPT,
            Status::Warn,
            "unknown (kernel version unreadable)",
            "multishot accept needs Linux >= 5.19; check `uname -r`",
        ),
    }
}

pub(super) fn buf_ring_check(result: &io::Result<()>) -> Check {
    match result {
        Ok(()) => Check::ok(BUF_RING, "yes (registered and unregistered a test ring)"),
        Err(e) => Check::judged(
            BUF_RING,
            Status::Warn,
            format!("no ({})", error_text(e)),
            "IORING_REGISTER_PBUF_RING needs Linux >= 5.19; upgrade the kernel",
        ),
    }
}

pub(super) fn nofile_check(limits: &io::Result<host::Limits>) -> Check {
    let &(soft, hard) = match limits {
        Ok(l) => l,
        Err(e) => {
            return Check::judged(
                NOFILE,
                Status::Warn,
                format!("unavailable ({})", error_text(e)),
                "check `ulimit -n`; set LimitNOFILE=1048576 in the systemd unit",
            )
        }
    };
    let value = format!(
        "soft {}, hard {}",
        parse::format_count(soft),
        parse::format_count(hard)
    );
    let advice = match hard {
        Some(h) if h >= parse::NOFILE_MINIMUM => format!(
            "LimitNOFILE=1048576 in the systemd unit, or `ulimit -n {h}` before starting (the hard limit allows it)"
        ),
        _ => "LimitNOFILE=1048576 in the systemd unit, or raise the hard limit (limits.conf nofile) and `ulimit -n`".to_string(),
    };
    Check::judged(NOFILE, parse::nofile_status(soft), value, advice)
}

pub(super) fn memlock_check(
    limits: &io::Result<host::Limits>,
    kernel: Option<KernelVersion>,
) -> Check {
    let &(soft, hard) = match limits {
        Ok(l) => l,
        Err(e) => {
            return Check::judged(
                MEMLOCK,
                Status::Warn,
                format!("unavailable ({})", error_text(e)),
                "check `ulimit -l`; set LimitMEMLOCK=infinity in the systemd unit",
            )
        }
    };
    let mut value = format!(
        "soft {}, hard {}",
        parse::format_bytes(soft),
        parse::format_bytes(hard)
    );
    if kernel.is_some_and(|k| k >= parse::KERNEL_MEMCG_ACCOUNTING) {
        value.push_str(" (rings not charged to it since 5.12)");
    }
    Check::judged(
        MEMLOCK,
        parse::memlock_status(soft, kernel),
        value,
        "before Linux 5.12 each ring counts against it: LimitMEMLOCK=infinity in the unit, or `ulimit -l unlimited`",
    )
}

pub(super) fn cpus_check(
    parallelism: Option<usize>,
    affinity: Option<usize>,
    online: Option<usize>,
) -> Check {
    let show = |n: Option<usize>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
    let mut value = format!(
        "{} usable (affinity {} of {} online)",
        show(parallelism),
        show(affinity),
        show(online)
    );
    if let Some(n) = parallelism {
        value.push_str(&format!("; workers = 0 starts {n}"));
    }
    Check::ok(CPUS, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::doctor::test_io::{missing, text};

    fn assert_advised(check: &Check) {
        assert!(
            check.advice.as_deref().is_some_and(|a| !a.is_empty()),
            "{check:?} needs advice"
        );
    }

    #[test]
    fn current_kernel_is_ok_without_advice() {
        let check = kernel_check(&text("6.18.44-fc-v782\n"));
        assert_eq!(check.status, Status::Ok);
        assert_eq!(check.value, "6.18.44-fc-v782");
        assert_eq!(check.advice, None);
    }

    #[test]
    fn old_kernels_warn_or_fail_with_advice() {
        let lts = kernel_check(&text("5.15.0-91-generic"));
        assert_eq!(lts.status, Status::Warn);
        assert_advised(&lts);
        let ancient = kernel_check(&text("5.4.0"));
        assert_eq!(ancient.status, Status::Fail);
        assert!(ancient.advice.unwrap().contains("--driver epoll"));
    }

    #[test]
    fn unreadable_kernel_release_warns() {
        assert_eq!(kernel_check(&text("mystery")).status, Status::Warn);
        let err = kernel_check(&Err(io::Error::from_raw_os_error(libc::EFAULT)));
        assert_eq!(err.status, Status::Warn);
        assert!(err.value.starts_with("unavailable"));
    }

    #[test]
    fn io_uring_disabled_file_missing_means_an_older_kernel_and_ok() {
        let check = io_uring_disabled_check(&missing());
        assert_eq!(check.status, Status::Ok);
        assert!(check.value.starts_with("absent"));
    }

    #[test]
    fn io_uring_disabled_1_names_the_group_sysctl_and_2_fails() {
        let one = io_uring_disabled_check(&text("1\n"));
        assert_eq!(one.status, Status::Warn);
        assert!(one.value.contains("only group in kernel.io_uring_group"));
        let two = io_uring_disabled_check(&text("2\n"));
        assert_eq!(two.status, Status::Fail);
        assert!(two.advice.unwrap().contains("kernel.io_uring_disabled=0"));
        assert_eq!(io_uring_disabled_check(&text("0\n")).status, Status::Ok);
    }

    #[test]
    fn io_uring_disabled_unreadable_for_another_reason_warns() {
        let denied = Err(io::Error::from_raw_os_error(libc::EACCES));
        let check = io_uring_disabled_check(&denied);
        assert_eq!(check.status, Status::Warn);
        assert!(check.value.starts_with("unavailable"));
        assert!(check
            .advice
            .unwrap()
            .contains("/proc/sys/kernel/io_uring_disabled"));
    }

    #[test]
    fn failed_worker_ring_fails_with_advice_chosen_by_errno() {
        let eperm = setup_check(&Err(io::Error::from_raw_os_error(libc::EPERM)));
        assert_eq!(eperm.status, Status::Fail);
        assert!(eperm.value.starts_with("failed: "));
        assert!(eperm.advice.unwrap().contains("seccomp"));
        let enomem = setup_check(&Err(io::Error::from_raw_os_error(libc::ENOMEM)));
        assert!(enomem.advice.unwrap().contains("LimitMEMLOCK"));
        assert_eq!(setup_check(&Ok(())).status, Status::Ok);
    }

    #[test]
    fn failed_defer_taskrun_ring_only_warns() {
        let check = defer_check(&Err(io::Error::from_raw_os_error(libc::EINVAL)));
        assert_eq!(check.status, Status::Warn);
        assert_advised(&check);
    }

    #[test]
    fn opcodes_all_supported_lists_them() {
        let check = opcodes_check(&Ok(opcode_support(|_| true)));
        assert_eq!(check.status, Status::Ok);
        assert!(check.value.starts_with("all 16: Accept Connect"));
        assert!(check.value.ends_with("Splice"));
    }

    #[test]
    fn missing_opcodes_are_named_and_warned() {
        let send_zc = io_uring06::opcode::SendZc::CODE;
        let check = opcodes_check(&Ok(opcode_support(|code| code != send_zc)));
        assert_eq!(check.status, Status::Warn);
        assert!(check.value.starts_with("15/16: "), "{}", check.value);
        assert!(
            check.value.ends_with("; missing: SendZc"),
            "{}",
            check.value
        );
        assert_advised(&check);
    }

    #[test]
    fn probe_failure_leaves_opcodes_unavailable() {
        let check = opcodes_check(&Err(io::Error::from_raw_os_error(libc::EINVAL)));
        assert_eq!(check.status, Status::Warn);
        assert!(check.value.starts_with("unavailable"));
    }

    #[test]
    fn multishot_accept_is_inferred_from_5_19() {
        let yes = multishot_accept_check(Some(KernelVersion::new(5, 19, 0)));
        assert_eq!(yes.status, Status::Ok);
        assert!(yes.value.contains("inferred"));
        let no = multishot_accept_check(Some(KernelVersion::new(5, 18, 19)));
        assert_eq!(no.status, Status::Warn);
        assert_eq!(multishot_accept_check(None).status, Status::Warn);
    }

    #[test]
    fn rejected_buf_ring_warns() {
        let check = buf_ring_check(&Err(io::Error::from_raw_os_error(libc::EINVAL)));
        assert_eq!(check.status, Status::Warn);
        assert!(check.advice.unwrap().contains("5.19"));
    }

    #[test]
    fn low_nofile_names_the_hard_limit_when_ulimit_can_reach_it() {
        let check = nofile_check(&Ok((Some(1024), Some(524288))));
        assert_eq!(check.status, Status::Warn);
        assert_eq!(check.value, "soft 1024, hard 524288");
        let advice = check.advice.unwrap();
        assert!(advice.contains("LimitNOFILE") && advice.contains("ulimit -n 524288"));
        let capped = nofile_check(&Ok((Some(1024), Some(4096))));
        assert!(capped.advice.unwrap().contains("hard limit"));
        assert_eq!(
            nofile_check(&Ok((None, None))).value,
            "soft unlimited, hard unlimited"
        );
    }

    #[test]
    fn memlock_is_shown_in_bytes_and_warns_only_on_old_kernels() {
        let limits = Ok((Some(64 << 10), Some(64 << 10)));
        let new = memlock_check(&limits, Some(KernelVersion::new(6, 18, 44)));
        assert_eq!(new.status, Status::Ok);
        assert!(new.value.starts_with("soft 64 KiB, hard 64 KiB"));
        let old = memlock_check(&limits, Some(KernelVersion::new(5, 11, 0)));
        assert_eq!(old.status, Status::Warn);
        assert!(old.advice.unwrap().contains("LimitMEMLOCK"));
    }

    #[test]
    fn cpus_value_tells_what_workers_0_starts() {
        let check = cpus_check(Some(2), Some(2), Some(4));
        assert_eq!(
            check.value,
            "2 usable (affinity 2 of 4 online); workers = 0 starts 2"
        );
        assert_eq!(
            cpus_check(None, None, None).value,
            "? usable (affinity ? of ? online)"
        );
    }
}
